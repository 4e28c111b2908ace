/**
 * Exact Hessian-vector products of the float64 reference: Pearlmutter's R-operator
 * (forward-over-reverse). For a direction V over the parameters, R{·} = d/dε (·)(θ + εV) at ε = 0
 * is pushed through the forward pass (R x of every value) and then through the reverse pass
 * (R ∂L/∂value and R ∂L/∂θ); R ∂L/∂θ = H V exactly, the same number PyTorch's double backward
 * (autograd.grad(create_graph) then backward of g·∇L) gives, to float64 rounding. ReLU-like kinks
 * have a zero second derivative (as in autograd). The loss is softmax cross-entropy on outputs[0].
 */
import { ZennasError } from '../errors';
import { attrValue, GraphNode } from '../ops/graph';
import { ForwardResult, Gradients, NodeWeights, ReferenceNet, ReferenceWeights } from './graph';
import {
  ElementwiseOp, addForward, avgPoolBackward, concatBackward, concatForward, cropBackward, cropForward, avgPoolForward, convBackward, convForward, elementwiseBackward, gapBackward, gapForward, linearBackward,
  linearForward, maxPoolBackward, mulBackward, mulForward, sigmoid,
} from './ops';
import { Tensor4, zerosLike } from './tensor';

function add(a: Tensor4, b: Tensor4): Tensor4 {
  const y = zerosLike(a);
  for (let j = 0; j < y.data.length; j++) y.data[j] = a.data[j]! + b.data[j]!;
  return y;
}

function addArr(a: Float64Array, b: Float64Array): Float64Array {
  return a.map((v, j) => v + b[j]!);
}

/** f''(x) of the one-input elementwise ops, PyTorch's rules (hswish' = x/3 + ½ on (−3, 3): f'' = 1/3 there). */
function second(op: ElementwiseOp, v: number): number {
  switch (op) {
    case 'sigmoid': { const s = sigmoid(v); return s * (1 - s) * (1 - 2 * s); }
    case 'swish': { const s = sigmoid(v); return s * (1 - s) * (2 + v * (1 - 2 * s)); }
    case 'hswish': return v > -3 && v < 3 ? 1 / 3 : 0;
    default: return 0;  // relu, hsigmoid (piecewise linear), identity, zero
  }
}

/** R of max pool: each output takes R x at its window's first maximum (PyTorch's tie rule, as maxPoolBackward). */
function maxPoolR(x: Tensor4, rx: Tensor4, k: number, stride: number, ho: number, wo: number): Tensor4 {
  const pad = (k - 1) >> 1;
  const y: Tensor4 = { n: x.n, c: x.c, h: ho, w: wo, data: new Float64Array(x.n * x.c * ho * wo) };
  for (let nc = 0; nc < x.n * x.c; nc++)
    for (let oh = 0; oh < ho; oh++)
      for (let ow = 0; ow < wo; ow++) {
        let best = -1, m = -Infinity;
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * stride - pad + kh;
          if (ih < 0 || ih >= x.h) continue;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * stride - pad + kw;
            if (iw < 0 || iw >= x.w) continue;
            const j = (nc * x.h + ih) * x.w + iw;
            if (best < 0 || x.data[j]! > m) { best = j; m = x.data[j]!; }
          }
        }
        y.data[(nc * ho + oh) * wo + ow] = rx.data[best]!;
      }
  return y;
}

interface BnR { ry: Tensor4; rdx: (gy: Tensor4, rgy: Tensor4) => { rdx: Tensor4; rdgamma: Float64Array; rdbeta: Float64Array } }

/**
 * Training-mode BN per group g and channel c, m values, x̂ = (x − μ)/s, s = √(σ² + ε):
 * R s = mean((x − μ)·R x)/s, R x̂ = (R x − mean R x − x̂·R s)/s, R y = γ R x̂ + R γ x̂ + R β. Backward dx = (γ/s)·a,
 * a = gy − mean gy − x̂·mean(x̂ gy): R dx = (Rγ/s − γ Rs/s²)·a + (γ/s)·R a,
 * R a = R gy − mean R gy − R x̂·mean(x̂ gy) − x̂·mean(R x̂ gy + x̂ R gy); R dγ = Σ(R gy x̂ + gy R x̂), R dβ = Σ R gy.
 */
function bnTrainR(x: Tensor4, rx: Tensor4, gamma: Float64Array, rgamma: Float64Array, rbeta: Float64Array, eps: number, groups: number): BnR {
  const hw = x.h * x.w, per = x.n / groups, m = per * hw;
  const xhat = zerosLike(x), rxhat = zerosLike(x), ry = zerosLike(x);
  const sd = new Float64Array(groups * x.c), rsd = new Float64Array(groups * x.c);
  const each = (g: number, c: number, f: (j: number) => void) => {
    for (let n = g * per; n < (g + 1) * per; n++) { const o = (n * x.c + c) * hw; for (let i = 0; i < hw; i++) f(o + i); }
  };
  for (let g = 0; g < groups; g++)
    for (let c = 0; c < x.c; c++) {
      let mu = 0, rmu = 0;
      each(g, c, (j) => { mu += x.data[j]!; rmu += rx.data[j]!; });
      mu /= m; rmu /= m;
      let v = 0, cov = 0;
      each(g, c, (j) => { const d = x.data[j]! - mu; v += d * d; cov += d * rx.data[j]!; });
      const s = Math.sqrt(v / m + eps), rs = cov / m / s;
      sd[g * x.c + c] = s; rsd[g * x.c + c] = rs;
      each(g, c, (j) => {
        const xh = (x.data[j]! - mu) / s;
        xhat.data[j] = xh;
        rxhat.data[j] = (rx.data[j]! - rmu - xh * rs) / s;
        ry.data[j] = gamma[c]! * rxhat.data[j]! + rgamma[c]! * xh + rbeta[c]!;
      });
    }
  const rdx = (gy: Tensor4, rgy: Tensor4) => {
    const out = zerosLike(x), rdgamma = new Float64Array(x.c), rdbeta = new Float64Array(x.c);
    for (let g = 0; g < groups; g++)
      for (let c = 0; c < x.c; c++) {
        const s = sd[g * x.c + c]!, rs = rsd[g * x.c + c]!;
        let mg = 0, mxg = 0, mrg = 0, mrxg = 0;
        each(g, c, (j) => {
          mg += gy.data[j]!; mxg += xhat.data[j]! * gy.data[j]!; mrg += rgy.data[j]!;
          mrxg += rxhat.data[j]! * gy.data[j]! + xhat.data[j]! * rgy.data[j]!;
          rdgamma[c]! += rgy.data[j]! * xhat.data[j]! + gy.data[j]! * rxhat.data[j]!;
          rdbeta[c]! += rgy.data[j]!;
        });
        mg /= m; mxg /= m; mrg /= m; mrxg /= m;
        each(g, c, (j) => {
          const a = gy.data[j]! - mg - xhat.data[j]! * mxg;
          const ra = rgy.data[j]! - mrg - rxhat.data[j]! * mxg - xhat.data[j]! * mrxg;
          out.data[j] = (rgamma[c]! / s - (gamma[c]! * rs) / (s * s)) * a + (gamma[c]! / s) * ra;
        });
      }
    return { rdx: out, rdgamma, rdbeta };
  };
  return { ry, rdx };
}

/**
 * H·V for softmax cross-entropy (mean over the batch) on outputs[0], given a training-mode forward
 * `fwd`, its gradients `grads` (referenceBackward from the cross-entropy seed on `labels`) and the
 * direction V (per node: weight / bias / gamma / beta; a missing field is 0). Returns R ∂L/∂θ = H V
 * for every parameter of every node (fields as referenceBackward's weights). Eval-mode BN is refused.
 */
export function referenceHvp(net: ReferenceNet, weights: ReferenceWeights, fwd: ForwardResult, grads: Gradients, dir: readonly NodeWeights[]): NodeWeights[] {
  if (fwd.options.bn !== 'train') throw new ZennasError('E_OPTION', 'referenceHvp: only training-mode BN is supported');
  const { values } = fwd;
  const eps = fwd.options.bnEps, groups = fwd.options.bnGroups;
  const rv: Tensor4[] = [zerosLike(values[0]!)];  // the input does not depend on θ
  const bnR = new Map<number, BnR>();
  const zeros = (n: number) => new Float64Array(n);
  net.nodes.forEach((n, i) => {
    const x = values[n.inputs[0]!]!, rx = rv[n.inputs[0]!]!;
    const W = weights[i] ?? {}, V = dir[i] ?? {};
    let ry: Tensor4;
    switch (n.op) {
      case 'conv': case 'dwconv': {
        const dw = n.op === 'dwconv';
        const d = attrValue(n as GraphNode, 'dilation');
        ry = convForward(rx, W.weight!, n.cout, n.kernel, n.stride, dw, d);
        if (V.weight) ry = add(ry, convForward(x, V.weight, n.cout, n.kernel, n.stride, dw, d));
        break;
      }
      case 'linear': {
        ry = linearForward(rx, W.weight!, null, n.cout);
        if (V.weight || V.bias) ry = add(ry, linearForward(x, V.weight ?? zeros(W.weight!.length), V.bias ?? null, n.cout));
        break;
      }
      case 'bn': {
        const r = bnTrainR(x, rx, W.gamma ?? zeros(n.cout).fill(1), V.gamma ?? zeros(n.cout), V.beta ?? zeros(n.cout), eps, groups);
        bnR.set(i, r);
        ry = r.ry;
        break;
      }
      case 'relu': case 'sigmoid': case 'swish': case 'hswish': case 'hsigmoid': case 'identity': case 'zero': ry = elementwiseBackward(n.op, x, rx); break;
      case 'maxpool': { const y = values[i + 1]!; ry = maxPoolR(x, rx, n.kernel, n.stride, y.h, y.w); break; }
      case 'avgpool': ry = avgPoolForward(rx, n.kernel, n.stride, attrValue(n as GraphNode, 'countIncludePad') === 1, attrValue(n as GraphNode, 'pad')); break;
      case 'gap': ry = gapForward(rx); break;
      case 'mul': ry = add(mulForward(rx, values[n.inputs[1]!]!), mulForward(x, rv[n.inputs[1]!]!)); break;
      case 'add': ry = addForward(n.inputs.map((v) => rv[v]!)); break;
      case 'concat': ry = concatForward(n.inputs.map((v) => rv[v]!)); break;  // linear: R concat = concat of R inputs
      case 'crop': ry = cropForward(rx, attrValue(n as GraphNode, 'offset'), attrValue(n as GraphNode, 'fill') === 1); break;
      default: { const never: never = n.op; throw new ZennasError('E_INTERNAL', `no R-operator for op ${String(never)}`); }
    }
    rv.push(ry);
  });
  // R of the cross-entropy seed: ∂L/∂z = (p − onehot)/N → R = (p ⊙ Rz − p (p · Rz))/N per image.
  const out = net.outputs[0]!;
  const z = values[out]!, rz = rv[out]!;
  const K = z.c, N = z.n;
  const rg = values.map(zerosLike);
  for (let b = 0; b < N; b++) {
    let mx = -Infinity;
    for (let k = 0; k < K; k++) mx = Math.max(mx, z.data[b * K + k]!);
    const p = new Float64Array(K);
    let s = 0;
    for (let k = 0; k < K; k++) { p[k] = Math.exp(z.data[b * K + k]! - mx); s += p[k]!; }
    let pr = 0;
    for (let k = 0; k < K; k++) { p[k]! /= s; pr += p[k]! * rz.data[b * K + k]!; }
    for (let k = 0; k < K; k++) rg[out]!.data[b * K + k] = (p[k]! * (rz.data[b * K + k]! - pr)) / N;
  }
  const hv: NodeWeights[] = net.nodes.map(() => ({}));
  const into = (v: number, d: Tensor4) => { const a = rg[v]!; for (let j = 0; j < a.data.length; j++) a.data[j]! += d.data[j]!; };
  for (let i = net.nodes.length - 1; i >= 0; i--) {
    const n = net.nodes[i]!;
    const x = values[n.inputs[0]!]!, rx = rv[n.inputs[0]!]!;
    const gy = grads.values[i + 1]!, rgy = rg[i + 1]!;
    const W = weights[i] ?? {}, V = dir[i] ?? {};
    switch (n.op) {
      case 'conv': case 'dwconv': {
        const dw = n.op === 'dwconv';
        const d = attrValue(n as GraphNode, 'dilation');
        const a = convBackward(x, W.weight!, rgy, n.kernel, n.stride, dw, d);
        const b = convBackward(rx, V.weight ?? zeros(W.weight!.length), gy, n.kernel, n.stride, dw, d);
        into(n.inputs[0]!, add(a.dx, b.dx));
        hv[i] = { weight: addArr(a.dw, b.dw) };
        break;
      }
      case 'linear': {
        const a = linearBackward(x, W.weight!, rgy);
        const b = linearBackward(rx, V.weight ?? zeros(W.weight!.length), gy);
        into(n.inputs[0]!, add(a.dx, b.dx));
        hv[i] = attrValue(n as GraphNode, 'bias') === 1 ? { weight: addArr(a.dw, b.dw), bias: a.dbias } : { weight: addArr(a.dw, b.dw) };
        break;
      }
      case 'bn': {
        const r = bnR.get(i)!.rdx(gy, rgy);
        into(n.inputs[0]!, r.rdx);
        hv[i] = { gamma: r.rdgamma, beta: r.rdbeta };
        break;
      }
      case 'relu': case 'sigmoid': case 'swish': case 'hswish': case 'hsigmoid': case 'identity': case 'zero': {
        const d = elementwiseBackward(n.op, x, rgy);
        for (let j = 0; j < d.data.length; j++) d.data[j]! += second(n.op, x.data[j]!) * rx.data[j]! * gy.data[j]!;
        into(n.inputs[0]!, d);
        break;
      }
      case 'maxpool': into(n.inputs[0]!, maxPoolBackward(x, rgy, n.kernel, n.stride)); break;
      case 'avgpool': into(n.inputs[0]!, avgPoolBackward(x, rgy, n.kernel, n.stride, attrValue(n as GraphNode, 'countIncludePad') === 1, attrValue(n as GraphNode, 'pad'))); break;
      case 'gap': into(n.inputs[0]!, gapBackward(x, rgy)); break;
      case 'mul': {
        const gate = values[n.inputs[1]!]!, rgate = rv[n.inputs[1]!]!;
        const a = mulBackward(x, gate, rgy), b = mulBackward(rx, rgate, gy);
        into(n.inputs[0]!, add(a.dx, b.dx));
        into(n.inputs[1]!, add(a.dgate, b.dgate));
        break;
      }
      case 'add': n.inputs.forEach((v) => into(v, rgy)); break;
      case 'concat': concatBackward(n.inputs.map((v) => values[v]!), rgy).forEach((d, k) => into(n.inputs[k]!, d)); break;
      case 'crop': into(n.inputs[0]!, cropBackward(x, rgy, attrValue(n as GraphNode, 'offset'))); break;
      default: { const never: never = n.op; throw new ZennasError('E_INTERNAL', `no R-operator for op ${String(never)}`); }
    }
  }
  return hv;
}
