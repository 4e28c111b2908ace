/**
 * The scores a search can maximise, by name (config.scoring.proxy): the Zen-score, every
 * zero-shot proxy of the table (src/proxies/table.ts: lowered as its entry says, run by
 * `engine.run`), and three baselines counted without an engine — 'flops' / 'params' (log10 of the
 * count, the official code's 'Flops' / 'Params') and 'random' (a uniform number per structure,
 * the official 'Random'). A proxy whose lower values are better (direction 'min', e.g. synflow)
 * is recorded with `direction: 'min'` and maximised as its negation by the loop.
 */
import * as crypto from 'crypto';
import { Structure } from '../grammar/ast';
import { formatStructure } from '../grammar/format';
import { countModel } from '../model/count';
import { encodeDescriptor } from '../ops/descriptor';
import { ENGINE_OPTIONS, checkOption, EngineOptionKey } from '../engine/options';
import { PROXY_NAMES, ProxySpec, proxySpec } from '../proxies/table';
import { lowerForProxy } from '../proxies/lowering';
import { ZennasError } from '../errors';
import { keyedError, opt } from '../util/keyed-error';
import { engineScorer, SearchEngine } from './engine-scorer';
import { Scorer, SearchConfig } from './types';
import { getSpace, type SearchSpace } from '../spaces';

/** Scores counted in TypeScript, no engine: log10 FLOPs, log10 params, a random number. */
export const COUNTED_PROXIES = ['flops', 'params', 'random'] as const;
export type CountedProxy = (typeof COUNTED_PROXIES)[number];

/** Every name `scoring.proxy` (and `zennas search --proxy`) takes: zen, the counted baselines, the table's other proxies. */
export const SEARCH_PROXIES: readonly string[] = ['zen', ...COUNTED_PROXIES, ...PROXY_NAMES.filter((n) => n !== 'zen')];

/** Scorer settings of a proxy search; absent ones take the proxy's defaults (the table's, else the option table's). */
export interface ProxyOptions {
  /** Images per forward (zen: the preset's; table proxies: the table's; synflow has none). */
  batchSize?: number;
  /** Repeats per candidate (mean); default 1, as the official searches. */
  repeats?: number;
  /** Weight init of a table proxy ('normal' / 'torch'); default the table's. */
  init?: 'normal' | 'torch';
  bnEps?: number;
  /** gsnr only (defaults 8, 1e-8, 'batch'). */
  numBatches?: number;
  xi?: number;
  gsnrMode?: 'batch' | 'official' | 'sample';
  /** grasp only: Hessian-vector product in 'float32' (default) or 'float64'. */
  hvpPrecision?: 'float32' | 'float64';
  /** Zen-score only. */
  mode?: 'paper' | 'official';
  alpha?: number;
  /** 'cpu' (default) or 'cuda' (the Zen-score only: the other proxies run on the CPU engine). */
  backend?: 'cpu' | 'cuda';
  /** Zen-score only: CPU conv algorithm, 'auto' (default: Winograd where the planner picks it) or 'direct'. */
  conv?: 'auto' | 'direct';
}

const OPTION_KEYS = ['batchSize', 'repeats', 'init', 'bnEps', 'numBatches', 'xi', 'gsnrMode', 'hvpPrecision', 'mode', 'alpha', 'backend', 'conv'] as const;
/** The engine options of a table proxy's scoring record (each where the proxy's table keys have it). */
const TABLE_KEYS = ['batchSize', 'repeats', 'init', 'bnEps', 'numBatches', 'xi', 'gsnrMode', 'hvpPrecision'] as const;
/** Options only some table proxies take: refusing one names the proxies that do. */
const PROXY_SPECIFIC = ['init', 'numBatches', 'xi', 'gsnrMode', 'hvpPrecision'] as const;
/** The table proxies whose keys include `k` ('gsnr' for gsnrMode, 'grasp' for hvpPrecision). */
const takers = (k: string): string => PROXY_NAMES.filter((n) => (proxySpec(n)!.keys as readonly string[]).includes(k)).join(', ');
type ScoringRecord = SearchConfig['scoring'];

const isCounted = (p: unknown): p is CountedProxy => (COUNTED_PROXIES as readonly unknown[]).includes(p);

/** The table entry of a proxy the search scores through engine.run (every table proxy but 'zen'), else undefined. */
export function engineProxySpec(proxy: unknown): ProxySpec | undefined {
  return typeof proxy === 'string' && proxy !== 'zen' ? proxySpec(proxy) : undefined;
}

/** The direction of a config's score: 'min' only where scoring.direction says so. */
export function scoringDirection(scoring: ScoringRecord): 'max' | 'min' {
  return scoring.direction === 'min' ? 'min' : 'max';
}

/** What a run's score axis is: 'Zen-score', '<proxy> proxy', or '−<proxy>' for a minimised one. */
export function scoreName(scoring: ScoringRecord): string {
  const p = scoring.proxy;
  if (p === undefined || p === 'zen') return 'Zen-score';
  return scoringDirection(scoring) === 'min' ? `−${p}` : `${p} proxy`;
}

/**
 * The `scoring` record of a search with proxy `proxy`: every setting that changes its scores,
 * defaults filled in, so that a checkpoint names them and a resume compares them. 'zen' gives the
 * record the search always wrote ({ proxy, batchSize, repeats, mode, bnEps, alpha, backend });
 * a table proxy { proxy, direction, [batchSize], repeats, [init], bnEps, [numBatches, xi,
 * gsnrMode], [hvpPrecision], backend: 'cpu' } with the keys it takes; a counted one { proxy }.
 * An option the proxy does not take is E_OPTION naming `proxyOptions.<key>` (and, for one only
 * some proxies take, the proxies that do); an unknown proxy names `proxy`.
 */
export function proxyScoring(proxy: string, o: ProxyOptions = {}, defaults: { batchSize: number } = { batchSize: ENGINE_OPTIONS.batchSize.default }): ScoringRecord {
  const given = OPTION_KEYS.filter((k) => o[k] !== undefined);
  const refuse = (k: string, why: string): never => {
    throw keyedError('E_OPTION')`${opt(`proxyOptions.${k}`)} ${why}`;
  };
  const check = (k: EngineOptionKey, v: unknown) => {
    try {
      checkOption(k, v);
    } catch (e) {
      refuse(k, `is out of range: ${(e as Error).message}`);
    }
  };
  if (o.backend !== undefined && o.backend !== 'cpu' && o.backend !== 'cuda') refuse('backend', `must be 'cpu' or 'cuda', got ${JSON.stringify(o.backend)}`);
  if (proxy === 'zen') {
    for (const k of given) if ((PROXY_SPECIFIC as readonly string[]).includes(k)) refuse(k, `does not apply to the Zen-score (it is an option of ${takers(k)})`);
    const r = { proxy: 'zen', batchSize: o.batchSize ?? defaults.batchSize, repeats: o.repeats ?? 1, mode: o.mode ?? 'paper', bnEps: o.bnEps ?? 1e-5, alpha: o.alpha ?? 0.01, backend: o.backend ?? 'cpu', conv: o.conv ?? 'auto' };
    for (const k of ['batchSize', 'repeats', 'mode', 'bnEps', 'alpha', 'conv'] as const) check(k, r[k]);
    return r;
  }
  if (isCounted(proxy)) {
    if (given.length) refuse(given[0]!, `does not apply to '${proxy}' (counted without the engine)`);
    return { proxy };
  }
  const spec = proxySpec(proxy);
  if (!spec) throw keyedError('E_OPTION')`${opt('proxy')}: unknown proxy '${proxy}'; a search takes: ${SEARCH_PROXIES.join(', ')}`;
  const keys = spec.keys as readonly string[];
  for (const k of given) {
    if (k === 'conv') {
      refuse(k, `applies to the Zen-score only (proxy '${proxy}' runs with the engine's default convolutions)`);
    } else if (k === 'backend') {
      if (o.backend !== 'cpu') refuse(k, `'${o.backend}': proxy '${proxy}' runs on the CPU engine (the CUDA backend scores the Zen-score only)`);
    } else if (!keys.includes(k)) {
      const of = (PROXY_SPECIFIC as readonly string[]).includes(k) ? `; ${k} is an option of ${takers(k)}` : '';
      refuse(k, `does not apply to proxy '${proxy}' (it takes ${keys.filter((x) => (OPTION_KEYS as readonly string[]).includes(x)).join(', ')}${of})`);
    }
  }
  const r: ScoringRecord = { proxy, direction: spec.direction };
  if (keys.includes('batchSize')) r.batchSize = o.batchSize ?? spec.batchSize ?? ENGINE_OPTIONS.batchSize.default;
  r.repeats = o.repeats ?? 1;
  if (keys.includes('init')) r.init = o.init ?? spec.init;
  r.bnEps = o.bnEps ?? ENGINE_OPTIONS.bnEps.default;
  if (keys.includes('numBatches')) r.numBatches = o.numBatches ?? ENGINE_OPTIONS.numBatches.default;
  if (keys.includes('xi')) r.xi = o.xi ?? ENGINE_OPTIONS.xi.default;
  if (keys.includes('gsnrMode')) r.gsnrMode = o.gsnrMode ?? ENGINE_OPTIONS.gsnrMode.default;
  if (keys.includes('hvpPrecision')) r.hvpPrecision = o.hvpPrecision ?? ENGINE_OPTIONS.hvpPrecision.default;
  r.backend = 'cpu';
  for (const k of TABLE_KEYS) if (r[k] !== undefined) check(k, r[k]);
  return r;
}

/** The conv algorithm of a Zen-score record (absent: 'auto', the engine's default; see configDifference for old checkpoints). */
export function zenConv(s: ScoringRecord): 'auto' | 'direct' {
  const c = s.conv ?? 'auto';
  if (c !== 'auto' && c !== 'direct') throw keyedError('E_OPTION')`${opt('scoring.conv')} must be 'auto' or 'direct', got ${JSON.stringify(c)}`;
  return c;
}

/**
 * Checks a config's scoring against the table (E_OPTION naming the key): `scoring.direction`, when
 * given, is 'max' or 'min', and for a proxy of the table it is the table's (a hand-written
 * { proxy: 'synflow' } would otherwise maximise synflow); a proxy with a GAP + Linear head needs
 * numClasses ≥ 1; a table proxy other than zen runs on backend 'cpu'.
 */
export function checkScoring(c: SearchConfig): void {
  const s = c.scoring;
  if (s.direction !== undefined && s.direction !== 'max' && s.direction !== 'min') {
    throw keyedError('E_OPTION')`${opt('scoring.direction')} must be 'max' or 'min', got ${JSON.stringify(s.direction)}`;
  }
  const spec = typeof s.proxy === 'string' ? proxySpec(s.proxy) : undefined;
  if (!spec) return;
  if (scoringDirection(s) !== spec.direction) {
    throw keyedError('E_OPTION')`${opt('scoring.direction')} is '${scoringDirection(s)}' but proxy '${spec.name}' is a '${spec.direction}' proxy (${spec.direction === 'min' ? 'lower' : 'higher'} is better; src/proxies/table.ts)`;
  }
  if (spec.name === 'zen') return;
  if ((spec.head || spec.lowering === 'as-trained') && !(c.numClasses >= 1)) {
    throw keyedError('E_OPTION')`${opt('numClasses')} must be ≥ 1 for proxy '${spec.name}' (it scores the network with a GAP + Linear(C, classes) head), got ${c.numClasses}`;
  }
  if (s.backend !== undefined && s.backend !== 'cpu') {
    throw keyedError('E_OPTION')`proxy '${spec.name}' runs on the CPU engine, not backend '${String(s.backend)}' (the CUDA backend scores the Zen-score only)`;
  }
}

/** The official 'Flops' / 'Params' zero-shot baselines: log10 of the count (as scores should be well scaled). */
export function countScorer<G = Structure>(what: 'flops' | 'params', c: Pick<SearchConfig, 'resolution' | 'numClasses' | 'se'>, space?: GenotypeView<G>): Scorer<G> {
  const o = { resolution: c.resolution, numClasses: c.numClasses, se: c.se };
  return async (g) => {
    // The space counts its own genotypes (as the budgets do); PlainNet structures by countModel.
    const n = space ? space.count(g, o) : countModel(g as unknown as Structure, o);
    return { score: Math.log10(what === 'flops' ? n.flops : n.params), seconds: 0 };
  };
}

/** What the config's scorers need of a search space: its codec and counts, and a PlainNet structure where it has one. */
export type GenotypeView<G> = Pick<SearchSpace<G>, 'id' | 'encode' | 'count' | 'structure'>;

/**
 * The official 'Random' baseline: a score uniform in [0, 1) per structure — the first 53 bits of
 * SHA-256(seed, canonical structure string) — so a run is reproducible from its seed and a
 * structure proposed twice scores the same.
 */
export function randomScorer<G = Structure>(seed: number, space?: GenotypeView<G>): Scorer<G> {
  return async (g) => {
    // The genotype's key (for PlainNet spaces its canonical structure string, as always).
    const key = space ? space.encode(g) : formatStructure(g as unknown as Structure);
    const h = crypto.createHash('sha256').update(`${seed}\n${key}`).digest();
    const score = (h.readUInt32BE(0) * 2 ** 21 + (h.readUInt32BE(4) >>> 11)) / 2 ** 53;
    return { score, seconds: 0 };
  };
}

/**
 * A table proxy through the engine: each candidate lowered as the proxy's entry says
 * (lowerForProxy: no residual + head, or as trained; numClasses and se of the config), then
 * engine.run(proxy, descriptor, { the scoring record's engine options, resolution and seed of
 * the config }). Returns the proxy's own value (the mean over repeats): the loop negates it for a
 * 'min' proxy.
 */
export function proxyScorer<G = Structure>(engine: SearchEngine, config: SearchConfig, space?: GenotypeView<G>): Scorer<G> {
  const spec = engineProxySpec(config.scoring.proxy);
  if (!spec) throw keyedError('E_OPTION')`${opt('proxy')}: '${String(config.scoring.proxy)}' is not a proxy engine.run scores`;
  if (typeof engine.run !== 'function') throw keyedError('E_OPTION')`${opt('engine')}: this engine has no run(proxy, …) for proxy '${spec.name}'`;
  const s = config.scoring;
  const o: Record<string, unknown> = { resolution: config.resolution, seed: config.seed };
  for (const k of TABLE_KEYS) {
    if (s[k] !== undefined && (spec.keys as readonly string[]).includes(k)) o[k] = s[k];
  }
  const lowerOpts = { numClasses: config.numClasses, se: config.se };
  const name = spec.name;
  // A proxy lowers the PlainNet structure as its table entry says (with or without residuals, with its head).
  if (space && space.structure === undefined) {
    throw keyedError('E_OPTION')`${opt('proxy')} '${name}' needs the network of a candidate as a PlainNet structure, and space '${space.id}' has none: score it with 'zen' or a counted proxy`;
  }
  const toStructure = (g: G): Structure => (space?.structure ? space.structure(g) : (g as unknown as Structure));
  return async (g: G) => {
    const d = encodeDescriptor(lowerForProxy(toStructure(g), spec, lowerOpts));
    const r = await engine.run!(name, d, o);
    return { score: r.mean, seconds: r.seconds };
  };
}

/**
 * The scorer a config's `scoring.proxy` names: 'zen' → engine.zenScore (as engineScorer always
 * did: the space's lowering, the record's batch size, repeats, mode, α, BN ε); a table proxy →
 * proxyScorer; 'flops' / 'params' / 'random' → counted, no engine. The engine stays the caller's.
 */
export function configScorer<G = Structure>(config: SearchConfig, engine?: SearchEngine, space: GenotypeView<G> = getSpace(config.space)): Scorer<G> {
  const s = config.scoring;
  const p = s.proxy;
  if (p === 'flops' || p === 'params') return countScorer(p, config, space);
  if (p === 'random') return randomScorer(config.seed, space);
  if (p !== 'zen' && !engineProxySpec(p)) {
    throw keyedError('E_OPTION')`${opt('scoring.proxy')} ${p === undefined ? 'is not set' : `'${String(p)}' is not a proxy`}: give ${opt('scorer')} or ${opt('evaluator')}, or one of ${SEARCH_PROXIES.join(', ')}`;
  }
  if (!engine) throw keyedError('E_OPTION')`proxy '${String(p)}' is scored by the native engine: give ${opt('engine')} (e.g. openEngine('cpu')), or ${opt('scorer')} / ${opt('evaluator')}`;
  if (p === 'zen') {
    const num = (k: string, d?: number): number => {
      const v = s[k] ?? d;
      if (typeof v !== 'number') throw new ZennasError('E_OPTION', `scoring.${k} must be a number for the Zen-score, got ${JSON.stringify(v)}`);
      return v;
    };
    const mode = s.mode ?? 'paper';
    if (mode !== 'paper' && mode !== 'official') throw new ZennasError('E_OPTION', `scoring.mode must be 'paper' or 'official', got ${JSON.stringify(mode)}`);
    // The Zen-score reads only the candidate's descriptor (the space's lowering), never the genotype.
    return engineScorer(engine, {
      batchSize: num('batchSize'), resolution: config.resolution, repeats: num('repeats', 1), seed: config.seed,
      mode, alpha: num('alpha', 0.01), bnEps: num('bnEps', 1e-5), conv: zenConv(s),
    }) as unknown as Scorer<G>;
  }
  return proxyScorer(engine, config, space);
}
