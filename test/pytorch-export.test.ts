/**
 * Issue #19 item 1: `zennas export --format pytorch` writes a self-contained nn.Module of the net
 * as trained. Checked with PyTorch: its parameter count equals `zennas info`, and with the
 * engine's weights loaded its eval forward equals the ONNX export's (onnxruntime) within 1e-5.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { findPython } from './helpers/python';
import { zennas } from './helpers/cli';
import { parseStructure } from '../src/grammar/parse';
import { lowerAsTrained } from '../src/model/lower';
import { countModel } from '../src/model/count';
import { encodeDescriptor, decodeDescriptor } from '../src/ops/descriptor';
import { exportPytorch } from '../src/export/pytorch';
import { exportInferenceOnnx } from '../src/export/inference';
import { drawWeights } from '../src/export/weights';
import { gaussianTensor } from '../src/rng/philox';
import { nb201Graph } from '../src/cells/nb201-net';
import { parseNb201 } from '../src/cells/nb201';
import { buildGraph } from '../src/reference';

const PY = findPython(['torch', 'onnxruntime', 'numpy']);
const CHECK = path.join(__dirname, 'torch', 'pytorch_export_check.py');
const maybe = PY ? test : test.skip;
const why = PY ? '' : ' [skipped: no Python with torch + onnxruntime (ZENNAS_PYTHON or .venv-bench; .ci/run makes it)]';

const NETS: [string, Int32Array, number][] = [
  ['ResNet blocks (CIFAR init net)', encodeDescriptor(lowerAsTrained(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,1,8,1)SuperResK3K3(16,32,2,16,1)SuperResK1K5K1(32,64,2,16,1)SuperConvK1BNRELU(64,128,1,1)'), { numClasses: 10 })), 32],
  ['IDW blocks + SE', encodeDescriptor(lowerAsTrained(parseStructure('SuperConvK3BNRELU(3,16,2,1)SuperResIDWE4K5(16,24,2,16,2)SuperResIDWE2K3(24,32,1,16,1)SuperConvK1BNRELU(32,64,1,1)'), { numClasses: 100, se: true })), 32],
  ['MBInvRes: swish, hswish, SE, hard-sigmoid SE, max pool', encodeDescriptor(lowerAsTrained(parseStructure('ConvKX(3,16,3,2)BN(16)HSWISH(16)MaxPool(16,16,3,1)MBInvResE1K3RELU(16,16,1)MBInvResE4K5SWISHSE(16,24,2)MBInvResE6K3HSWISHHSE(24,24,1)MBInvResE3K5HSWISH(24,40,2)'), { numClasses: 10 })), 32],
  ['NAS-Bench-201 net (avg pool without padding counted, the basic-block AvgPool2d(2, 2) shortcut, zero, identity, n-ary add)', encodeDescriptor(nb201Graph(parseNb201('|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|nor_conv_1x1~1|avg_pool_3x3~2|'), { channels: 8, cells: 1 })), 16],
  ['CONCAT along channels (torch.cat) and an even AVGPOOL with its pad', encodeDescriptor(buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
    { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 1 }, { op: 'concat', inputs: [4, 3, 4] },
    { op: 'avgpool', inputs: [5], kernel: 2, stride: 2, pad: 0 }, { op: 'avgpool', inputs: [5], kernel: 4, stride: 2, pad: 1, countIncludePad: 0 },
    { op: 'concat', inputs: [6, 7] }, { op: 'bn', inputs: [8] }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 10, bias: 1 },
  ])), 16],
  ['CROP: DARTS FactorizedReduce (x[:, :, 1:, 1:]) and a crop by 2', encodeDescriptor(buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
    { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 2 }, { op: 'crop', inputs: [3], offset: 1 }, { op: 'conv', inputs: [5], cout: 4, kernel: 1, stride: 2 },
    { op: 'concat', inputs: [4, 6] }, { op: 'bn', inputs: [7] }, { op: 'crop', inputs: [8], offset: 2 }, { op: 'gap', inputs: [9] }, { op: 'linear', inputs: [10], cout: 10, bias: 1 },
  ])), 16],
  ['CROP with fill: TE-NAS FactorizedReduce (F.pad(x[:, :, 1:, 1:], (0, 1, 0, 1))) on an odd map', encodeDescriptor(buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'bn', inputs: [1] }, { op: 'relu', inputs: [2] },
    { op: 'conv', inputs: [3], cout: 4, kernel: 1, stride: 2 }, { op: 'crop', inputs: [3], offset: 1, fill: 1 }, { op: 'conv', inputs: [5], cout: 4, kernel: 1, stride: 2 },
    { op: 'concat', inputs: [4, 6] }, { op: 'bn', inputs: [7] }, { op: 'gap', inputs: [8] }, { op: 'linear', inputs: [9], cout: 10, bias: 1 },
  ])), 15],
  ['dilated DWCONV (DARTS dil_conv_3x3 / 5x5)', encodeDescriptor(buildGraph(3, [
    { op: 'conv', inputs: [0], cout: 6, kernel: 3, stride: 1 }, { op: 'relu', inputs: [1] },
    { op: 'dwconv', inputs: [2], kernel: 3, stride: 1, dilation: 2 }, { op: 'conv', inputs: [3], cout: 6, kernel: 1, stride: 1 }, { op: 'bn', inputs: [4] },
    { op: 'dwconv', inputs: [5], kernel: 5, stride: 2, dilation: 2 }, { op: 'gap', inputs: [6] }, { op: 'linear', inputs: [7], cout: 10, bias: 1 },
  ])), 16],
];

for (const [name, d, res] of NETS) {
  maybe(`${name}: the .py module's params = the count, and its eval forward = the ONNX export's (≤ 1e-5)${why}`, async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-pt-'));
    try {
      fs.writeFileSync(path.join(dir, 'net.py'), exportPytorch(d, { docString: name }));
      fs.writeFileSync(path.join(dir, 'net.onnx'), await exportInferenceOnnx(null, d, { resolution: res, bn: 'fresh', seed: 0 }));
      const net = decodeDescriptor(d);
      const w = drawWeights(net, 0);
      const index: Record<string, [number, number]> = {};
      let off = 0;
      w.forEach((x, i) => { if (x) { index[String(i)] = [off, x.weight.length]; off += x.weight.length; } });
      const flat = new Float32Array(off);
      w.forEach((x, i) => { if (x) flat.set(x.weight, index[String(i)]![0]); });
      fs.writeFileSync(path.join(dir, 'w.bin'), Buffer.from(flat.buffer));
      const shape = [2, net.inputChannels, res, res];
      fs.writeFileSync(path.join(dir, 'x.bin'), Buffer.from(Float32Array.from(gaussianTensor(7, 1, 0, shape.reduce((a, b) => a * b, 1))).buffer));
      const r = spawnSync(PY!, [CHECK], {
        input: JSON.stringify({ module: path.join(dir, 'net.py'), onnx: path.join(dir, 'net.onnx'), weights: path.join(dir, 'w.bin'), index, input: path.join(dir, 'x.bin'), shape }),
        encoding: 'utf8', timeout: 120_000,
      });
      t.is(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout) as { params: number; maxAbsDiff: number; maxAbsRef: number; outShape: number[] };
      const expectedParams = net.nodes.reduce((a, n) => a + (n.op === 'conv' ? n.cin * n.cout * n.kernel ** 2 : n.op === 'dwconv' ? n.cout * n.kernel ** 2 : n.op === 'bn' ? 2 * n.cout : n.op === 'linear' ? n.cin * n.cout + (n.bias ? n.cout : 0) : 0), 0);
      t.is(out.params, expectedParams);
      t.true(out.maxAbsRef > 0);
      t.true(out.maxAbsDiff <= 1e-5 * Math.max(1, out.maxAbsRef), `max |torch − onnxruntime| = ${out.maxAbsDiff} (max |y| ${out.maxAbsRef})`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('the CLI writes the module for a zoo net; its parameter count is zennas info\'s; ONNX-only flags are refused', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-pt-cli-'));
  try {
    const out = path.join(dir, 'zennet_1m.py');
    const r = zennas('export', 'zennet-1M', '-o', out, '--json');
    t.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    t.is(j.format, 'pytorch');
    const info = JSON.parse(zennas('info', 'zennet-1M', '--json').stdout);
    t.is(j.params, info.params);
    const src = fs.readFileSync(out, 'utf8');
    t.regex(src, /^# Generated by zennas /);
    t.regex(src, /^class ZenNet\(nn\.Module\):$/m);
    t.notRegex(src, /^(import|from) (?!torch)/m, 'imports torch only');
    const bad = zennas('export', 'zennet-1M', '-o', path.join(dir, 'x.py'), '--precision', 'fp16');
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--precision applies to --format onnx/);
    if (PY) {
      const count = spawnSync(PY, [out], { encoding: 'utf8' });
      t.is(count.stdout.trim(), `${info.params.toLocaleString('en-US')} parameters`);
    }
    t.is(countModel(parseStructure(info.structure), { resolution: 32, numClasses: 10 }).params, info.params);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
