/**
 * Scoring a structure with proxies from the table: lower it as each proxy's entry says, run it on
 * an Engine with the options that proxy takes, and summarise (what `zennas score --proxy` prints).
 */
import { Structure } from '../grammar/ast';
import { ZennasError } from '../errors';
import { encodeDescriptor } from '../ops/descriptor';
import type { Engine } from '../engine/engine';
import { PROXY_NAMES, PROXY_TABLE, ProxyName, ProxySpec, proxyImages, proxySpec } from './table';
import { lowerForProxy } from './lowering';
import type { Graph } from '../ops/graph';
import type { NpyImages } from '../util/npy';

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
  /** grasp only: Hessian-vector product in 'float32' (default) or 'float64'. */
  hvpPrecision?: 'float32' | 'float64';
  /** Zen-score only. */
  mode?: 'paper' | 'official';
  alpha?: number;
  /** Classes of the GAP + Linear head (default 10). */
  numClasses?: number;
  /** SE modules in residual super blocks. */
  se?: boolean;
  /**
   * Data images instead of the Gaussian input (`--data FILE.npy`): float32 NCHW [N, C, H, W],
   * C the net's input channels, H = W = the resolution. Each proxy reads the first `images` of
   * them (its batch: batchSize, × numBatches for gsnr, × sampleBatches for tenas_lr / tenas), so
   * N must be at least that; the rest are not read. Only proxies whose table entry takes an
   * input accept it (zen, synflow, synflow_zc fix their own input: E_OPTION).
   */
  data?: NpyImages;
  /**
   * Labels of the cross-entropy proxies (`--labels FILE.npy`), one per image, in [0, classes):
   * the first `images` are read (with `data`, one per data image: N equal). Absent: drawn from
   * Philox. Only proxies that take labels accept them.
   */
  labels?: Int32Array;
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
  /** With `data`: images read of the N given. */
  data?: { images: number; of: number };
  /** With `labels`: labels read of the N given. */
  labels?: { images: number; of: number };
}

const ENGINE_KEYS = ['batchSize', 'resolution', 'repeats', 'seed', 'bnEps', 'init', 'numBatches', 'xi', 'gsnrMode', 'hvpPrecision', 'mode', 'alpha'] as const;

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

/** E_OPTION when an engine option of `o` applies to none of `names` (a misplaced flag is not silently ignored). */
export function checkOptionsApply(names: readonly ProxyName[], o: ProxyScoreOptions): void {
  for (const k of ENGINE_KEYS) {
    if (o[k] === undefined) continue;
    if (!names.some((n) => (PROXY_TABLE[n].keys as readonly string[]).includes(k)))
      throw new ZennasError('E_OPTION', `option '${k}' applies to none of the proxies ${names.join(', ')} (it is taken by: ${PROXY_NAMES.filter((n) => (PROXY_TABLE[n].keys as readonly string[]).includes(k)).join(', ') || 'none'})`);
  }
}

/** The engine options of `o` that proxy `name` takes (what its engine call, local or on a worker, gets). */
export function proxyOptions(name: ProxyName, o: ProxyScoreOptions): Record<string, unknown> {
  return optionsFor(PROXY_TABLE[name], o);
}

/** Classes of a lowered net's logits: the last node's outputs when it is the Linear head. */
function headClasses(g: Graph): number | undefined {
  const last = g.nodes[g.nodes.length - 1];
  return last && last.op === 'linear' ? last.cout : undefined;
}

/** E_OPTION unless `data` / `labels` are arrays of the right kind (the API is untyped at run time). */
function checkDataShape(o: ProxyScoreOptions): void {
  if (o.data !== undefined) {
    const d = o.data as Partial<NpyImages> | null;
    const shape = d?.shape;
    if (!d || typeof d !== 'object' || !(d.data instanceof Float32Array) || !Array.isArray(shape) || shape.length !== 4 || !shape.every((x) => Number.isInteger(x) && x > 0) || shape.reduce((a, b) => a * b, 1) !== d.data.length)
      throw new ZennasError('E_OPTION', 'data must be { shape: [N, C, H, W], data: Float32Array of N·C·H·W values } (readImagesNpy reads a .npy file into one)');
  }
  if (o.labels !== undefined && !(o.labels instanceof Int32Array)) throw new ZennasError('E_OPTION', 'labels must be an Int32Array (readLabelsNpy reads a .npy file into one)');
  if (o.data && o.labels && o.labels.length !== o.data.shape[0]) throw new ZennasError('E_OPTION', `labels hold ${o.labels.length} labels for ${o.data.shape[0]} data images: give one label per image`);
}

/**
 * The engine's `input` / `labels` of one proxy call from the options' data and labels: the first
 * `images` of them, checked against the net (channels, resolution, classes). E_OPTION when the
 * proxy takes no data / labels, or the arrays do not fit.
 */
function dataFor(spec: ProxySpec, g: Graph, opts: Record<string, unknown>, o: ProxyScoreOptions): { input?: Float32Array; labels?: Int32Array; data?: { images: number; of: number }; labelsUsed?: { images: number; of: number } } {
  const out: ReturnType<typeof dataFor> = {};
  if (o.data === undefined && o.labels === undefined) return out;
  const images = proxyImages(spec, opts);
  if (o.data !== undefined) {
    if (!spec.extra.includes('input')) throw new ZennasError('E_OPTION', `proxy '${spec.name}' takes no data: its definition fixes its input (${spec.name === 'zen' ? 'Gaussian x and ε' : 'one all-ones image'}); score it without --data, or leave it out of the list`);
    const [n, c, h, w] = o.data.shape;
    const res = (opts.resolution as number | undefined) ?? 32;
    if (c !== g.inputChannels) throw new ZennasError('E_OPTION', `data images have ${c} channels, the net takes ${g.inputChannels}`);
    if (h !== res || w !== res) throw new ZennasError('E_OPTION', `data images are ${h}×${w}, the resolution is ${res}×${res}`);
    const batch = (opts.batchSize as number | undefined) ?? spec.batchSize ?? 1;
    if (n < images) throw new ZennasError('E_OPTION', `proxy '${spec.name}' reads ${images} images (${images === batch ? 'one batch' : `${images / batch} batches of ${batch}`}), the data holds ${n}: give more images or a smaller --batch-size`);
    const per = c * h * w;
    out.input = o.data.data.subarray(0, images * per);
    out.data = { images, of: n };
  }
  if (o.labels !== undefined) {
    if (!spec.extra.includes('labels')) throw new ZennasError('E_OPTION', `proxy '${spec.name}' takes no labels (it has no cross-entropy loss); score it without --labels, or leave it out of the list`);
    if (o.labels.length < images) throw new ZennasError('E_OPTION', `proxy '${spec.name}' reads ${images} labels, ${o.labels.length} are given`);
    const classes = headClasses(g);
    const y = o.labels.subarray(0, images);
    for (let i = 0; i < y.length; i++) {
      if (y[i]! < 0 || (classes !== undefined && y[i]! >= classes)) throw new ZennasError('E_OPTION', `label ${y[i]} (image ${i}) is not a class of the net's head: 0..${(classes ?? 1) - 1} (--num-classes)`);
    }
    out.labels = y;
    out.labelsUsed = { images, of: o.labels.length };
  }
  return out;
}

/** The descriptor and engine options of one proxy's call on `structure` (what scoreProxies and a queue job run). */
export function proxyCall(structure: Structure, name: ProxyName, o: ProxyScoreOptions = {}): { descriptor: Int32Array; options: Record<string, unknown>; graph: Graph } {
  const spec: ProxySpec = PROXY_TABLE[name];
  const graph = lowerForProxy(structure, spec, { numClasses: o.numClasses, se: o.se });
  return { descriptor: encodeDescriptor(graph), options: optionsFor(spec, o), graph };
}

/**
 * Scores `structure` with each proxy in turn (one engine, CPU for all but 'zen'). An option that
 * none of the proxies takes is an error (E_OPTION), so a misplaced flag is not silently ignored.
 */
export async function scoreProxies(engine: Engine, structure: Structure, names: readonly ProxyName[], o: ProxyScoreOptions = {}): Promise<ProxyScore[]> {
  checkOptionsApply(names, o);
  checkDataShape(o);
  // Every call is checked (data, labels) before the first one runs: no half-printed table.
  const calls = names.map((name) => {
    const spec: ProxySpec = PROXY_TABLE[name];
    const c = proxyCall(structure, name, o);
    return { name, spec, ...c, inputs: dataFor(spec, c.graph, { ...c.options, resolution: c.options.resolution ?? o.resolution }, o) };
  });
  const out: ProxyScore[] = [];
  for (const { name, spec, descriptor, options: opts, inputs } of calls) {
    const r = await engine.run(name as never, descriptor, {
      ...opts, ...(inputs.input ? { input: inputs.input } : {}), ...(inputs.labels ? { labels: inputs.labels } : {}), ...(o.signal ? { signal: o.signal } : {}),
    } as never);
    out.push({
      proxy: name, variant: spec.variant, direction: spec.direction, mean: r.mean, std: r.std, ci95: r.ci95, scores: r.scores, series: r.series, seconds: r.seconds, options: opts,
      ...(inputs.data ? { data: inputs.data } : {}), ...(inputs.labelsUsed ? { labels: inputs.labelsUsed } : {}),
    });
  }
  return out;
}
