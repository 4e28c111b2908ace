import { Command } from 'commander';
import { Engine } from '../../engine/engine';
import { lowerAsTrained } from '../../model/lower';
import { encodeDescriptor } from '../../ops/descriptor';
import { loadStructureArg, intOption, engineIntOption } from '../structure-input';
import { ZennasError } from '../../errors';
import { measureLatency, MeasuredLatency, MeasureLatencyOptions } from '../../latency';

interface LatencyFlags {
  batchSize: number; resolution: number; precision?: string; warmup: number; iterations: number;
  backend: string; engine: string; se?: boolean; json?: boolean;
}

/** `zennas latency`: GPU latency of the as-trained network (eval mode, BN folded), the paper's convention. */
export function registerLatencyCommand(program: Command): void {
  program
    .command('latency')
    .description('GPU inference latency of a structure as trained (residuals, BN folded, eval mode): mean/median/p90 ms per mini-batch')
    .argument('<structure|file>', 'a structure string or a file holding one')
    .option('-b, --batch-size <n>', 'mini-batch size (paper: 64)', engineIntOption('--batch-size', 'batchSize'), 64)
    .option('-r, --resolution <n>', 'input resolution', engineIntOption('--resolution', 'resolution'), 224)
    .option('-p, --precision <p>', "'fp16' (paper; default on the GPU) or 'fp32' (default and only choice on the CPU)")
    .option('--warmup <n>', 'untimed warm-up mini-batches', engineIntOption('--warmup', 'warmup'), 10)
    .option('-n, --iterations <n>', 'timed mini-batches (paper: 30)', engineIntOption('--iterations', 'iterations'), 30)
    .option('--backend <name>', "'cuda' (default) or 'cpu'", 'cuda')
    .option('--engine <name>', "'cudnn' (default) or 'tensorrt' (ONNX export timed by TensorRT's trtexec; needs TensorRT)", 'cudnn')
    .option('--se', 'insert SE modules in residual super blocks')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Examples:
  $ zennas latency test/fixtures/zennets/zennet_imagenet1k_latency01ms_res224.txt --batch-size 64 --precision fp16
  $ zennas latency "SuperConvK3BNRELU(3,32,2,1)SuperResK3K3(32,64,2,32,2)" -r 224 -b 64 --precision fp32 --json
  $ zennas latency zennet_imagenet1k_latency05ms_res224.txt --engine tensorrt    # trtexec on PATH or ZENNAS_TRTEXEC

Budgets and results are per mini-batch; the paper's "ZenNet-0.5ms" is 0.5 ms per image at
batch 64 on a V100 (FP16, TensorRT), i.e. 32 ms per mini-batch.`)
    .action(async (arg: string, f: LatencyFlags) => {
      const precision = f.precision ?? (f.backend === 'cpu' && f.engine !== 'tensorrt' ? 'fp32' : 'fp16');
      if (precision !== 'fp16' && precision !== 'fp32') throw new ZennasError('E_OPTION', `--precision must be 'fp16' or 'fp32', got '${precision}'`);
      if (f.backend !== 'cpu' && f.backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${f.backend}'`);
      if (f.engine !== 'cudnn' && f.engine !== 'tensorrt') throw new ZennasError('E_OPTION', `--engine must be 'cudnn' or 'tensorrt', got '${f.engine}'`);
      const { structure, text } = loadStructureArg(arg);
      const descriptor = encodeDescriptor(lowerAsTrained(structure, { numClasses: 1000, se: !!f.se }));
      const opts = {
        batchSize: f.batchSize, resolution: f.resolution, precision, warmup: f.warmup, iterations: f.iterations, engine: f.engine,
      } satisfies MeasureLatencyOptions;
      let r: MeasuredLatency;
      if (f.engine === 'tensorrt') {
        // TensorRT needs no zennas GPU backend: trtexec builds and times its own engine.
        if (f.backend === 'cpu') throw new ZennasError('E_OPTION', "--engine tensorrt measures on the GPU; it cannot be combined with --backend cpu");
        if (!f.json) process.stderr.write('zennas: exporting ONNX and building a TensorRT engine with trtexec (this can take a minute)…\n');
        r = await measureLatency(null, descriptor, opts);
      } else {
        let engine: Engine;
        try {
          engine = new Engine({ backend: f.backend as 'cpu' | 'cuda' });
        } catch (e) {
          // No GPU here: say how to measure anyway.
          if (f.backend === 'cuda' && (e as { code?: string }).code === 'E_BACKEND') {
            throw new ZennasError('E_BACKEND', `${(e as Error).message}. To measure on the CPU instead: --backend cpu (fp32)`);
          }
          throw e;
        }
        try {
          r = await measureLatency(engine, descriptor, opts);
        } finally {
          engine.close();
        }
      }
      if (f.json) {
        process.stdout.write(JSON.stringify({ structure: text, backend: f.backend, ...opts, ...r, msPerImage: r.meanMs / f.batchSize }) + '\n');
        return;
      }
      const engineName = r.engine === 'tensorrt' ? `TensorRT${r.tensorrtVersion ? ` ${r.tensorrtVersion}` : ''} (trtexec)` : f.backend === 'cuda' ? 'cuDNN' : 'CPU';
      process.stdout.write(
        `latency ${r.meanMs.toFixed(3)} ms per mini-batch of ${f.batchSize} (median ${r.medianMs.toFixed(3)}, p90 ${r.p90Ms.toFixed(3)}; ` +
          `${(r.meanMs / f.batchSize).toFixed(4)} ms/image, ${Math.round(r.imagesPerSecond)} images/s)\n` +
          `${precision}, ${f.resolution}×${f.resolution}, ${f.iterations} timed after ${f.warmup} warm-up, ${engineName}` +
          `${r.device ? ` on ${r.device}` : ''}\n`,
      );
    });
}
