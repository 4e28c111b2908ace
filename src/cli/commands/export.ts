import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { lowerAsTrained } from '../../model/lower';
import { encodeDescriptor } from '../../ops/descriptor';
import { countModel } from '../../model/count';
import { ONNX_OPSET, ONNX_INPUT, ONNX_OUTPUT } from '../../export/onnx';
import { exportInferenceOnnx } from '../../export/inference';
import { Engine } from '../../engine/engine';
import { loadStructureArg, intOption } from '../structure-input';
import { human } from '../format';
import { ZennasError } from '../../errors';
import { writeFileAtomic } from '../../util/write-atomic';

interface ExportFlags {
  output: string; resolution: number; batchSize?: number; numClasses: number; precision: string; bn: string;
  seed: number; bnEps: string; se?: boolean; overwrite?: boolean; json?: boolean;
}

/** Writes the model without ever replacing an existing file unasked or leaving half a file behind. */
function writeOutput(file: string, bytes: Uint8Array, overwrite: boolean): void {
  if (!overwrite && fs.existsSync(file)) throw new ZennasError('E_IO', `'${file}' exists: pass --overwrite to replace it`);
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new ZennasError('E_IO', `folder '${dir}' does not exist`);
  try {
    writeFileAtomic(file, bytes);
  } catch (e) {
    throw new ZennasError('E_IO', `cannot write '${file}': ${(e as Error).message}`);
  }
}

/** `zennas export`: the inference network of a structure as an ONNX model (for TensorRT and other runtimes). */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write the inference network of a structure (BN folded, eval mode) as an ONNX model')
    .argument('<structure|file>', 'a structure string or a file holding one')
    .requiredOption('-o, --output <file>', 'the .onnx file to write')
    .option('-r, --resolution <n>', 'input resolution (the graph is static in H and W)', intOption('--resolution', 1, 4096), 224)
    .option('-b, --batch-size <n>', "fixed batch size (default: a symbolic 'batch' dimension)", intOption('--batch-size', 1, 4096))
    .option('-c, --num-classes <n>', 'classes of the GAP+Linear head (0 = none: the output is the last feature map)', intOption('--num-classes', 0, 1_000_000), 1000)
    .option('-p, --precision <p>', "'fp32' or 'fp16' (weights, input and output)", 'fp32')
    .option('--bn <stats>', "BN running variance folded in: 'calibrated' (default: each BN output has unit scale, as in a trained net) or 'fresh' (1)", 'calibrated')
    .option('--seed <n>', "Philox seed of the weights (the engine's N(0,1) draws of repeat 0)", intOption('--seed', 0, Number.MAX_SAFE_INTEGER), 0)
    .option('--bn-eps <x>', 'BN ε folded into the convolutions', '1e-5')
    .option('--se', 'insert SE modules in residual super blocks')
    .option('--overwrite', 'replace the output file if it exists')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
The graph: Conv (BN folded: weights W·s, bias −μ·s, s = 1/√(var+ε)), Relu, MaxPool, Add (residuals), SE as
GlobalAveragePool → Conv 1×1 → Relu → Conv 1×1 → Sigmoid → Mul, then GlobalAveragePool → Flatten →
Gemm (also AveragePool, Sigmoid·Mul for swish, Identity, Sum for n-ary adds where the graph has them). Input '${ONNX_INPUT}' [batch, 3, r, r], output '${ONNX_OUTPUT}' [batch, classes]; opset ${ONNX_OPSET}.
Weights are random (the network is untrained): use the file for latency and deployment tests.
'calibrated' BN sets each running variance to what its input has for an N(0,1) image, so
activations stay O(1) at any depth and FP16 engines do not overflow.

Examples:
  $ zennas export test/fixtures/zennets/zennet_imagenet1k_latency01ms_res224.txt -o zennet-0.1ms.onnx
  $ trtexec --onnx=zennet-0.1ms.onnx --stronglyTyped        # or: zennas latency … --engine tensorrt
  $ zennas export "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)" -r 32 -c 10 -b 64 --precision fp16 -o tiny.onnx`)
    .action(async (arg: string, f: ExportFlags) => {
      if (f.precision !== 'fp32' && f.precision !== 'fp16') throw new ZennasError('E_OPTION', `--precision must be 'fp32' or 'fp16', got '${f.precision}'`);
      if (f.bn !== 'calibrated' && f.bn !== 'fresh') throw new ZennasError('E_OPTION', `--bn must be 'calibrated' or 'fresh', got '${f.bn}'`);
      const bnEps = Number(f.bnEps);
      if (!(bnEps > 0) || !Number.isFinite(bnEps)) throw new ZennasError('E_OPTION', `--bn-eps must be a positive number, got '${f.bnEps}'`);
      const { structure, text } = loadStructureArg(arg);
      const descriptor = encodeDescriptor(lowerAsTrained(structure, { numClasses: f.numClasses, se: !!f.se }));
      // 'calibrated' BN: the statistics come from the CPU engine's training-mode forward (engine.bnStatistics).
      const engine = f.bn === 'calibrated' ? new Engine({ backend: 'cpu' }) : null;
      let bytes: Uint8Array;
      try {
        bytes = await exportInferenceOnnx(engine, descriptor, {
          resolution: f.resolution, batchSize: f.batchSize, precision: f.precision, bn: f.bn, seed: f.seed, bnEps, docString: text,
        });
      } finally {
        engine?.close();
      }
      writeOutput(f.output, bytes, !!f.overwrite);
      const c = countModel(structure, { resolution: f.resolution, numClasses: f.numClasses, se: !!f.se });
      const summary = {
        output: f.output, bytes: bytes.length, opset: ONNX_OPSET, precision: f.precision, bn: f.bn, seed: f.seed,
        resolution: f.resolution, batchSize: f.batchSize ?? 'dynamic', numClasses: f.numClasses, params: c.params, flops: c.flops,
      };
      if (f.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      process.stdout.write(
        `wrote ${f.output} (${human(bytes.length)}B, opset ${ONNX_OPSET}, ${f.precision}, ${f.bn} BN, seed ${f.seed})\n` +
          `input '${ONNX_INPUT}' [${f.batchSize ?? 'batch'}, 3, ${f.resolution}, ${f.resolution}], output '${ONNX_OUTPUT}'; ` +
          `${human(c.params)} params as trained (BN folded away in the file), ${human(c.flops)} FLOPs\n`,
      );
    });
}
