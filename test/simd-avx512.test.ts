/**
 * The AVX-512 kernels (native/cpu/kernels_avx512.cc: the AVX2 kernels with a 512-bit GEMM register
 * block) give the same bits as the AVX2 kernels (ZENNAS_SIMD=avx2), on nets and conv algorithms
 * that reach every GEMM caller: the packed and indirect direct convs (strides 1 and 2, k = 1, 3, 5,
 * 7, column tails, 1 .. 6-row panels), Winograd per tile and layer-wide, and in the reverse pass
 * the weight-gradient GEMMs (packed dY, Winograd), the input-gradient GEMMs (col2im over channels
 * and over images, the flipped-weight forward), and the 16-tile Winograd input / output transforms.
 * Zen-scores are compared as float64 bits (under 'auto' to 1e-5: the forward's Winograd rule is
 * fitted per build), gradients element by element. Each side runs in a fresh process (the kernels are chosen once per process).
 * Skipped, and says so, on a CPU without AVX-512.
 */
import test from 'ava';
import { spawnSync } from 'child_process';
import { cpuFeatures } from '../src/engine/engine';
import { packageRoot } from '../src/engine/native';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained, lowerForScoring } from '../src/model/lower';
import { encodeDescriptor } from '../src/ops/descriptor';

interface Out { simd: string; scores: number[]; g: number[][]; x: number[] }

function run(s: string, o: { batchSize: number; resolution: number }, env: Record<string, string>): Out {
  const st = parseStructure(s);
  const dz = Array.from(encodeDescriptor(lowerForScoring(st))), dg = Array.from(encodeDescriptor(lowerAsTrained(st, { numClasses: 10 })));
  const script = `
    const z = require('node-gyp-build')(${JSON.stringify(packageRoot())});
    const e = new z.Engine({ backend: 'cpu', threads: 2 });
    (async () => {
      const zs = await e.run('zen', new Int32Array(${JSON.stringify(dz)}), { batchSize: ${o.batchSize}, resolution: ${o.resolution}, repeats: 2, seed: 7 });
      const r = await e.run('gradients', new Int32Array(${JSON.stringify(dg)}), { batchSize: ${o.batchSize}, resolution: ${o.resolution}, seed: 8, loss: 'cross-entropy', returnGradients: true, inputGradient: true });
      console.log(JSON.stringify({ simd: z.cpuFeatures().simd, scores: zs.scores, g: r.gradients.map((x) => Array.from(x.data)), x: Array.from(r.inputGradient) }));
      e.close();
    })();`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300_000, maxBuffer: 1 << 28 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Out;
}

const NETS: { name: string; s: string; batchSize: number; resolution: number }[] = [
  // narrow CIFAR-like layers (dot forms, 2- and 4-row panels), strides 2, 1×1 shortcuts
  { name: 'Space-I-like', s: 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)SuperResK3K3(32,64,2,32,1)SuperConvK1BNRELU(64,72,1,1)', batchSize: 6, resolution: 20 },
  // odd widths (panel tails), k = 5 and 7, bottlenecks, column tails (odd maps)
  { name: 'odd widths, k 5/7', s: 'SuperConvK3BNRELU(3,24,1,1)SuperResK3K3(24,40,1,24,1)SuperResK5K5(40,70,2,40,1)SuperResK7K7(70,56,1,56,1)SuperResK1K3K1(56,88,2,24,1)SuperConvK1BNRELU(88,100,1,1)', batchSize: 3, resolution: 19 },
  // wide layers (packed wgrad GEMM, col2im over images, layer-wide Winograd)
  { name: 'wide', s: 'SuperConvK7BNRELU(3,64,2,1)SuperResK3K3(64,128,2,128,1)SuperResK3K3(128,192,1,192,1)SuperResK3K3(192,256,2,256,1)', batchSize: 2, resolution: 64 },
];

const avx512 = cpuFeatures().simd === 'avx512';

// 'auto': the forward plans' Winograd rule is fitted per build (the AVX-512 GEMMs make Winograd pay
// later), so its Zen-scores agree to float32 rounding only; backward plans share one rule: same bits.
for (const conv of ['auto', 'direct', 'winograd', 'packed'] as const) {
  test(`AVX-512 kernels = AVX2 kernels, bit for bit (ZENNAS_CONV=${conv}${conv === 'auto' ? ': gradients; Zen-scores to 1e-5' : ''})`, (t) => {
    if (!avx512) { t.log(`skipped: this CPU / build has no AVX-512 kernels (simd ${cpuFeatures().simd})`); t.pass(); return; }
    const env: Record<string, string> = conv === 'auto' ? {} : { ZENNAS_CONV: conv };
    for (const n of NETS) {
      const wide = run(n.s, n, env), narrow = run(n.s, n, { ...env, ZENNAS_SIMD: 'avx2' });
      t.is(wide.simd, 'avx512');
      t.is(narrow.simd, 'avx2');
      if (conv === 'auto') wide.scores.forEach((v, i) => t.true(Math.abs(v - narrow.scores[i]!) <= 1e-5 * Math.abs(narrow.scores[i]!), `${n.name}: ${v} vs ${narrow.scores[i]}`));
      else t.deepEqual(wide.scores, narrow.scores, `${n.name}: Zen-scores`);
      t.true(wide.scores.every((v) => Number.isFinite(v) && v > 0), `${n.name}: scores ${wide.scores}`);
      t.is(wide.g.length, narrow.g.length);
      wide.g.forEach((g, i) => t.deepEqual(g, narrow.g[i], `${n.name}: gradient ${i}`));
      t.deepEqual(wide.x, narrow.x, `${n.name}: input gradient`);
    }
  });
}
