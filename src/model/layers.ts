/**
 * What a structure lowers to: a graph of schema ops (src/ops/graph.ts), plus the counting rules
 * (params, FLOPs) per op. The encoded form is descriptor v2 (src/ops/descriptor.ts).
 */
import { GraphNode, Graph, NodeRole, NodeShape } from '../ops/graph';

export { OP_NAMES, convOutSize } from '../ops/schema';
export type { OpName } from '../ops/schema';

/** One op of a lowered model. */
export type Layer = GraphNode;
/** Why a layer exists; lets counting and reports attribute it. */
export type LayerRole = NodeRole;
/** A lowered model. */
export type LayerList = Graph;
/** Spatial shape of a layer's input and output at a given resolution. */
export type LayerShape = NodeShape;

/** Parameters a layer holds: conv/linear weights (+ linear bias), BN γ and β. */
export function layerParams(l: Layer): number {
  switch (l.op) {
    case 'conv': return l.cin * l.cout * l.kernel * l.kernel;
    case 'dwconv': return l.cout * l.kernel * l.kernel;
    case 'bn': return 2 * l.cout;
    case 'linear': return l.cin * l.cout + (l.bias ? l.cout : 0);
    default: return 0;
  }
}

/** Multiply-adds of conv and linear layers (the paper's "FLOPs"). */
export function layerFlops(l: Layer, s: LayerShape): number {
  switch (l.op) {
    case 'conv': return l.cin * l.cout * l.kernel * l.kernel * s.hout * s.wout;
    case 'dwconv': return l.cout * l.kernel * l.kernel * s.hout * s.wout;
    case 'linear': return l.cin * l.cout;
    default: return 0;
  }
}
