/**
 * What a structure lowers to: a graph of schema ops (src/ops/graph.ts); params and FLOPs per op
 * come from the schema's counting rules (src/ops/schema.ts WEIGHT_RULES). The encoded form is
 * descriptor v2 (src/ops/descriptor.ts).
 */
import { GraphNode, Graph, NodeRole, NodeShape } from '../ops/graph';
import { opMacs, opParams } from '../ops/schema';

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

/** Parameters a layer holds: conv/linear weights (+ linear bias), BN γ and β — the schema's rule. */
export function layerParams(l: Layer): number {
  return opParams(l);
}

/** Multiply-adds of conv and linear layers (the paper's "FLOPs") — the schema's rule. */
export function layerFlops(l: Layer, s: LayerShape): number {
  return opMacs(l, s);
}
