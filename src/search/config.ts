import { getPreset, getSpace } from '../spaces';
import { Budgets, SearchConfig } from './types';
import { bool, Check, nullable, num, object, oneOf, optional, parse, record, str, literal } from '../util/schema';
import { LIMITS } from '../grammar/limits';
import { keyedError, opt } from '../util/keyed-error';
import { ProxyOptions, proxyScoring } from './proxy-scorer';

const maybeNum = optional(num());
/** SearchConfigInput's shape: types only (ranges are checkSearchConfig's); a plain copy, each field read once. */
const inputSchema = object({
  space: str(64),
  preset: optional(str(64)),
  initial: optional(str(LIMITS.maxTextLength)),
  resolution: maybeNum, numClasses: maybeNum, se: optional(bool),
  budgets: optional(object({
    params: optional(nullable(num(0))), flops: optional(nullable(num(0))), layers: optional(nullable(num(0))), latencyMs: optional(nullable(num(0))),
  })),
  population: maybeNum, iterations: maybeNum, seed: maybeNum, inFlight: maybeNum,
  rho: optional(oneOf<'paper' | number>(literal('paper'), num())),
  scoring: optional(record(oneOf<string | number | boolean>(str(1000), num(), bool), 64)),
  algorithm: optional(str(64)),
  proxy: optional(str(64)),
  proxyOptions: optional(object({
    batchSize: maybeNum, repeats: maybeNum, init: optional(str(16)), bnEps: maybeNum, numBatches: maybeNum, xi: maybeNum,
    gsnrMode: optional(str(16)), hvpPrecision: optional(str(16)), mode: optional(str(16)), alpha: maybeNum, backend: optional(str(16)), conv: optional(str(16)),
  })),
}) as Check<SearchConfigInput>;

/** Zen-NAS defaults of the official code (idstcv/ZenNAS): population 512, 480k iterations. */
export const SEARCH_DEFAULTS = Object.freeze({ population: 512, iterations: 480_000, seed: 0, inFlight: 2, rho: 'paper' as const });

/** What `searchConfig` needs: a space; everything else defaults to the space's preset and SEARCH_DEFAULTS. */
export interface SearchConfigInput extends Partial<Omit<SearchConfig, 'space' | 'budgets'>> {
  space: string;
  /** Budgets; absent ones come from the preset (`null` lifts one). */
  budgets?: { [K in keyof Budgets]?: Budgets[K] | null };
  /**
   * What scores the candidates (default 'zen'): a name of SEARCH_PROXIES (./proxy-scorer) — the
   * Zen-score, a proxy of src/proxies/table.ts, or 'flops' / 'params' / 'random'. Fills `scoring`
   * (with the table's defaults and direction); give one of `proxy` and `scoring`, not both.
   */
  proxy?: string;
  /** Settings of the proxy (batch size, repeats, init, …); absent ones are the proxy's defaults. */
  proxyOptions?: ProxyOptions;
}

/**
 * A complete SearchConfig for the library API: the preset (default: the space's) fills the
 * initial structure, resolution, classes, budgets and Zen-score batch size; the search sizes are
 * the official code's (480k iterations — the CLI's presets use a short demo default instead).
 * `proxy` (+ `proxyOptions`) fills `scoring` (default: the Zen-score's record); `algorithm`
 * 'zen-nas' (the default) is left out of the config, as configs before the field were.
 */
export function searchConfig(inputIn: SearchConfigInput): SearchConfig {
  const input = parse(inputSchema, inputIn, 'E_OPTION', { keyed: true });
  const space = getSpace(input.space);
  const preset = getPreset(space, input.preset);
  const budgets: Budgets = {};
  const pick = <K extends keyof Budgets>(k: K, fallback: Budgets[K]) => {
    const v = input.budgets && k in input.budgets ? input.budgets[k] : fallback;
    if (v !== null && v !== undefined) budgets[k] = v;
  };
  pick('params', preset.budgetParams);
  pick('flops', preset.budgetFlops);
  pick('layers', preset.maxLayers);
  pick('latencyMs', undefined);
  if (input.scoring !== undefined && (input.proxy !== undefined || input.proxyOptions !== undefined)) {
    throw keyedError('E_OPTION')`give ${opt('proxy')} (and ${opt('proxyOptions')}) or ${opt('scoring')}, not both`;
  }
  const algorithm = input.algorithm;
  if (algorithm !== undefined && algorithm !== 'zen-nas' && algorithm !== 'xi-gsnr-evolution') {
    throw keyedError('E_OPTION')`${opt('algorithm')} must be 'zen-nas' or 'xi-gsnr-evolution', got ${JSON.stringify(algorithm)}`;
  }
  const scoring = input.scoring ?? proxyScoring(input.proxy ?? 'zen', (input.proxyOptions ?? {}) as ProxyOptions, { batchSize: preset.batchSize });
  return {
    space: space.id,
    preset: preset.name,
    initial: input.initial ?? preset.initial,
    resolution: input.resolution ?? preset.resolution,
    numClasses: input.numClasses ?? preset.numClasses,
    se: input.se ?? false,
    budgets,
    population: input.population ?? SEARCH_DEFAULTS.population,
    iterations: input.iterations ?? SEARCH_DEFAULTS.iterations,
    seed: input.seed ?? SEARCH_DEFAULTS.seed,
    inFlight: input.inFlight ?? SEARCH_DEFAULTS.inFlight,
    rho: input.rho ?? SEARCH_DEFAULTS.rho,
    scoring,
    ...(algorithm === 'xi-gsnr-evolution' ? { algorithm } : {}),
  };
}
