import { Command } from 'commander';
import * as fs from 'fs';
import * as path from 'path';
import { lowerAsTrained } from '../../model/lower';
import { encodeDescriptor } from '../../ops/descriptor';
import { countModel } from '../../model/count';
import { ONNX_OPSET, ONNX_INPUT, ONNX_OUTPUT } from '../../export/onnx';
import { exportInferenceOnnx } from '../../export/inference';
import { Engine } from '../../engine/engine';
import { loadStructureArg, intOption, engineIntOption } from '../structure-input';
import { bytesText, countText } from '../format';
import { ZennasError } from '../../errors';
import { exportPytorch } from '../../export/pytorch';
import { Progress, startProgress } from '../progress';
import { DEFAULTS, structureSettings } from '../../defaults';
import { STRUCTURE_ARG_HELP } from '../structure-input';
import { writeFileAtomic } from '../../util/write-atomic';
import { ioError, kindOf, lstatOrNull } from '../../util/files';

interface ExportFlags {
  output: string; format?: string; resolution?: number; batchSize?: number; numClasses?: number; precision: string; bn: string;
  seed: number; bnEps: string; se?: boolean; overwrite?: boolean; json?: boolean;
}

/**
 * Checks that `file` may receive the model: absent, or (with --overwrite) a regular file. A
 * device, FIFO, directory, socket or symbolic link (dangling or not) is never replaced: the
 * atomic write would swap the node itself for a file.
 */
function checkOutputTarget(file: string, overwrite: boolean): void {
  const st = lstatOrNull(file);
  if (st) {
    if (st.isSymbolicLink()) {
      const target = lstatOrNull(path.resolve(path.dirname(file), fs.readlinkSync(file)));
      throw new ZennasError('E_IO', `'${file}' is a symbolic link${target ? '' : ' to a missing file'}; refusing to replace it: give the path it points to, or remove the link`);
    }
    if (!st.isFile()) throw new ZennasError('E_IO', `'${file}' is a ${kindOf(st)}, not a regular file; refusing to replace it (-o - writes the model to stdout)`);
    if (!overwrite) throw new ZennasError('E_IO', `'${file}' exists: pass --overwrite to replace it`);
  }
  const dir = path.dirname(path.resolve(file));
  const d = lstatOrNull(dir) && fs.statSync(dir);
  if (!d) throw new ZennasError('E_IO', `folder '${dir}' does not exist`);
  if (!d.isDirectory()) throw new ZennasError('E_IO', `'${dir}' is not a folder`);
}

/** Writes the model without ever replacing an existing file unasked or leaving half a file behind. */
function writeOutput(file: string, bytes: Uint8Array, overwrite: boolean): void {
  checkOutputTarget(file, overwrite); // again: the export may have taken a while
  writeFileAtomic(file, bytes); // E_IO naming the file on failure
}

/** The model on stdout (`-o -`), resolved once the bytes are handed to the OS. */
function writeStdout(bytes: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(bytes, (err) => (err ? reject(ioError(err, 'cannot write the model to stdout')) : resolve()));
  });
}

/** `export --format pytorch`: the network as trained as one .py file (flags of the ONNX graph do not apply). */
async function exportPytorchFile(arg: string, f: ExportFlags, toStdout: boolean, cmd: Command): Promise<void> {
  for (const k of ['batchSize', 'precision', 'bn', 'seed'] as const) {
    if (cmd.getOptionValueSource(k) === 'cli') throw new ZennasError('E_OPTION', `--${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} applies to --format onnx (the .py file defines the network; its weights are PyTorch's own initialisation)`);
  }
  if (!toStdout) checkOutputTarget(f.output, !!f.overwrite);
  const { structure, text, zoo } = loadStructureArg(arg);
  const { resolution, numClasses, se } = structureSettings(f, zoo);
  const bnEps = Number(f.bnEps);
  const source = exportPytorch(encodeDescriptor(lowerAsTrained(structure, { numClasses, se })), { docString: text, bnEps });
  const bytes = new TextEncoder().encode(source);
  if (toStdout) await writeStdout(bytes);
  else writeOutput(f.output, bytes, !!f.overwrite);
  const c = countModel(structure, { resolution, numClasses, se });
  const summary = { output: f.output, format: 'pytorch', bytes: bytes.length, ...(zoo ? { zoo: zoo.name } : {}), numClasses, se, params: c.params, flops: c.flops, resolution };
  if (f.json) {
    process.stdout.write(JSON.stringify(summary) + '\n');
    return;
  }
  (toStdout ? process.stderr : process.stdout).write(
    `wrote ${toStdout ? 'the module to stdout' : f.output} (${bytesText(bytes.length)}): class ZenNet(nn.Module), ${countText(c.params)} parameters, ${numClasses} classes${se ? ', SE' : ''}\n` +
      `  from it: import it, net = ZenNet(); train as any nn.Module (FLOPs at ${resolution}×${resolution}: ${countText(c.flops)})\n`,
  );
}

/** `zennas export`: the inference network of a structure as an ONNX model (for TensorRT and other runtimes). */
export function registerExportCommand(program: Command): void {
  program
    .command('export')
    .description('write the inference network of a structure (BN folded, eval mode) as an ONNX model')
    .argument('<structure>', STRUCTURE_ARG_HELP)
    .requiredOption('-o, --output <file>', "the file to write ('-': stdout)")
    .option('-f, --format <name>', "'onnx' (default; inference graph, BN folded, random weights) or 'pytorch' (a self-contained .py nn.Module of the network as trained, to train it; default when -o ends in .py)")
    .option('-r, --resolution <n>', `input resolution, static in the graph (default: the zoo net's own, else ${DEFAULTS.resolution})`, engineIntOption('--resolution', 'resolution'))
    .option('-b, --batch-size <n>', "fixed batch size (default: a symbolic 'batch' dimension)", engineIntOption('--batch-size', 'batchSize'))
    .option('-c, --num-classes <n>', `classes of the GAP+Linear head, 0 = none: the output is the last feature map (default: the zoo net's own, else ${DEFAULTS.numClasses})`, intOption('--num-classes', 0, 1_000_000))
    .option('--precision <p>', "'fp32' or 'fp16' (weights, input and output)", 'fp32')
    .option('--bn <stats>', "BN running variance folded in: 'calibrated' (default: each BN output has unit scale, as in a trained net) or 'fresh' (1)", 'calibrated')
    .option('-s, --seed <n>', "Philox seed of the weights (the engine's N(0,1) draws of repeat 0)", engineIntOption('--seed', 'seed'), 0)
    .option('--bn-eps <x>', 'BN ε folded into the convolutions', '1e-5')
    .option('--se', "insert SE modules in residual super blocks (default: the zoo net's own)")
    .option('--no-se', 'no SE modules, even for a zoo net built with them')
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
  $ zennas export zennet-0.1ms -o zennet-0.1ms.onnx
  $ trtexec --onnx=zennet-0.1ms.onnx --stronglyTyped        # needs: TensorRT (or: zennas latency … --engine tensorrt)
  $ zennas export "SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)" -r 32 -c 10 -b 64 --precision fp16 -o tiny.onnx
  $ zennas export zennet-1M -o zennet_1m.py          # a PyTorch nn.Module of the net as trained (--format pytorch)`)
    .action(async (arg: string, f: ExportFlags, cmd: Command) => {
      if (f.precision !== 'fp32' && f.precision !== 'fp16') throw new ZennasError('E_OPTION', `--precision must be 'fp32' or 'fp16', got '${f.precision}'`);
      if (f.bn !== 'calibrated' && f.bn !== 'fresh') throw new ZennasError('E_OPTION', `--bn must be 'calibrated' or 'fresh', got '${f.bn}'`);
      const bnEps = Number(f.bnEps);
      if (!(bnEps > 0) || !Number.isFinite(bnEps)) throw new ZennasError('E_OPTION', `--bn-eps must be a positive number, got '${f.bnEps}'`);
      const toStdout = f.output === '-';
      if (f.output.trim() === '') throw new ZennasError('E_OPTION', "-o/--output must be a file path or '-' (stdout), got ''");
      if (toStdout && f.json) throw new ZennasError('E_OPTION', "-o - writes the model to stdout; --json would mix the summary into it: drop --json");
      const format = f.format ?? (/\.py$/i.test(f.output) ? 'pytorch' : 'onnx');
      if (format !== 'onnx' && format !== 'pytorch') throw new ZennasError('E_OPTION', `--format must be 'onnx' or 'pytorch', got '${format}'`);
      if (format === 'pytorch') return exportPytorchFile(arg, f, toStdout, cmd);
      if (toStdout && process.stdout.isTTY) throw new ZennasError('E_OPTION', '-o - would write a binary ONNX model to the terminal: redirect stdout to a file or a pipe');
      if (!toStdout) checkOutputTarget(f.output, !!f.overwrite); // before the export, which may take a while
      const { structure, text, zoo } = loadStructureArg(arg);
      const { resolution, numClasses, se } = structureSettings(f, zoo);
      const descriptor = encodeDescriptor(lowerAsTrained(structure, { numClasses, se }));
      // 'calibrated' BN: the statistics come from the CPU engine's training-mode forward (engine.bnStatistics).
      const engine = f.bn === 'calibrated' ? new Engine({ backend: 'cpu' }) : null;
      let bytes: Uint8Array;
      try {
        // A big net takes a while to draw and encode: progress (a bar on a terminal, plain lines in a log).
        let bar: Progress | undefined;
        bytes = await exportInferenceOnnx(engine, descriptor, {
          resolution, batchSize: f.batchSize, precision: f.precision, bn: f.bn, seed: f.seed, bnEps, docString: text,
          onProgress: (drawn, total) => {
            bar ??= startProgress({ label: 'export: drawing weights', total, unit: 'weights', enabled: !f.json && total > 20e6 });
            bar.update(drawn);
          },
        });
        bar?.stop();
      } finally {
        engine?.close();
      }
      if (toStdout) await writeStdout(bytes);
      else writeOutput(f.output, bytes, !!f.overwrite);
      const c = countModel(structure, { resolution, numClasses, se });
      const summary = {
        output: f.output, bytes: bytes.length, opset: ONNX_OPSET, precision: f.precision, bn: f.bn, seed: f.seed,
        ...(zoo ? { zoo: zoo.name } : {}), resolution, batchSize: f.batchSize ?? 'dynamic', numClasses, se, params: c.params, flops: c.flops,
      };
      if (f.json) {
        process.stdout.write(JSON.stringify(summary) + '\n');
        return;
      }
      // With -o - the model is stdout: the summary goes to stderr.
      (toStdout ? process.stderr : process.stdout).write(
        `wrote ${toStdout ? 'the model to stdout' : f.output} (${bytesText(bytes.length)}, opset ${ONNX_OPSET}, ${f.precision}, ${f.bn} BN, seed ${f.seed})\n` +
          `input '${ONNX_INPUT}' [${f.batchSize ?? 'batch'}, 3, ${resolution}, ${resolution}], output '${ONNX_OUTPUT}'; ` +
          `${countText(c.params)} params as trained (BN folded away in the file), ${countText(c.flops)} FLOPs\n`,
      );
    });
}
