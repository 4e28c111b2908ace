/**
 * The reverse pass's fast paths (native/cpu/executor.cc, backward_impl.inl) against their plain
 * versions, each in a fresh process (kernel and path selection is read once per process):
 *  - BN backward fused with its folded ReLU's backward, BN → ADD → RELU as one step (forward and
 *    backward), and values read only by one ADD / IDENTITY sharing that op's gradient buffer, give
 *    the same bits as ZENNAS_BWD_FUSE=0 ZENNAS_FWD_FUSE=0 (separate steps, copies), with the AVX2
 *    and the scalar kernels;
 *  - the weight-gradient GEMM (dY packed once, im2col rows transposed into panels) agrees with the
 *    dot form and with its scalar build on shapes that hit every edge (M not a multiple of 6, K not a
 *    multiple of the task width, column chunks with tails, strides 1 and 2, k = 3, 5, 7), and so do
 *    the strided input gradients (col2im GEMM in tasks over image blocks).
 */
import test from 'ava';
import { spawnSync } from 'child_process';
import { packageRoot } from '../src/engine/native';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';
import { desc, SlotOp, CONV, BN, RELU, ADD, IDENTITY, GAP, LINEAR } from './helpers/slot-ops';

interface Grads { simd: string; loss: number; g: number[][]; x: number[]; stderr: string }

/** CONV → BN → RELU per [cin, cout, kernel, stride], slot i → i + 1, the last slot the output. */
const convBnReluChain = (convs: Array<[number, number, number, number]>): Int32Array =>
  desc(convs.flatMap(([cin, cout, k, s], i): SlotOp[] => [
    [CONV, i, i + 1, 0, cin, cout, k, s], [BN, i + 1, i + 1, 0, cout, cout, 0, 0], [RELU, i + 1, i + 1, 0, cout, cout, 0, 0],
  ]), { output: convs.length });

/** engine.run('gradients') in a fresh process with `env`: every weight gradient and the input gradient. */
function gradients(d: Int32Array, o: { batchSize: number; resolution: number; loss: 'sum' | 'cross-entropy' }, env: Record<string, string>): Grads {
  const script = `
    const z = require('node-gyp-build')(${JSON.stringify(packageRoot())});
    const e = new z.Engine({ backend: 'cpu', threads: 2 });
    e.run('gradients', new Int32Array(${JSON.stringify(Array.from(d))}), { batchSize: ${o.batchSize}, resolution: ${o.resolution}, seed: 4, loss: '${o.loss}', returnGradients: true, inputGradient: true })
      .then((r) => { console.log(JSON.stringify({ simd: z.cpuFeatures().simd, loss: r.scores[0], g: r.gradients.map((x) => Array.from(x.data)), x: Array.from(r.inputGradient) })); e.close(); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return { ...(JSON.parse(r.stdout) as Omit<Grads, 'stderr'>), stderr: r.stderr };
}

/** The default kernels and the scalar build (the environment of a fresh process). */
const SIMD_ENVS: Record<string, string>[] = [{}, { ZENNAS_SIMD: 'scalar' }];

const rel = (a: number[], b: number[]) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]!) ** 2, 0) / Math.max(1e-300, b.reduce((s, v) => s + v * v, 0)));

const trained = (s: string, classes: number, se = false) => encodeDescriptor(lowerAsTrained(parseStructure(s), { numClasses: classes, se }));

test('fused BN+ReLU and BN+ADD+ReLU steps and shared ADD / IDENTITY gradient buffers: the same bits as separate steps (ZENNAS_BWD_FUSE=0 ZENNAS_FWD_FUSE=0), AVX2 and scalar', (t) => {
  const nets: { name: string; d: Int32Array; batchSize: number; resolution: number; loss: 'sum' | 'cross-entropy' }[] = [
    { name: 'residual + SE, CE', d: trained('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)SuperResIDWE2K3(16,16,1,8,1)', 7, true), batchSize: 3, resolution: 11, loss: 'cross-entropy' },
    { name: 'bottleneck, sum', d: trained('SuperConvK3BNRELU(3,12,2,1)SuperResK1K5K1(12,16,1,8,2)', 5), batchSize: 5, resolution: 13, loss: 'sum' },
    {
      // BN → ADD (no ReLU), IDENTITY chain into an n-ary-free add, a BN whose output is read twice (no fusion)
      name: 'hand-made: identity, add of BN outputs, BN read twice', batchSize: 3, resolution: 9, loss: 'sum',
      d: desc([
        [CONV, 0, 1, 0, 3, 8, 3, 1], [BN, 1, 1, 0, 8, 8, 0, 0], [RELU, 1, 1, 0, 8, 8, 0, 0],
        [CONV, 1, 2, 0, 8, 8, 3, 1], [BN, 2, 2, 0, 8, 8, 0, 0], [IDENTITY, 2, 3, 0, 8, 8, 0, 0], [ADD, 3, 4, 1, 8, 8, 0, 0],
        [RELU, 4, 4, 0, 8, 8, 0, 0], [CONV, 4, 5, 0, 8, 8, 1, 1], [BN, 5, 5, 0, 8, 8, 0, 0], [RELU, 5, 6, 0, 8, 8, 0, 0], [ADD, 6, 6, 5, 8, 8, 0, 0],
        [GAP, 6, 7, 0, 8, 8, 0, 0], [LINEAR, 7, 8, 0, 8, 4, 0, 0],
      ], { output: 8 }),
    },
    {
      // BN → ADD → RELU folded into one step, the residual first (ADD(r, BN)) and second (ADD(BN, r)),
      // r also read by the next conv (its gradient accumulates)
      name: 'hand-made: BN → ADD → RELU, residual on either side', batchSize: 3, resolution: 9, loss: 'cross-entropy',
      d: desc([
        [CONV, 0, 1, 0, 3, 8, 3, 1], [BN, 1, 1, 0, 8, 8, 0, 0], [RELU, 1, 1, 0, 8, 8, 0, 0],
        [CONV, 1, 2, 0, 8, 8, 3, 1], [BN, 2, 2, 0, 8, 8, 0, 0], [ADD, 1, 3, 2, 8, 8, 0, 0], [RELU, 3, 3, 0, 8, 8, 0, 0],
        [CONV, 3, 4, 0, 8, 8, 1, 1], [BN, 4, 4, 0, 8, 8, 0, 0], [ADD, 4, 5, 3, 8, 8, 0, 0], [RELU, 5, 5, 0, 8, 8, 0, 0],
        [GAP, 5, 6, 0, 8, 8, 0, 0], [LINEAR, 6, 7, 0, 8, 4, 0, 0],
      ], { output: 7 }),
    },
  ];
  for (const n of nets)
    for (const simd of SIMD_ENVS) {
      const fast = gradients(n.d, n, simd), plain = gradients(n.d, n, { ...simd, ZENNAS_BWD_FUSE: '0', ZENNAS_FWD_FUSE: '0' });
      t.is(fast.loss, plain.loss);
      t.is(fast.g.length, plain.g.length);
      fast.g.forEach((g, i) => t.deepEqual(g, plain.g[i], `${n.name} (${fast.simd}): gradient ${i}`));
      t.deepEqual(fast.x, plain.x, `${n.name} (${fast.simd}): input gradient`);
      t.true(fast.g.some((g) => g.some((v) => v !== 0)), 'gradients are not all zero');
    }
});

test('weight-gradient GEMM vs the dot form, and its scalar build: edge shapes (M % 6 ≠ 0, K tails, column-chunk tails, strides 1 and 2, k = 3, 5, 7)', (t) => {
  // 3 images at 11²: 363 columns (one 256-chunk and a 107 tail, not a multiple of 8); after stride 2: 6² · 3 = 108
  const d = convBnReluChain([[3, 13, 3, 1], [13, 20, 5, 2], [20, 7, 7, 1], [7, 70, 3, 1], [70, 67, 3, 2]]);  // ReLU last: Σ BN(x) alone has gradient 0
  const o = { batchSize: 3, resolution: 11, loss: 'sum' as const };
  const gemm = gradients(d, o, { ZENNAS_BWD_DW: 'gemm' }), dot = gradients(d, o, { ZENNAS_BWD_DW: 'dot' });
  const gemmScalar = gradients(d, o, { ZENNAS_BWD_DW: 'gemm', ZENNAS_SIMD: 'scalar' });
  t.is(gemmScalar.simd, 'scalar');
  const convs = [0, 3, 6, 9, 12];  // op indices with conv weights (BN ones follow)
  const at = (r: Grads, op: number) => r.g[convs.indexOf(op) * 2]!;  // gradients come in op order: conv, BN, conv, BN, …
  for (const op of convs) {
    t.true(rel(at(gemm, op), at(dot, op)) < 1e-5, `conv op ${op}: GEMM vs dot ${rel(at(gemm, op), at(dot, op))}`);
    t.true(rel(at(gemmScalar, op), at(gemm, op)) < 1e-5, `conv op ${op}: scalar vs SIMD GEMM ${rel(at(gemmScalar, op), at(gemm, op))}`);
    t.true(at(gemm, op).some((v) => v !== 0));
  }
  t.true(rel(gemm.x, dot.x) < 1e-5);
  // strided k×k input gradients (col2im GEMM over image blocks): SIMD vs scalar; float64 checks are in engine-grad-torch
  t.true(rel(gemmScalar.x, gemm.x) < 1e-5, `input gradient, scalar vs SIMD ${rel(gemmScalar.x, gemm.x)}`);
});

test('stride-1 input gradients by Winograd (the forward conv of dY with the flipped weights, k = 3, 5, 7) agree with the direct path (ZENNAS_CONV=direct), AVX2 and scalar', (t) => {
  // wide enough that the planner picks Winograd for the transposed convs; 2 images at 13²: tiles with edges
  const d = convBnReluChain([[3, 32, 3, 1], [32, 48, 3, 1], [48, 40, 5, 1], [40, 36, 7, 1], [36, 20, 3, 1]]);
  const o = { batchSize: 2, resolution: 13, loss: 'sum' as const };
  for (const simd of SIMD_ENVS) {
    const direct = gradients(d, o, { ...simd, ZENNAS_CONV: 'direct' });
    const wino = gradients(d, o, { ...simd, ZENNAS_CONV: 'winograd' });
    t.is(wino.g.length, direct.g.length);
    wino.g.forEach((g, i) => t.true(rel(g, direct.g[i]!) < 1e-4, `${wino.simd}: gradient ${i}: ${rel(g, direct.g[i]!)}`));
    t.true(rel(wino.x, direct.x) < 1e-4, `${wino.simd}: input gradient ${rel(wino.x, direct.x)}`);
    t.notDeepEqual(wino.x, direct.x, 'the Winograd path ran (different rounding)');
  }
});

test('stride-1 weight gradients by Winograd F(3×3, 4×4) (k = 3, 5, 7) agree with the direct GEMM (ZENNAS_BWD_DW=gemm), AVX2 and scalar, over several tile chunks', (t) => {
  // 3 images at 35²: 9 × 9 tiles each, 243 tiles (one chunk, a tail of 3 in the last group of 8) at the
  // first convs; the chunk width falls for the wide 7×7 one (its transforms would pass 8 MiB), so
  // it takes several chunks; cout 13 / 20 (panel tails), S·cin = 13·4 = 52 and 20·9 (B-panel tails)
  const d = convBnReluChain([[3, 13, 3, 1], [13, 20, 5, 1], [20, 64, 7, 1], [64, 30, 3, 1]]);
  const o = { batchSize: 3, resolution: 35, loss: 'sum' as const };
  for (const simd of SIMD_ENVS) {
    const gemm = gradients(d, o, { ...simd, ZENNAS_CONV: 'winograd', ZENNAS_BWD_DW: 'gemm' });
    const wino = gradients(d, o, { ...simd, ZENNAS_CONV: 'winograd' });
    t.is(wino.loss, gemm.loss, 'the same forward');
    t.deepEqual(wino.x, gemm.x, 'the same input-gradient path');
    for (let c = 0; c < 4; c++) {
      const a = wino.g[2 * c]!, b = gemm.g[2 * c]!;  // conv weights (the BN ones follow each)
      t.true(rel(a, b) < 1e-4, `${wino.simd}: conv ${c}: ${rel(a, b)}`);
      t.true(b.some((v) => v !== 0));
      t.notDeepEqual(a, b, `${wino.simd}: conv ${c}: the Winograd path ran (different rounding)`);
    }
  }
});

test('layer-wide Winograd (ZENNAS_WINO_WIDE=1: each piece over the whole layer) gives the same bits as the tile chunks (=0), forward and input gradients, k = 3, 5, 7, AVX2 and scalar', (t) => {
  // 4 images at 35²: 324 tiles, two transform chunks (256 + 68, a column tail); channel counts that
  // are not multiples of the 16-row tasks or the 6-row panels; the last conv's output is the net's
  const d = convBnReluChain([[3, 13, 3, 1], [13, 37, 3, 1], [37, 20, 5, 1], [20, 29, 7, 1], [29, 18, 3, 1]]);
  const o = { batchSize: 4, resolution: 35, loss: 'sum' as const };
  for (const simd of SIMD_ENVS) {
    const env = { ...simd, ZENNAS_CONV: 'winograd', ZENNAS_PROFILE: '1' };
    const chunks = gradients(d, o, { ...env, ZENNAS_WINO_WIDE: '0' }), wide = gradients(d, o, { ...env, ZENNAS_WINO_WIDE: '1' });
    t.true(wide.stderr.includes(' winograd-wide\n') && !chunks.stderr.includes('winograd-wide'), `${wide.simd}: the wide path ran only when asked`);
    t.true(chunks.stderr.includes(' winograd\n'));
    t.is(wide.loss, chunks.loss, `${wide.simd}: the same forward`);
    wide.g.forEach((g, i) => t.deepEqual(g, chunks.g[i], `${wide.simd}: gradient ${i}`));
    t.deepEqual(wide.x, chunks.x, `${wide.simd}: input gradient`);
    t.true(wide.x.some((v) => v !== 0));
  }
});
