import { Command } from 'commander';
import { backends, Engine } from '../../engine/engine';
import { lowerAsTrained } from '../../model/lower';
import { encodeDescriptor } from '../../ops/descriptor';
import { loadStructureArg, intOption, engineIntOption } from '../structure-input';
import { ZennasError } from '../../errors';
import { findTrtexec, measureLatency, MeasuredLatency, MeasureLatencyOptions, onnxRuntimeStatus } from '../../latency';

interface LatencyFlags {
  batchSize?: number; resolution?: number; precision?: string; warmup: number; iterations: number;
  backend?: string; engine: string; threads?: number; clock?: string; se?: boolean; json?: boolean;
}

const ENGINES = ['native', 'cudnn', 'tensorrt', 'onnxruntime'] as const;

/** How the text output names the runner that measured. */
export function runnerName(r: MeasuredLatency): string {
  switch (r.engine) {
    case 'tensorrt': return `TensorRT${r.tensorrtVersion ? ` ${r.tensorrtVersion}` : ''} (trtexec)${r.device ? ` on ${r.device}` : ''}`;
    case 'onnxruntime': return `onnxruntime ${r.onnxruntimeVersion} (CPU execution provider, ${r.threads} thread${r.threads === 1 ? '' : 's'}${r.clock === 'cpu' ? ', CPU time' : ''}) on ${r.device}`;
    case 'cudnn': return `zennas CUDA engine (cuDNN)${r.device ? ` on ${r.device}` : ''}`;
    default: return 'zennas CPU engine (its own eval forward)';
  }
}

/**
 * `zennas latency`: inference latency of the as-trained network (eval mode, BN folded) on the
 * Engine's own forward (the GPU when there is one, else the CPU), TensorRT, or onnxruntime (CPU).
 */
export function registerLatencyCommand(program: Command): void {
  program
    .command('latency')
    .description('Inference latency of a structure as trained (residuals, BN folded, eval mode): mean/median/p90 ms per mini-batch, on the zennas engine (GPU when usable, else CPU), TensorRT or onnxruntime')
    .argument('<structure|file>', 'a structure string or a file holding one')
    .option('-b, --batch-size <n>', 'mini-batch size (default 64, the Zen-NAS paper\'s; 1 with --engine onnxruntime, HardCoRe-NAS\'s)', engineIntOption('--batch-size', 'batchSize'))
    .option('-r, --resolution <n>', "input resolution (default: the zoo net's own, else 224, the paper's)", engineIntOption('--resolution', 'resolution'))
    .option('--precision <p>', "'fp16' (paper; default on the GPU) or 'fp32' (default and only choice on the CPU)")
    .option('--warmup <n>', 'untimed warm-up mini-batches', engineIntOption('--warmup', 'warmup'), 10)
    .option('-i, --iterations <n>', 'timed mini-batches (paper: 30)', engineIntOption('--iterations', 'iterations'), 30)
    .option('--backend <name>', "the zennas engine's device: 'cuda' (default when a GPU is usable) or 'cpu' (default otherwise)")
    .option('--engine <name>', "'native' (default: the zennas engine's own forward; 'cudnn' is its old name), 'tensorrt' (ONNX export timed by TensorRT's trtexec; needs TensorRT) or 'onnxruntime' (ONNX export on onnxruntime-node's CPU provider)", 'native')
    .option('-t, --threads <n>', 'onnxruntime intra-op threads (default 1)', intOption('--threads', 1, 1024))
    .option('--clock <c>', "onnxruntime: 'wall' (default, elapsed) or 'cpu' (the run's CPU time, 1 thread: unaffected by other work on the machine)")
    .option('--se', "insert SE modules in residual super blocks (default: the zoo net's own)")
    .option('--no-se', 'no SE modules, even for a zoo net built with them')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Examples:
  $ zennas latency zennet-0.1ms --backend cuda --batch-size 64 --precision fp16   # needs: a GPU (the paper's setting)
  $ zennas latency "SuperConvK3BNRELU(3,32,2,1)SuperResK3K3(32,64,2,32,2)" -r 224 -b 8 --backend cpu --json
  $ zennas latency zennet-0.5ms --engine onnxruntime --threads 2 --warmup 2 -i 10   # batch 1, CPU
  $ zennas latency zennet-0.5ms --engine tensorrt    # needs: TensorRT (trtexec on PATH or ZENNAS_TRTEXEC) and a GPU

Budgets and results are per mini-batch; the paper's "ZenNet-0.5ms" is 0.5 ms per image at
batch 64 on a V100 (FP16, TensorRT), i.e. 32 ms per mini-batch.`)
    .action(async (arg: string, f: LatencyFlags) => {
      if (!(ENGINES as readonly string[]).includes(f.engine)) throw new ZennasError('E_OPTION', `--engine must be ${ENGINES.map((e) => `'${e}'`).join(', ')}, got '${f.engine}'`);
      if (f.backend !== undefined && f.backend !== 'cpu' && f.backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${f.backend}'`);
      const engineKind = (f.engine === 'cudnn' ? 'native' : f.engine) as 'native' | 'tensorrt' | 'onnxruntime';
      if (f.threads !== undefined && engineKind !== 'onnxruntime') throw new ZennasError('E_OPTION', '--threads is an option of --engine onnxruntime only');
      if (f.clock !== undefined && engineKind !== 'onnxruntime') throw new ZennasError('E_OPTION', '--clock is an option of --engine onnxruntime only');
      if (f.clock !== undefined && f.clock !== 'wall' && f.clock !== 'cpu') throw new ZennasError('E_OPTION', `--clock must be 'wall' or 'cpu', got '${f.clock}'`);
      if (engineKind === 'tensorrt' && f.backend === 'cpu') throw new ZennasError('E_OPTION', '--engine tensorrt measures on the GPU; it cannot be combined with --backend cpu');
      if (engineKind === 'onnxruntime' && f.backend === 'cuda') throw new ZennasError('E_OPTION', '--engine onnxruntime measures on the CPU; it cannot be combined with --backend cuda');
      // As `zennas search` chooses: the GPU when one is usable, else the CPU.
      const backend = engineKind === 'onnxruntime' ? 'cpu' : engineKind === 'tensorrt' ? 'cuda' : f.backend ?? (backends().cuda ? 'cuda' : 'cpu');
      const precision = f.precision ?? (backend === 'cpu' ? 'fp32' : 'fp16');
      if (precision !== 'fp16' && precision !== 'fp32') throw new ZennasError('E_OPTION', `--precision must be 'fp16' or 'fp32', got '${precision}'`);
      if (backend === 'cpu' && precision === 'fp16') throw new ZennasError('E_OPTION', `--precision fp16 needs the GPU; ${engineKind === 'onnxruntime' ? 'onnxruntime' : 'the CPU engine'} times fp32`);
      const batchSize = f.batchSize ?? (engineKind === 'onnxruntime' ? 1 : 64);
      const { structure, text, zoo } = loadStructureArg(arg);
      // The network as trained: a zoo net with its own classes, SE and resolution; else ImageNet's (the paper's protocol).
      const resolution = f.resolution ?? zoo?.resolution ?? 224;
      const descriptor = encodeDescriptor(lowerAsTrained(structure, { numClasses: zoo?.numClasses ?? 1000, se: f.se ?? zoo?.se ?? false }));
      // The measurement is one long call: on a terminal, say what runs (a log gets the result line).
      if (!f.json && process.stderr.isTTY) process.stderr.write(`zennas: measuring ${f.warmup} warm-up + ${f.iterations} timed runs of batch ${batchSize} at ${resolution}×${resolution}…\n`);
      const opts: MeasureLatencyOptions = {
        batchSize, resolution, precision, warmup: f.warmup, iterations: f.iterations, engine: engineKind,
        ...(f.threads !== undefined ? { threads: f.threads } : {}),
        ...(f.clock !== undefined ? { clock: f.clock as 'wall' | 'cpu' } : {}),
      };
      let r: MeasuredLatency;
      if (engineKind === 'tensorrt') {
        // TensorRT needs no zennas GPU backend: trtexec builds and times its own engine. No trtexec: only the error.
        const trt = findTrtexec();
        if (!trt.path) throw new ZennasError('E_BACKEND', trt.reason!);
        if (!f.json) process.stderr.write('zennas: exporting ONNX and building a TensorRT engine with trtexec (this can take a minute)…\n');
        r = await measureLatency(null, descriptor, opts);
      } else if (engineKind === 'onnxruntime') {
        const ort = onnxRuntimeStatus();
        if (!ort.available) throw new ZennasError('E_BACKEND', ort.reason!);
        r = await measureLatency(null, descriptor, opts);
      } else {
        let engine: Engine;
        try {
          engine = new Engine({ backend });
        } catch (e) {
          // No GPU here: say how to measure anyway.
          if (backend === 'cuda' && (e as { code?: string }).code === 'E_BACKEND') {
            throw new ZennasError('E_BACKEND', `${(e as Error).message}. To measure on the CPU instead: --backend cpu (fp32) or --engine onnxruntime`);
          }
          throw e;
        }
        try {
          r = await measureLatency(engine, descriptor, opts);
        } finally {
          engine.close();
        }
      }
      const { samplesMs: _samples, ...shown } = r;
      if (f.json) {
        process.stdout.write(JSON.stringify({ structure: text, backend, ...opts, ...shown, samplesMs: r.samplesMs, msPerImage: r.meanMs / batchSize }) + '\n');
        return;
      }
      process.stdout.write(
        `latency ${r.meanMs.toFixed(3)} ms per mini-batch of ${batchSize} (median ${r.medianMs.toFixed(3)}, p90 ${r.p90Ms.toFixed(3)}; ` +
          `${(r.meanMs / batchSize).toFixed(4)} ms/image, ${Math.round(r.imagesPerSecond)} images/s)\n` +
          `${precision}, ${resolution}×${resolution}, ${f.iterations} timed after ${f.warmup} warm-up, ${runnerName(r)}\n`,
      );
    });
}
