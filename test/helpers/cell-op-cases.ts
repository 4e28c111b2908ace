// The graph cases of the cell ops (AVGPOOL with pad, CONCAT, CROP, dilated DWCONV) that both
// PyTorch cross-checks run: the engine's gradients (engine-grad-torch) and the float64
// reference's (reference-torch) against autograd, on the same graphs.
import { Graph } from '../../src/ops/graph';
import { buildGraph } from '../../src/reference';

export interface GradCase { name: string; graph: Graph; batch: number; resolution: number; loss: 'sum' | 'cross-entropy' }

export const CELL_OP_CASES: GradCase[] = [
  {
    // nn.AvgPool2d(k, s, padding=p): even k, p below / above (k−1)/2, NAS-Bench-201's 2×2/2 shortcut.
    name: 'AVGPOOL with a pad attribute (even kernels)', batch: 4, resolution: 10, loss: 'cross-entropy',
    graph: buildGraph(3, [
      { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
      { op: 'avgpool', inputs: [3], kernel: 2, stride: 2, pad: 0 }, { op: 'conv', inputs: [4], cout: 6, kernel: 1, stride: 1 },
      { op: 'avgpool', inputs: [3], kernel: 2, stride: 1, pad: 1, countIncludePad: 0 }, { op: 'avgpool', inputs: [6], kernel: 3, stride: 2, pad: 0, countIncludePad: 0 },
      { op: 'avgpool', inputs: [6], kernel: 4, stride: 2, pad: 2, countIncludePad: 1 }, { op: 'avgpool', inputs: [8], kernel: 2, stride: 1, pad: 1, countIncludePad: 1 },
      { op: 'add', inputs: [5, 7] }, { op: 'gap', inputs: [10] }, { op: 'gap', inputs: [9] }, { op: 'add', inputs: [11, 12] },
      { op: 'linear', inputs: [13], cout: 5, bias: 1 },
    ]),
  },
  {
    // torch.cat(dim=1): inputs of different widths, one value twice, a CONCAT of a CONCAT.
    name: 'CONCAT along channels', batch: 4, resolution: 9, loss: 'cross-entropy',
    graph: buildGraph(3, [
      { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
      { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 1 }, { op: 'concat', inputs: [4, 3, 4] },
      { op: 'conv', inputs: [5], cout: 8, kernel: 3, stride: 2 }, { op: 'avgpool', inputs: [5], kernel: 3, stride: 2, countIncludePad: 0 },
      { op: 'concat', inputs: [6, 7] }, { op: 'bn', inputs: [8] }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
    ]),
  },
  {
    // F.pad(x[:, :, o:, o:], (0, o, 0, o)): TE-NAS's FactorizedReduce on an odd map (9×9), a fill crop by 2.
    name: 'CROP with fill', batch: 4, resolution: 9, loss: 'cross-entropy',
    graph: buildGraph(3, [
      { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
      { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 2 }, { op: 'crop', inputs: [3], offset: 1, fill: 1 }, { op: 'conv', inputs: [5], cout: 4, kernel: 1, stride: 2 },
      { op: 'concat', inputs: [4, 6] }, { op: 'bn', inputs: [7] }, { op: 'crop', inputs: [8], offset: 2, fill: 1 }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
    ]),
  },
  {
    // x[:, :, o:, o:]: DARTS's FactorizedReduce (conv 1×1/2 of x and of x[:, :, 1:, 1:], torch.cat, BN), then a crop by 2.
    name: 'CROP (FactorizedReduce)', batch: 4, resolution: 10, loss: 'cross-entropy',
    graph: buildGraph(3, [
      { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
      { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 2 }, { op: 'crop', inputs: [3], offset: 1 }, { op: 'conv', inputs: [5], cout: 4, kernel: 1, stride: 2 },
      { op: 'concat', inputs: [4, 6] }, { op: 'bn', inputs: [7] }, { op: 'crop', inputs: [8], offset: 2 }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
    ]),
  },
  {
    // nn.Conv2d(C, C, k, stride, padding=d·(k−1)/2, dilation=d, groups=C): DARTS's dil_conv_3x3 / 5x5 and dilation 3.
    name: 'dilated DWCONV', batch: 4, resolution: 10, loss: 'cross-entropy',
    graph: buildGraph(3, [
      { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'relu', inputs: [1] },
      { op: 'dwconv', inputs: [2], kernel: 3, stride: 1, dilation: 2 }, { op: 'conv', inputs: [3], cout: 6, kernel: 1, stride: 1 }, { op: 'bn', inputs: [4] },
      { op: 'dwconv', inputs: [5], kernel: 5, stride: 2, dilation: 2 }, { op: 'dwconv', inputs: [1], kernel: 3, stride: 2, dilation: 3 },
      { op: 'add', inputs: [6, 7] }, { op: 'bn', inputs: [8] }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 5, bias: 1 },
    ]),
  },
];
