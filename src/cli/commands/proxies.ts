/**
 * `zennas proxies` (the proxy table: definitions and sources) and the `--proxy` path of
 * `zennas score` (one or more proxies from the table on one structure, printed as a table).
 */
import { Command } from 'commander';
import { Engine } from '../../engine/engine';
import { ZennasError } from '../../errors';
import { PROXY_NAMES, PROXY_TABLE, ProxySpec } from '../../proxies/table';
import { ProxyScoreOptions, parseProxyList, scoreProxies } from '../../proxies/score';
import { engineChoiceFlag, engineChoiceHelp, intOption, loadStructureArg } from '../structure-input';
import { ENGINE_OPTIONS } from '../../engine/options';
import { readImagesNpy, readLabelsNpy } from '../../util/npy';

function lowering(p: ProxySpec): string {
  const head = p.lowering === 'no-residual' && p.head ? ' + GAP/Linear head' : '';
  return `${p.lowering}${head}${p.bn === 'identity' ? ', BN → identity' : ''}`;
}

/** `zennas proxies`: every proxy of the table with its variant, defaults, direction, definition and source. */
function registerList(program: Command): void {
  program
    .command('proxies')
    .description('list the zero-shot proxies: definition, variant (official code), defaults and search direction')
    .option('--json', 'print the table as JSON')
    .addHelpText('after', `
Examples:
  $ zennas proxies
  $ zennas score zennet-1M -p grad_norm,snip,synflow
  $ zennas proxies --json`)
    .action((f: { json?: boolean }) => {
      if (f.json) {
        process.stdout.write(JSON.stringify(Object.values(PROXY_TABLE)) + '\n');
        return;
      }
      const lines: string[] = [];
      for (const p of Object.values(PROXY_TABLE) as ProxySpec[]) {
        lines.push(`${p.name}  (${p.variant}; ${p.direction === 'max' ? 'higher' : 'lower'} is better)`);
        lines.push(`  ${p.definition}`);
        lines.push(`  init ${p.init} · ${lowering(p)} · batch ${p.batchSize ?? '1 (fixed)'}${p.labels ? ' · CE on labels' : ''}`);
        lines.push(`  source: ${p.source}`);
      }
      lines.push('', 'Score with: zennas score <structure> --proxy NAME[,NAME…]|all [--json]');
      process.stdout.write(lines.join('\n') + '\n');
    });
}

function positive(flag: string, v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x <= 0) throw new ZennasError('E_OPTION', `${flag} must be a positive number, got '${v}'`);
  return x;
}

/** Flags of `zennas score` that the proxies read (added to the score command). */
function addScoreFlags(score: Command): void {
  score
    .option('-p, --proxy <names>', `score with proxies of the table instead of the plain Zen-score: NAME[,NAME…] or 'all' (${PROXY_NAMES.join(', ')}); defaults (resolution 32, batch) from the table`)
    .option('-c, --num-classes <n>', 'proxies: classes of the GAP + Linear head (default 10)', intOption('--num-classes', 1, 65536))
    .option('--init <name>', "proxies: weight init 'normal' or 'torch' (default: each proxy's)")
    .option('--num-batches <n>', 'gsnr: gradient samples (default 8)', intOption('--num-batches', ENGINE_OPTIONS.numBatches.min, ENGINE_OPTIONS.numBatches.max))
    .option('--xi <x>', 'gsnr: ξ (default 1e-8)')
    .option('--gsnr-mode <mode>', engineChoiceHelp('gsnrMode'))
    .option('--hvp-precision <p>', engineChoiceHelp('hvpPrecision'));
}

export interface ProxyFlags {
  proxy: string; resolution: number; batchSize: number; repeats: number; seed: number; mode: string; threads?: number; alpha: string; bnEps: string;
  se?: boolean; backend: string; json?: boolean; numClasses?: number; init?: string; numBatches?: number; xi?: string; gsnrMode?: string;
  hvpPrecision?: string; data?: string; labels?: string;
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  return a !== 0 && (a >= 1e6 || a < 1e-3) ? x.toExponential(4) : x.toFixed(4);
}

/**
 * The ProxyScoreOptions of `zennas score --proxy` flags (local or --queue): flags left at the
 * score command's defaults take the proxies' defaults (resolution 32, or the data's; each proxy's
 * batch, init and ξ-GSNR settings from the table).
 */
export function proxyFlagOptions(f: Omit<ProxyFlags, 'proxy'>, cmd: Command, dataResolution?: number): ProxyScoreOptions {
  const given = (key: string) => cmd.getOptionValueSource(key) === 'cli';
  if (f.init !== undefined && f.init !== 'normal' && f.init !== 'torch') throw new ZennasError('E_OPTION', `--init must be 'normal' or 'torch', got '${f.init}'`);
  const gsnrMode = engineChoiceFlag('--gsnr-mode', 'gsnrMode', f.gsnrMode);
  const hvpPrecision = engineChoiceFlag('--hvp-precision', 'hvpPrecision', f.hvpPrecision);
  return {
    resolution: given('resolution') ? f.resolution : dataResolution ?? 32,
    repeats: f.repeats,
    seed: f.seed,
    ...(given('batchSize') ? { batchSize: f.batchSize } : {}),
    ...(given('bnEps') ? { bnEps: positive('--bn-eps', f.bnEps) } : {}),
    ...(given('mode') ? { mode: f.mode as 'paper' | 'official' } : {}),
    ...(given('alpha') ? { alpha: positive('--alpha', f.alpha) } : {}),
    ...(f.init !== undefined ? { init: f.init as 'normal' | 'torch' } : {}),
    ...(f.numBatches !== undefined ? { numBatches: f.numBatches } : {}),
    ...(f.xi !== undefined ? { xi: positive('--xi', f.xi) } : {}),
    ...(gsnrMode !== undefined ? { gsnrMode } : {}),
    ...(hvpPrecision !== undefined ? { hvpPrecision } : {}),
    numClasses: f.numClasses ?? 10,
    se: !!f.se,
  };
}

/** `zennas score <structure> --proxy …`: flags left at the score command's defaults take the proxies' defaults. */
export async function scoreWithProxies(arg: string, f: ProxyFlags, cmd: Command): Promise<void> {
  const names = parseProxyList(f.proxy);
  const { text, structure } = loadStructureArg(arg);
  if (f.backend !== 'cpu' && f.backend !== 'cuda') throw new ZennasError('E_OPTION', `--backend must be 'cpu' or 'cuda', got '${f.backend}'`);
  // --data / --labels: read (bounded, checked) once; each proxy takes the first images of its batch.
  const data = f.data !== undefined ? readImagesNpy(f.data) : undefined;
  const labels = f.labels !== undefined ? readLabelsNpy(f.labels) : undefined;
  const o: ProxyScoreOptions = { ...proxyFlagOptions(f, cmd, data?.shape[2]), ...(data ? { data } : {}), ...(labels ? { labels } : {}) };
  const engine = new Engine({ backend: f.backend as 'cpu' | 'cuda', threads: f.threads });
  try {
    const res = await scoreProxies(engine, structure, names, o);
    if (f.json) {
      process.stdout.write(JSON.stringify({
        structure: text, resolution: o.resolution, repeats: o.repeats, seed: o.seed, numClasses: o.numClasses, se: o.se,
        ...(f.data !== undefined ? { data: f.data } : {}), ...(f.labels !== undefined ? { labels: f.labels } : {}), proxies: res,
      }) + '\n');
      return;
    }
    const rows = [['proxy', 'variant', 'mean', 'std', 'seconds'], ...res.map((r) => [r.proxy, r.variant, fmt(r.mean), fmt(r.std), r.seconds.toFixed(3)])];
    const width = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const line = (r: string[]) => r.map((v, c) => (c >= 2 ? v.padStart(width[c]!) : v.padEnd(width[c]!))).join('  ');
    process.stdout.write([line(rows[0]!), ...rows.slice(1).map(line)].join('\n') + '\n');
    const inputs = `${data ? `, data ${f.data} (first images of ${data.shape[0]})` : ''}${labels ? `, labels ${f.labels}` : ''}`;
    process.stdout.write(`${o.repeats} repeat(s), ${o.resolution}×${o.resolution}, seed ${o.seed}${inputs}; higher is better except: ${res.filter((r) => r.direction === 'min').map((r) => r.proxy).join(', ') || 'none'} ('zennas proxies' for the definitions)\n`);
  } finally {
    engine.close();
  }
}

/** Registers `zennas proxies` and the `--proxy` flags of `zennas score` (call after registerScoreCommand). */
export function registerProxiesCommand(program: Command): void {
  const score = program.commands.find((c) => c.name() === 'score');
  if (score) addScoreFlags(score);
  registerList(program);
}
