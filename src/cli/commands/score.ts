import { Command } from 'commander';
import { startProgress } from '../progress';
import { Engine } from '../../engine/engine';
import { summarizeScores } from '../../util/stats';
import { lowerForScoring } from '../../model/lower';
import { encodeDescriptor } from '../../ops/descriptor';
import { loadStructureArg, intOption, engineIntOption } from '../structure-input';
import { ZennasError } from '../../errors';
import { DEFAULTS, structureSettings } from '../../defaults';
import { STRUCTURE_ARG_HELP } from '../structure-input';
import { scoreWithProxies } from './proxies';
import { scoreFileOnQueue } from './worker';

interface ScoreFlags {
  resolution?: number; batchSize: number; repeats: number; seed: number; mode: string;
  threads?: number; alpha: string; bnEps: string; se?: boolean; backend: string; json?: boolean; progress: boolean;
}

function positiveFloat(flag: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new ZennasError('E_OPTION', `${flag} must be a positive number, got '${v}'`);
  return x;
}

/**
 * Repeats are split into chunks so a progress bar can move; chunk r covers repeats
 * [r0, r0+n) which the engine draws from the same counter-based streams as one big call
 * (repeat index = Philox counter), so chunking never changes the scores. Official mode is one
 * chunk: its running_var carries over between repeats, so a later chunk replays the earlier
 * repeats (same scores, quadratic time).
 */
async function scoreInChunks(engine: Engine, d: Int32Array, opts: Record<string, unknown> & { repeats: number }, onChunk: (done: number) => void) {
  const scores: number[] = [];
  const logDelta: number[] = [];
  const logSigmaSum: number[] = [];
  const degenerate = new Set<string>();
  let seconds = 0;
  const chunk = opts.mode === 'official' ? opts.repeats : Math.max(1, Math.min(opts.repeats, Math.ceil(opts.repeats / 20)));
  for (let r0 = 0; r0 < opts.repeats; r0 += chunk) {
    const n = Math.min(chunk, opts.repeats - r0);
    const res = await engine.zenScore(d, { ...opts, repeats: n, firstRepeat: r0 } as never);
    scores.push(...res.scores);
    logDelta.push(...(res.logDelta ?? []));
    logSigmaSum.push(...(res.logSigmaSum ?? []));
    seconds += res.seconds;
    for (const w of res.degenerate ?? []) degenerate.add(w);
    onChunk(scores.length);
  }
  return { scores, logDelta, logSigmaSum, seconds, degenerate: [...degenerate] };
}


/** `zennas score`: the Zen-score of one structure (Zen-NAS Algorithm 1). */
export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .description('Zen-score of a structure (Zen-NAS Algorithm 1): mean, std and 95% interval over repeats')
    .argument('<structure>', STRUCTURE_ARG_HELP)
    .option('-r, --resolution <n>', `input resolution (default: the zoo net's own, else ${DEFAULTS.resolution})`, engineIntOption('--resolution', 'resolution'))
    .option('-b, --batch-size <n>', 'batch size of the random input', engineIntOption('--batch-size', 'batchSize'), DEFAULTS.batchSize)
    .option('-n, --repeats <n>', 'independent repeats (fresh weights and inputs each)', engineIntOption('--repeats', 'repeats'), 8)
    .option('-s, --seed <n>', 'seed of the counter-based RNG', engineIntOption('--seed', 'seed'), 0)
    .option('-m, --mode <mode>', "'paper' (batch statistics, default) or 'official' (BN running_var as the official code)", 'paper')
    .option('-t, --threads <n>', 'CPU threads (default: all cores)', intOption('--threads', 1, 1024))
    .option('--alpha <x>', 'perturbation scale α', '0.01')
    .option('--bn-eps <x>', 'BN ε (the ZenNet masternet uses 1e-3)', '1e-5')
    .option('--se', "insert SE modules in residual super blocks (default: the zoo net's own)")
    .option('--no-se', 'no SE modules, even for a zoo net built with them')
    .option('--backend <name>', "'cpu' or 'cuda'", 'cpu')
    .option('--no-progress', 'no progress bar')
    .option('--data <file.npy>', 'proxies (--proxy) that take an input: data images instead of the Gaussian input, float32 NCHW [N, channels, res, res], already normalised; each proxy reads the first images of its batch (N ≥ batch × batches); the resolution defaults to the images\'')
    .option('--labels <file.npy>', 'cross-entropy proxies: labels, an integer .npy [N] in 0..classes−1 (one per --data image); default drawn from Philox')
    .option('--queue <url>', 'score every structure of the file (one per line) on the workers of a Redis queue (`zennas worker`); prints one result per line, in order')
    .option('--queue-name <name>', "queue of --queue (the workers' --queue)", 'zennas')
    .option('--json', 'print one JSON object: mean, std, ci95, scores, seconds')
    .addHelpText('after', `
Examples:
  $ zennas score zennet-1M -n 4
  $ zennas score zennet-0.1ms -b 16 -n 2
  $ zennas score "SuperConvK3BNRELU(1,8,1,1)SuperResK3K3(8,16,2,8,1)" --proxy gsnr,snip --data x.npy --labels y.npy   # needs: your own x.npy / y.npy (float32 NCHW, int labels)
  $ zennas score nets.txt --queue redis://127.0.0.1:6379 --proxy gsnr -b 16   # needs: a Redis server with zennas workers, your nets.txt
  $ zennas score "SuperConvK7BNRELU(3,64,2,1)MaxPool(64,64,3,2)SuperResK3K3(64,64,1,64,2)SuperResK3K3(64,128,2,128,2)SuperResK3K3(128,256,2,256,2)SuperResK3K3(256,512,2,512,2)" -r 224 -b 16 -n 2`)
    .action(async (arg: string, f: ScoreFlags, cmd: Command) => {
      const inputs = f as { data?: string; labels?: string; proxy?: string };
      if ((f as { queue?: string }).queue !== undefined) {
        // Jobs carry plain options only: arrays of images do not travel to the workers.
        if (inputs.data !== undefined || inputs.labels !== undefined) throw new ZennasError('E_OPTION', '--data and --labels do not combine with --queue (jobs carry no image arrays): score with data locally');
        return scoreFileOnQueue(arg, f as never, cmd);  // --queue (commands/worker.ts)
      }
      if (inputs.proxy === undefined && (inputs.data !== undefined || inputs.labels !== undefined)) {
        throw new ZennasError('E_OPTION', `the Zen-score takes no ${inputs.data !== undefined ? 'data' : 'labels'} (its input is Gaussian by definition); --data/--labels are for the proxies that take them: --proxy NAME ('zennas proxies')`);
      }
      if ((f as { proxy?: string }).proxy !== undefined) return scoreWithProxies(arg, f as never, cmd);  // --proxy (commands/proxies.ts)
      const { structure, text, zoo } = loadStructureArg(arg);
      const { resolution, se } = structureSettings({ resolution: f.resolution, se: f.se }, zoo);
      if (f.mode !== 'paper' && f.mode !== 'official') throw new ZennasError('E_OPTION', `--mode must be 'paper' or 'official', got '${f.mode}'`);
      if (f.backend !== 'cpu' && f.backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${f.backend}'`);
      const alpha = positiveFloat('--alpha', f.alpha);
      const bnEps = positiveFloat('--bn-eps', f.bnEps);
      const descriptor = encodeDescriptor(lowerForScoring(structure, { se }));
      const engine = new Engine({ backend: f.backend as 'cpu' | 'cuda', threads: f.threads });
      const bar = startProgress({ label: 'scoring', total: f.repeats, unit: 'repeats', enabled: f.progress && !f.json && f.repeats > 1 });
      try {
        const opts = { batchSize: f.batchSize, resolution, repeats: f.repeats, seed: f.seed, mode: f.mode as 'paper' | 'official', alpha, bnEps };
        const r = await scoreInChunks(engine, descriptor, opts, (done) => bar.update(done));
        bar.stop();
        const s = summarizeScores(r.scores);
        for (const w of r.degenerate) process.stderr.write(`zennas: warning: the score is degenerate: ${w}\n`);
        if (f.json) {
          process.stdout.write(JSON.stringify({ structure: text, ...(zoo ? { zoo: zoo.name } : {}), se, ...opts, backend: f.backend, ...s, scores: r.scores, logDelta: r.logDelta, logSigmaSum: r.logSigmaSum, seconds: r.seconds, ...(r.degenerate.length ? { degenerate: r.degenerate } : {}) }) + '\n');
        } else {
          process.stdout.write(
            // One repeat has no spread: say so rather than print ± 0.0000.
            (f.repeats > 1
              ? `Zen-score ${s.mean.toFixed(4)} ± ${s.ci95.toFixed(4)} (95% CI; std ${s.std.toFixed(4)}, ${f.repeats} repeats, `
              : `Zen-score ${s.mean.toFixed(4)} ± n/a (1 repeat: no interval; use -n 8 or more, `) +
              `batch ${f.batchSize}, ${resolution}×${resolution}${se ? ', SE' : ''}, mode ${f.mode})\n` +
              `${(r.seconds / f.repeats).toFixed(4)} s per repeat on ${f.backend}\n`,
          );
        }
      } finally {
        bar.stop();
        engine.close();
      }
    });
}
