/**
 * Hand-made nets of the v2 ops that the engine-vs-reference (test/engine-reference.test.ts) and
 * CPU-vs-CUDA (test/cuda.test.ts) tests both build on: the first eleven nodes of each; every test
 * appends its own tail (which reads v11). Value ids: 0 is the input, node i is value i + 1.
 */
import type { NodeSpec } from '../../src/reference/build';

/** v1–v11 of a cell of the v2 ops: n-ary ADD, AVGPOOL in both count modes, SWISH, IDENTITY, ZERO, DWCONV. */
export const V2_CELL_HEAD: readonly NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 8, kernel: 3, stride: 1 },                  // v1
  { op: 'bn', inputs: [1] },                                                    // v2
  { op: 'swish', inputs: [2] },                                                 // v3
  { op: 'avgpool', inputs: [3], kernel: 3, stride: 1, countIncludePad: 0 },     // v4
  { op: 'avgpool', inputs: [3], kernel: 5, stride: 1, countIncludePad: 1 },     // v5
  { op: 'identity', inputs: [3] },                                              // v6
  { op: 'zero', inputs: [2] },                                                  // v7
  { op: 'add', inputs: [4, 5, 6, 7] },                                          // v8
  { op: 'dwconv', inputs: [8], kernel: 5, stride: 2 },                          // v9
  { op: 'bn', inputs: [9] },                                                    // v10
  { op: 'relu', inputs: [10] },                                                 // v11
];

/**
 * v1–v11 of AVGPOOL with its pad attribute: NAS-Bench-201's 2×2/2 pad 0 shortcut, 2×2/1 pad 1
 * (an even window), 3×3/2 pad 0, 4×4/4 pad 2; both count modes. Shapes for a 10×10 input.
 */
export const PADDED_POOL_HEAD: readonly NodeSpec[] = [
  { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 },                           // v1 [6][10][10]
  { op: 'bn', inputs: [1] },                                                             // v2
  { op: 'relu', inputs: [2] },                                                           // v3
  { op: 'avgpool', inputs: [3], kernel: 2, stride: 2, pad: 0 },                          // v4 [6][5][5]
  { op: 'conv', inputs: [4], cout: 8, kernel: 1, stride: 1 },                            // v5 (the basic block's shortcut)
  { op: 'conv', inputs: [3], cout: 8, kernel: 3, stride: 2 },                            // v6 [8][5][5]
  { op: 'add', inputs: [5, 6] },                                                         // v7
  { op: 'avgpool', inputs: [7], kernel: 2, stride: 1, pad: 1, countIncludePad: 0 },      // v8 [8][6][6]
  { op: 'avgpool', inputs: [8], kernel: 3, stride: 2, pad: 0, countIncludePad: 0 },      // v9 [8][2][2]
  { op: 'avgpool', inputs: [8], kernel: 4, stride: 4, pad: 2, countIncludePad: 1 },      // v10 [8][2][2]
  { op: 'add', inputs: [9, 10] },                                                        // v11
];
