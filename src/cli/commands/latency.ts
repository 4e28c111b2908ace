import { Command } from 'commander';
import { Engine } from '../../engine/engine';
import { lowerAsTrained } from '../../model/lower';
import { encodeDescriptor } from '../../model/descriptor';
import { loadStructureArg, intOption } from '../structure-input';
import { ZennasError } from '../../errors';

/** Options of `engine.latency` (DESIGN §4; native/cuda/latency_plan.h). */
export interface LatencyOptions {
  batchSize: number;
  resolution: number;
  precision: 'fp16' | 'fp32';
  warmup: number;
  iterations: number;
  engine: 'cudnn' | 'tensorrt';
}

/** What `engine.latency` resolves to: per mini-batch times in ms over the timed iterations. */
export interface LatencyResult {
  meanMs: number;
  medianMs: number;
  p90Ms: number;
  imagesPerSecond: number;
  samplesMs?: number[];
  device?: string;
}

interface LatencyFlags {
  batchSize: number; resolution: number; precision: string; warmup: number; iterations: number;
  backend: string; engine: string; se?: boolean; json?: boolean;
}

type LatencyCapable = { latency?: (d: Int32Array, o: LatencyOptions) => Promise<LatencyResult> };

/**
 * Measure with the engine's latency entry point. The CPU engine may not offer one (latency is
 * defined on a GPU, DESIGN §4): that is an E_BACKEND error, not a crash.
 */
export async function measureLatency(engine: Engine, descriptor: Int32Array, opts: LatencyOptions, backend: string): Promise<LatencyResult> {
  const fn = (engine as unknown as LatencyCapable).latency;
  if (typeof fn !== 'function') {
    throw new ZennasError('E_BACKEND', `latency is not available on the '${backend}' backend of this build: use --backend cuda on a machine with an NVIDIA GPU`);
  }
  return fn.call(engine, descriptor, opts);
}

/** `zennas latency`: GPU latency of the as-trained network (eval mode, BN folded), the paper's convention. */
export function registerLatencyCommand(program: Command): void {
  program
    .command('latency')
    .description('GPU inference latency of a structure as trained (residuals, BN folded, eval mode): mean/median/p90 ms per mini-batch')
    .argument('<structure|file>', 'a structure string or a file holding one')
    .option('-b, --batch-size <n>', 'mini-batch size (paper: 64)', intOption('--batch-size', 1, 4096), 64)
    .option('-r, --resolution <n>', 'input resolution', intOption('--resolution', 1, 4096), 224)
    .option('-p, --precision <p>', "'fp16' (paper) or 'fp32'", 'fp16')
    .option('--warmup <n>', 'untimed warm-up mini-batches', intOption('--warmup', 0, 100000), 10)
    .option('-n, --iterations <n>', 'timed mini-batches (paper: 30)', intOption('--iterations', 1, 100000), 30)
    .option('--backend <name>', "'cuda' (default) or 'cpu'", 'cuda')
    .option('--engine <name>', "'cudnn' (default) or 'tensorrt' (only when TensorRT was found at build time)", 'cudnn')
    .option('--se', 'insert SE modules in residual super blocks')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Examples:
  $ zennas latency test/fixtures/zennets/zennet_imagenet1k_latency01ms_res224.txt --batch-size 64 --precision fp16
  $ zennas latency "SuperConvK3BNRELU(3,32,2,1)SuperResK3K3(32,64,2,32,2)" -r 224 -b 64 --precision fp32 --json`)
    .action(async (arg: string, f: LatencyFlags) => {
      if (f.precision !== 'fp16' && f.precision !== 'fp32') throw new ZennasError('E_OPTION', `--precision must be 'fp16' or 'fp32', got '${f.precision}'`);
      if (f.backend !== 'cpu' && f.backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${f.backend}'`);
      if (f.engine !== 'cudnn' && f.engine !== 'tensorrt') throw new ZennasError('E_OPTION', `--engine must be 'cudnn' or 'tensorrt', got '${f.engine}'`);
      const { structure, text } = loadStructureArg(arg);
      const descriptor = encodeDescriptor(lowerAsTrained(structure, { numClasses: 1000, se: !!f.se }));
      const opts: LatencyOptions = {
        batchSize: f.batchSize, resolution: f.resolution, precision: f.precision, warmup: f.warmup,
        iterations: f.iterations, engine: f.engine,
      };
      const engine = new Engine({ backend: f.backend as 'cpu' | 'cuda' });
      try {
        const r = await measureLatency(engine, descriptor, opts, f.backend);
        if (f.json) {
          process.stdout.write(JSON.stringify({ structure: text, backend: f.backend, ...opts, ...r, msPerImage: r.meanMs / f.batchSize }) + '\n');
        } else {
          process.stdout.write(
            `latency ${r.meanMs.toFixed(3)} ms per mini-batch of ${f.batchSize} (median ${r.medianMs.toFixed(3)}, p90 ${r.p90Ms.toFixed(3)}; ` +
              `${(r.meanMs / f.batchSize).toFixed(4)} ms/image, ${Math.round(r.imagesPerSecond)} images/s)\n` +
              `${f.precision}, ${f.resolution}×${f.resolution}, ${f.iterations} timed after ${f.warmup} warm-up, ${f.engine}` +
              `${r.device ? ` on ${r.device}` : ''}\n`,
          );
        }
      } finally {
        engine.close();
      }
    });
}
