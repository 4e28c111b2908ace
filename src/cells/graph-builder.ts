/**
 * The SSA graph builder the cell spaces (NAS-Bench-201, DARTS) share: one method per schema op a
 * cell uses, each appending a node and returning its value (node i → value i + 1; value 0 is the
 * input). `block` and `role` label the nodes that follow, for counting and the report.
 */
import { Graph, GraphNode, NodeRole } from '../ops/graph';

export class CellGraphBuilder {
  readonly nodes: GraphNode[] = [];
  private readonly ch: number[];
  block = 0;
  role: NodeRole = 'main';

  constructor(inputChannels: number) { this.ch = [inputChannels]; }

  private emit(op: GraphNode['op'], inputs: number[], cout: number, kernel = 0, stride = 0, extra: Partial<GraphNode> = {}): number {
    this.nodes.push({ op, inputs, cin: this.ch[inputs[0]!]!, cout, kernel, stride, ...extra, block: this.block, role: this.role });
    return this.ch.push(cout) - 1;
  }

  /** Channels of value v. */
  c(v: number): number { return this.ch[v]!; }
  conv(v: number, cout: number, k: number, s: number): number { return this.emit('conv', [v], cout, k, s); }
  dwconv(v: number, k: number, s: number, dilation = 1): number { return this.emit('dwconv', [v], this.c(v), k, s, dilation > 1 ? { dilation } : {}); }
  bn(v: number): number { return this.emit('bn', [v], this.c(v)); }
  relu(v: number): number { return this.emit('relu', [v], this.c(v)); }
  identity(v: number): number { return this.emit('identity', [v], this.c(v)); }
  zero(v: number): number { return this.emit('zero', [v], this.c(v)); }
  maxpool(v: number, s: number): number { return this.emit('maxpool', [v], this.c(v), 3, s); }
  /** k×k average pool; `pad` absent = the schema's (k−1)/2 (the descriptor then omits the attribute). */
  avgpool(v: number, k: number, s: number, countIncludePad: 0 | 1, pad?: number): number {
    return this.emit('avgpool', [v], this.c(v), k, s, pad === undefined ? { countIncludePad } : { countIncludePad, pad });
  }
  /** x[:, :, o:, o:] zero-padded back to H×W (TE-NAS's ConstantPad2d((0, 1, 0, 1)) then [1:, 1:]). */
  shift(v: number, offset: number): number { return this.emit('crop', [v], this.c(v), 0, 0, { offset, fill: 1 }); }
  concat(vs: number[]): number { return this.emit('concat', vs, vs.reduce((a, v) => a + this.c(v), 0)); }
  gap(v: number): number { return this.emit('gap', [v], this.c(v)); }
  linear(v: number, cout: number): number { return this.emit('linear', [v], cout, 0, 0, { bias: 1 }); }
  /** Sum of the inputs (one input: itself). */
  sum(vs: number[]): number { return vs.length === 1 ? vs[0]! : this.emit('add', vs, this.c(vs[0]!)); }
  /**
   * The cell networks' tail — BN → ReLU ("lastact"), then, with classes, GAP → linear (with bias)
   * — and the finished graph with it as the one output.
   */
  finish(x: number, block: number, numClasses: number): Graph {
    this.block = block;
    let y = this.relu(this.bn(x));
    if (numClasses > 0) {
      this.block = -1;
      this.role = 'classifier';
      y = this.linear(this.gap(y), numClasses);
    }
    return { inputChannels: this.ch[0]!, nodes: this.nodes, outputs: [y] };
  }
  /** ReLU → conv (no bias) → BN (ReLUConvBN). */
  reluConvBn(v: number, cout: number, k = 1, s = 1): number { return this.bn(this.conv(this.relu(v), cout, k, s)); }
}
