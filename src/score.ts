/**
 * `score(structure, options)`: the common case in one call — parse, lower as the proxy's table
 * entry says, run on an Engine, summarise. The Zen-score by default; any proxy of the table with
 * `proxy`. An engine is opened (and closed) for the call unless one is given.
 *
 *   const r = await score('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)', { repeats: 8 });
 *   r.mean; r.ci95; r.scores;
 */
import { Structure } from './grammar/ast';
import { parseStructure } from './grammar/parse';
import { formatStructure } from './grammar/format';
import { Engine } from './engine/engine';
import { DEFAULTS } from './defaults';
import { PROXY_NAMES, ProxyName, proxySpec } from './proxies/table';
import { ProxyScore, ProxyScoreOptions, scoreProxies } from './proxies/score';
import { checkKnownKeys, describe, optionError } from './util/validate';
import { NpyImages, readImagesNpy, readLabelsNpy } from './util/npy';

/** Options of `score`: the proxy (default the Zen-score), the engine to use, and the engine and lowering options the proxy takes. */
export interface ScoreOptions extends Omit<ProxyScoreOptions, 'data' | 'labels'> {
  /**
   * Data images instead of the Gaussian input, for the proxies that take an input: float32 NCHW
   * { shape: [N, C, H, W], data } or the path of a .npy file of them (read bounded and checked:
   * readImagesNpy). The proxy reads the first images of its batch (N must be at least that); the
   * resolution defaults to H. The Zen-score, synflow and synflow_zc take no data (E_OPTION).
   */
  data?: NpyImages | string;
  /** Labels of the cross-entropy proxies, one per image, in [0, classes): an Int32Array or the path of an integer .npy. Absent: drawn from Philox. */
  labels?: Int32Array | string;
  /** What scores: 'zen' (the Zen-score, default) or a proxy of the table (`zennas proxies`). */
  proxy?: ProxyName;
  /** Engine backend when no `engine` is given: 'cpu' (default) or 'cuda' (the Zen-score only). */
  backend?: 'cpu' | 'cuda';
  /** Engine threads when no `engine` is given (default: all cores). */
  threads?: number;
  /** An open engine to run on (kept open); absent: one is opened and closed for this call. */
  engine?: Engine;
}

/** What `score` returns: the proxy's mean, std, 95% interval, per-repeat scores and series, with the structure scored. */
export interface StructureScore extends ProxyScore {
  /** The structure scored (canonical text). */
  structure: string;
}

const KEYS: readonly string[] = [
  'proxy', 'backend', 'threads', 'engine', 'batchSize', 'resolution', 'repeats', 'seed', 'bnEps', 'init', 'numBatches', 'xi', 'gsnrMode', 'hvpPrecision',
  'mode', 'alpha', 'numClasses', 'se', 'data', 'labels', 'signal',
];

/**
 * Score one structure (a PlainNet string or a parsed Structure). Options not given take the one
 * table of defaults (src/defaults.ts: 32×32, batch 64) and the proxy table's; a misspelt key is
 * E_OPTION with a hint, never ignored.
 */
export async function score(structure: string | Structure, options: ScoreOptions = {}): Promise<StructureScore> {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) optionError(`score options must be an object, got ${describe(options)}`);
  checkKnownKeys('score', options, KEYS);
  const { proxy = 'zen', backend, threads, engine: given, data: dataArg, labels: labelsArg, ...rest } = options;
  if (!proxySpec(proxy)) optionError(`proxy must be one of ${PROXY_NAMES.join(', ')}, got ${describe(proxy)}`);
  const s = typeof structure === 'string' ? parseStructure(structure) : structure;
  const data = typeof dataArg === 'string' ? readImagesNpy(dataArg) : dataArg;
  const labels = typeof labelsArg === 'string' ? readLabelsNpy(labelsArg) : labelsArg;
  // With data, the resolution is the images' (a different one given is refused by scoreProxies).
  const resolution = rest.resolution ?? (data && Array.isArray(data.shape) ? data.shape[2] : undefined) ?? DEFAULTS.resolution;
  const o: ProxyScoreOptions = { ...rest, resolution, ...(data !== undefined ? { data } : {}), ...(labels !== undefined ? { labels } : {}) };
  // The Zen-score's batch defaults to the shared table's; a proxy keeps its own table default.
  if (proxy === 'zen' && o.batchSize === undefined) o.batchSize = DEFAULTS.batchSize;
  const engine = given ?? new Engine({ ...(backend ? { backend } : {}), ...(threads !== undefined ? { threads } : {}) });
  try {
    const [r] = await scoreProxies(engine, s, [proxy], o);
    return { structure: formatStructure(s), ...r! };
  } finally {
    if (!given) engine.close();
  }
}
