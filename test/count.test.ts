import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import { parseStructure } from '../src/grammar/parse';
import { countModel } from '../src/model/count';
import { round8, seChannels, roundHalfEven, lowerAsTrained, lowerForScoring, inferShapes } from '../src/model/lower';
import { encodeDescriptor, decodeDescriptor } from '../src/ops/descriptor';
import { ZennasError } from '../src/errors';
import { arbStructure, ZOO } from './helpers/arbitraries';

const count = (s: string, resolution: number, numClasses = 0, se = false) =>
  countModel(parseStructure(s), { resolution, numClasses, se });

test('SuperConvK3BNRELU: conv + BN, FLOPs at the strided resolution', (t) => {
  // conv 3·8·3·3 = 216 weights, BN γ,β = 2·8 = 16 → 232; output 16×16 → 216·256 = 55 296 MACs
  const c = count('SuperConvK3BNRELU(3,8,2,1)', 32, 10);
  t.is(c.paramsNoClassifier, 232);
  t.is(c.flopsNoClassifier, 55_296);
  // head: Linear(8,10) = 80 weights + 10 bias; 80 MACs
  t.is(c.params, 232 + 90);
  t.is(c.flops, 55_296 + 80);
  t.is(c.layers, 1);
  t.is(c.outputResolution, 16);
});

test('SuperConvK3BNRELU with sub_layers 2: second conv is out→out, stride 1', (t) => {
  // 3·8·9 + 16 + 8·8·9 + 16 = 216 + 16 + 576 + 16 = 824
  const c = count('SuperConvK3BNRELU(3,8,2,2)', 32);
  t.is(c.params, 824);
  t.is(c.flops, 216 * 256 + 576 * 256);
  t.is(c.layers, 2);
});

test('SuperResK3K3: two k×k convs and a projection shortcut', (t) => {
  // at 16×16 input, stride 2 → 8×8 (64 positions)
  // conv3 8→8 s2: 576, BN 16; conv3 8→16: 1152, BN 32; proj 1×1 8→16: 128, BN 32 → 1936
  // MACs: (576 + 1152 + 128)·64 = 118 784
  const c = count('SuperResK3K3(8,16,2,8,1)', 16);
  t.is(c.params, 1936);
  t.is(c.flops, 118_784);
});

test('SuperResK1KXK1: two bottleneck units per sub-layer; first unit always projects', (t) => {
  // unit 1: 1×1 8→4 (32) BN 8, 3×3 4→4 (144) BN 8, 1×1 4→16 (64) BN 32, proj 8→16 (128) BN 32 = 448
  // unit 2: 1×1 16→4 (64) BN 8, 3×3 (144) BN 8, 1×1 4→16 (64) BN 32, identity shortcut = 320
  const c = count('SuperResK1K3K1(8,16,1,4,1)', 8);
  t.is(c.params, 448 + 320);
  t.is(c.flops, (32 + 144 + 64 + 128 + 64 + 144 + 64) * 64);
  t.is(c.layers, 1);
  // even when in == out and stride 1 the first unit has a projection (official ResBlockProj) …
  t.is(count('SuperResK1K3K1(16,16,1,4,1)', 8).params, (64 + 8 + 144 + 8 + 64 + 32 + 256 + 32) + 320);
  // … unless the 'minimal' rule is asked for
  t.is(countModel(parseStructure('SuperResK1K3K1(16,16,1,4,1)'), { resolution: 8, numClasses: 0, shortcuts: 'minimal' }).params, 320 + 320);
});

test('SuperResIDWE2K5: expansion widths round8(btn·e), round8(out·e); depthwise stride', (t) => {
  // unit 1 (8→btn 8, stride 2), mid = round8(16) = 16:
  //   1×1 8→16 (128) BN 32, dw5 16 (400) BN 32, 1×1 16→8 (128) BN 16, proj 8→8 s2 (64) BN 16 = 816
  // unit 2 (8→16), mid = round8(32) = 32:
  //   1×1 8→32 (256) BN 64, dw5 32 (800) BN 64, 1×1 32→16 (512) BN 32, proj 8→16 (128) BN 32 = 1888
  const c = count('SuperResIDWE2K5(8,16,2,8,1)', 8);
  t.is(c.params, 816 + 1888);
  // MACs: first 1×1 at 8×8 = 128·64; everything after the stride-2 dw at 4×4 = 16 positions
  t.is(c.flops, 128 * 64 + (400 + 128 + 64) * 16 + (256 + 800 + 512 + 128) * 16);
});

test('basic blocks: ConvKX, ConvDW, BN, RELU, MaxPool, SE, AdaptiveAvgPool, Linear', (t) => {
  // ConvKX 3→8 k3 s1 @8×8: 216 params, 216·64 MACs
  t.deepEqual([count('ConvKX(3,8,3,1)', 8).params, count('ConvKX(3,8,3,1)', 8).flops], [216, 216 * 64]);
  // ConvDW 8 k5 s2 @8×8 → 4×4: 200 params, 200·16 MACs
  t.deepEqual([count('ConvDW(8,5,2)', 8).params, count('ConvDW(8,5,2)', 8).flops], [200, 200 * 16]);
  t.is(count('BN(8)', 8).params, 16);
  t.is(count('RELU(8)', 8).params, 0);
  const mp = count('MaxPool(8,8,3,2)', 32);
  t.deepEqual([mp.params, mp.flops, mp.outputResolution], [0, 0, 16]);
  // SE(16): hidden round(16/4) = 4: 16·4 + BN 8 + 4·16 + BN 32 = 168 params; 64+64 MACs on 1×1
  t.deepEqual([count('SE(16)', 4).params, count('SE(16)', 4).flops], [168, 128]);
  // SE(10): hidden round(2.5) = 2 (half to even)
  t.is(count('SE(10)', 4).params, 10 * 2 + 4 + 2 * 10 + 20);
  // GAP + Linear(8,10): 80 + 10 params, 80 MACs
  const lin = count('AdaptiveAvgPool(8,1)Linear(8,10)', 7);
  t.deepEqual([lin.params, lin.flops, lin.outputResolution], [90, 80, 1]);
});

test('--se adds SE after the k×k conv of residual super blocks', (t) => {
  // SE(8) inside SuperResK3K3(8,16,1,8,1): hidden 2 → 8·2 + 4 + 2·8 + 16 = 52
  t.is(count('SuperResK3K3(8,16,1,8,1)', 8, 0, true).params - count('SuperResK3K3(8,16,1,8,1)', 8).params, 52);
});

test('Linear without pooling is a clear structure error', (t) => {
  const e = t.throws(() => count('ConvKX(3,8,3,1)Linear(8,10)', 8), { instanceOf: ZennasError });
  t.is(e!.code, 'E_STRUCTURE');
  t.regex(e!.message, /1×1 input/);
});

test('round8 and seChannels follow Python round (half to even)', (t) => {
  t.is(round8(20), 16); // 2.5 → 2
  t.is(round8(28), 32); // 3.5 → 4
  t.is(round8(3), 8);
  t.is(round8(64), 64);
  t.deepEqual([roundHalfEven(0.5), roundHalfEven(1.5), roundHalfEven(2.5), roundHalfEven(2.6)], [0, 2, 2, 3]);
  t.is(seChannels(2), 1);
  t.is(seChannels(6), 2);
});

test('layers = Σ sub_layers of super blocks', (t) => {
  t.is(count('SuperConvK3BNRELU(3,8,1,2)SuperResK3K3(8,16,1,8,3)SuperResK1K3K1(16,16,1,8,4)BN(16)', 8).layers, 9);
});

test('ZenNet zoo matches the paper (Table 7) params/FLOPs', (t) => {
  const zoo = (f: string) => parseStructure(fs.readFileSync(path.join(ZOO, f), 'utf8'));
  const m = (f: string, se = false) => countModel(zoo(f), { resolution: 224, numClasses: 1000, se });
  // paper: ZenNet-0.1ms 30.1M / 1.7G, 0.3ms 85.4M / 4.9G, 1.2ms 180M / 22.0G, 400M-SE 5.7M / 410M
  const near = (x: number, y: number, tol: number) => t.true(Math.abs(x / y - 1) < tol, `${x} vs ${y}`);
  near(m('zennet_imagenet1k_latency01ms_res224.txt').params, 30.1e6, 0.01);
  near(m('zennet_imagenet1k_latency01ms_res224.txt').flops, 1.7e9, 0.05);
  near(m('zennet_imagenet1k_latency03ms_res224.txt').params, 85.4e6, 0.01);
  near(m('zennet_imagenet1k_latency03ms_res224.txt').flops, 4.9e9, 0.01);
  near(m('zennet_imagenet1k_latency12ms_res224.txt').flops, 22.0e9, 0.01);
  // the paper's params column of the -SE models counts the network without its SE modules
  near(m('zennet_imagenet1k_flops400M_res224.txt').params, 5.7e6, 0.01);
  near(m('zennet_imagenet1k_flops400M_res224.txt', true).flops, 410e6, 0.03);
  const c1 = countModel(zoo('zennet_cifar_model_size1M_res32.txt'), { resolution: 32, numClasses: 100 });
  near(c1.params, 1.0e6, 0.05);
  t.is(c1.layers, 18);
});

test('scored lowering has no shortcuts; trained lowering adds one residual add per unit', (t) => {
  const s = parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,2)SuperResK1K3K1(16,16,1,8,1)SuperResIDWE2K3(16,24,1,8,1)');
  const scored = lowerForScoring(s);
  t.false(scored.nodes.some((l) => l.op === 'add' || l.role === 'shortcut'));
  const trained = lowerAsTrained(s, { numClasses: 10 });
  // units: KXKX 2 + K1KXK1 2 + IDW 2 = 6 adds
  t.is(trained.nodes.filter((l) => l.op === 'add').length, 6);
  t.is(trained.nodes[trained.nodes.length - 1]!.op, 'linear');
  // main-branch layers are identical in both lowerings
  const main = (l: typeof scored.nodes) => l.filter((x) => x.role === 'main' && x.op !== 'add').map((x) => `${x.op}${x.cin}>${x.cout}k${x.kernel}s${x.stride}`);
  t.deepEqual(main(scored.nodes), main(trained.nodes.filter((l) => l.role !== 'classifier')));
});

test('property: lowered graphs are well-formed (values produced before read, channels chain) and round-trip through descriptor v2', (t) => {
  fc.assert(fc.property(arbStructure, fc.boolean(), (s, trained) => {
    const list = trained ? lowerAsTrained(s, { numClasses: 0 }) : (() => { try { return lowerForScoring(s); } catch { return null; } })();
    if (!list) return;
    const d = encodeDescriptor(list);
    const back = decodeDescriptor(d);
    t.is(back.nodes.length, list.nodes.length);
    const chans = [list.inputChannels];
    back.nodes.forEach((o, i) => {
      for (const v of o.inputs) if (v < 0 || v > i) throw new Error(`value ${v} read before it is produced: ${JSON.stringify(o)}`);
      if (chans[o.inputs[0]!] !== o.cin) throw new Error(`channel mismatch at ${JSON.stringify(o)}`);
      const l = list.nodes[i]!;
      if (o.op !== l.op || o.cout !== l.cout || o.kernel !== l.kernel || o.stride !== l.stride || o.inputs.join() !== l.inputs.join()) throw new Error(`op ${i} does not round-trip`);
      chans.push(o.cout);
    });
    t.deepEqual(back.outputs, list.outputs);
    inferShapes(list, 32);
  }), { numRuns: 300 });
  t.pass();
});

test('absurd sizes: counts beyond 2^53 are an E_STRUCTURE error, not wrong digits', (t) => {
  const s = parseStructure('SuperConvK3BNRELU(3,65536,1,256)SuperConvK15BNRELU(65536,65536,1,256)');
  const e = t.throws(() => countModel(s, { resolution: 224, numClasses: 1000 }));
  t.is((e as { code?: string }).code, 'E_STRUCTURE');
  t.regex(e!.message, /absurd size: FLOPs ≈ .* exceed 2\^53/);
});
