/**
 * Cell networks lowered for a proxy of the table (src/proxies/table.ts) and scored by the engine.
 *
 * What the table's lowerings mean on a cell net:
 * - every proxy scores the network as NAS-Bench-201 defines it (`residuals: 'keep'`): a cell has no
 *   "main branch" to keep — a node sums several edges and the skip edge is itself a searched op —
 *   so the Zen-NAS "remove residual links" step ('no-residual' proxies) has no meaning there.
 *   `residuals: 'remove'` is offered as an option (skip edges → none, basic blocks lose their
 *   shortcut), for whoever wants the plain-network view anyway;
 * - proxies with a head read the logits of NAS-Bench-201's own classifier (GAP + Linear with bias,
 *   the table's head); proxies without one (zen, naswot) read the feature map before GAP, which
 *   is the output of `lastact` (BN + ReLU) — its BN counts in the Zen-score's Σ ln σ̄ as every BN;
 * - synflow_zc's BN → identity is done by engine.run as for every structure.
 */
import { ZennasError } from '../errors';
import type { Engine, RunResult } from '../engine/engine';
import { encodeDescriptor } from '../ops/descriptor';
import { Graph } from '../ops/graph';
import { PROXY_NAMES, ProxyName, ProxySpec, proxySpec } from '../proxies/table';
import { Nb201Genotype } from './nb201';
import { Nb201EdgeOps, Nb201NetOptions, Nb201SupernetOptions, nb201Graph, nb201SupernetGraph } from './nb201-net';
import { DartsEdgeOps, DartsSupernetOptions, dartsSupernetGraph } from './darts-net';

/** The spec of a proxy name (E_OPTION listing the table for an unknown one). */
export function cellProxySpec(name: string): ProxySpec {
  const s = proxySpec(name);
  if (!s) throw new ZennasError('E_OPTION', `unknown proxy '${name}'; the table has: ${PROXY_NAMES.join(', ')}`);
  return s;
}

/** Network options with the classifier as the proxy needs it (numClasses default 10). */
function withHead(spec: ProxySpec, o: Nb201NetOptions): Nb201NetOptions {
  const numClasses = o.numClasses ?? 10;
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 65536) throw new ZennasError('E_OPTION', `numClasses must be an integer in 1..65536, got ${numClasses}`);
  return { ...o, numClasses: spec.head ? numClasses : 0 };
}

/** The graph `proxy` scores for a NAS-Bench-201 genotype. */
export function nb201ProxyGraph(genotype: Nb201Genotype, proxy: string, o: Nb201NetOptions = {}): Graph {
  return nb201Graph(genotype, withHead(cellProxySpec(proxy), o));
}

/** The graph `proxy` scores for a sub-supernet (ops remaining per edge). */
export function nb201SupernetProxyGraph(edges: Nb201EdgeOps, proxy: string, o: Nb201SupernetOptions = {}): Graph {
  return nb201SupernetGraph(edges, withHead(cellProxySpec(proxy), o));
}

/** The graph `proxy` scores for a DARTS sub-supernet (the head as the proxy needs it). */
export function dartsSupernetProxyGraph(edges: DartsEdgeOps, proxy: string, o: DartsSupernetOptions = {}): Graph {
  return dartsSupernetGraph(edges, withHead(cellProxySpec(proxy), o as Nb201NetOptions) as DartsSupernetOptions);
}

/** Engine options a cell proxy call may pass (each proxy takes those of its table entry). */
export type CellEngineOptions = Record<string, unknown>;

/** Only the options of `o` that `proxy` takes (the table's keys), so one option set serves several proxies. */
export function engineOptionsFor(proxy: string, o: CellEngineOptions): CellEngineOptions {
  const spec = cellProxySpec(proxy);
  const keys = new Set<string>([...spec.keys, ...spec.extra]);
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && keys.has(k)));
}

/** Run `proxy` on a graph through the engine; `o` is filtered to the proxy's keys. */
export async function runCellProxy(engine: Engine, proxy: ProxyName, g: Graph, o: CellEngineOptions = {}, signal?: AbortSignal): Promise<RunResult> {
  const opts = engineOptionsFor(proxy, o);
  return engine.run(proxy as never, encodeDescriptor(g), { ...opts, ...(signal ? { signal } : {}) } as never);
}
