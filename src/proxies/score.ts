/**
 * Scoring a structure with proxies from the table: lower it as each proxy's entry says, run it on
 * an Engine with the options that proxy takes, and summarise (what `zennas score --proxy` prints).
 */
import { Structure } from '../grammar/ast';
import { ZennasError } from '../errors';
import { encodeDescriptor } from '../ops/descriptor';
import type { Engine } from '../engine/engine';
import { PROXY_NAMES, PROXY_TABLE, ProxyName, ProxySpec, proxySpec } from './table';
import { lowerForProxy } from './lowering';

/** Options of `scoreProxies`: engine options (each proxy gets the ones it takes) plus the lowering's. */
export interface ProxyScoreOptions {
  batchSize?: number;
  resolution?: number;
  repeats?: number;
  seed?: number;
  bnEps?: number;
  init?: 'normal' | 'torch';
  numBatches?: number;
  xi?: number;
  gsnrMode?: 'batch' | 'official' | 'sample';
  /** Zen-score only. */
  mode?: 'paper' | 'official';
  alpha?: number;
  /** Classes of the GAP + Linear head (default 10). */
  numClasses?: number;
  /** SE modules in residual super blocks. */
  se?: boolean;
  signal?: AbortSignal;
}

/** One proxy's result. */
export interface ProxyScore {
  proxy: ProxyName;
  variant: string;
  direction: 'max' | 'min';
  mean: number;
  std: number;
  ci95: number;
  scores: number[];
  series: Record<string, number[]>;
  seconds: number;
  /** The engine options it ran with (defaults of the table filled in by the engine). */
  options: Record<string, unknown>;
}

const ENGINE_KEYS = ['batchSize', 'resolution', 'repeats', 'seed', 'bnEps', 'init', 'numBatches', 'xi', 'gsnrMode', 'mode', 'alpha'] as const;

/**
 * 'all' → every proxy of the table; else a comma-separated list of names (E_OPTION naming an
 * unknown one and listing the table). Duplicates are dropped, order kept.
 */
export function parseProxyList(text: string): ProxyName[] {
  const t = text.trim();
  if (t === 'all') return [...PROXY_NAMES];
  const names = t.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new ZennasError('E_OPTION', `no proxy named; the table has: ${PROXY_NAMES.join(', ')} (or 'all')`);
  for (const n of names) if (!proxySpec(n)) throw new ZennasError('E_OPTION', `unknown proxy '${n}'; the table has: ${PROXY_NAMES.join(', ')} (or 'all')`);
  return [...new Set(names)] as ProxyName[];
}

/** The options of `o` that proxy `spec` takes. */
function optionsFor(spec: ProxySpec, o: ProxyScoreOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ENGINE_KEYS) if (o[k] !== undefined && (spec.keys as readonly string[]).includes(k)) out[k] = o[k];
  return out;
}

/**
 * Scores `structure` with each proxy in turn (one engine, CPU for all but 'zen'). An option that
 * none of the proxies takes is an error (E_OPTION), so a misplaced flag is not silently ignored.
 */
export async function scoreProxies(engine: Engine, structure: Structure, names: readonly ProxyName[], o: ProxyScoreOptions = {}): Promise<ProxyScore[]> {
  for (const k of ENGINE_KEYS) {
    if (o[k] === undefined) continue;
    if (!names.some((n) => (PROXY_TABLE[n].keys as readonly string[]).includes(k)))
      throw new ZennasError('E_OPTION', `option '${k}' applies to none of the proxies ${names.join(', ')} (it is taken by: ${PROXY_NAMES.filter((n) => (PROXY_TABLE[n].keys as readonly string[]).includes(k)).join(', ') || 'none'})`);
  }
  const out: ProxyScore[] = [];
  for (const name of names) {
    const spec: ProxySpec = PROXY_TABLE[name];
    const d = encodeDescriptor(lowerForProxy(structure, spec, { numClasses: o.numClasses, se: o.se }));
    const opts = optionsFor(spec, o);
    const r = await engine.run(name as never, d, { ...opts, ...(o.signal ? { signal: o.signal } : {}) } as never);
    out.push({ proxy: name, variant: spec.variant, direction: spec.direction, mean: r.mean, std: r.std, ci95: r.ci95, scores: r.scores, series: r.series, seconds: r.seconds, options: opts });
  }
  return out;
}
