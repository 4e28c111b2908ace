/**
 * The ops of the op schema (src/ops/schema.ts) in float64, forward and vector-Jacobian product
 * (VJP), each written as its definition with plain loops. Tensors are NCHW; windows (conv, pools)
 * use padding (k − 1)/2 and PyTorch's output size. A VJP gets the input(s) of the forward, the
 * op's parameters and `gy` = ∂L/∂y, and returns ∂L/∂(each input) and ∂L/∂(each parameter).
 *
 * Shapes are not checked here: `inferGraph` (src/ops/graph.ts) validates a graph before
 * `referenceForward` / `referenceBackward` call these.
 */
import { convOutSize } from '../ops/schema';
import { Tensor4, float64Array, tensor, zerosLike } from './tensor';

// ---------------------------------------------------------------- CONV and DWCONV

/**
 * y[n][co][oh][ow] = Σ_{ci,kh,kw} w[co][ci][kh][kw] · x[n][ci][oh·s − p + d·kh][ow·s − p + d·kw] (zero
 * outside the image), p = d·(k − 1)/2. Depthwise: input channel ci = co and w is [C][1][k][k];
 * dilation d (DWCONV's attribute) is 1 for dense convs.
 */
export function convForward(x: Tensor4, w: Float64Array, cout: number, k: number, stride: number, depthwise: boolean, dilation = 1): Tensor4 {
  const extent = dilation * (k - 1) + 1, pad = (extent - 1) >> 1;
  const ho = convOutSize(x.h, extent, stride, pad), wo = convOutSize(x.w, extent, stride, pad);
  const y = tensor(x.n, cout, ho, wo);
  const cinPerGroup = depthwise ? 1 : x.c;
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      const yo = (n * cout + co) * ho * wo;
      for (let g = 0; g < cinPerGroup; g++) {
        const ci = depthwise ? co : g;
        const xo = (n * x.c + ci) * x.h * x.w;
        for (let kh = 0; kh < k; kh++) {
          for (let kw = 0; kw < k; kw++) {
            const wv = w[((co * cinPerGroup + g) * k + kh) * k + kw]!;
            for (let oh = 0; oh < ho; oh++) {
              const ih = oh * stride - pad + dilation * kh;
              if (ih < 0 || ih >= x.h) continue;
              for (let ow = 0; ow < wo; ow++) {
                const iw = ow * stride - pad + dilation * kw;
                if (iw < 0 || iw >= x.w) continue;
                y.data[yo + oh * wo + ow]! += wv * x.data[xo + ih * x.w + iw]!;
              }
            }
          }
        }
      }
    }
  }
  return y;
}

/** VJP of `convForward`: dx[n][ci][ih][iw] = Σ w·gy over the outputs that read it; dw = Σ_n,oh,ow gy·x. */
export function convBackward(x: Tensor4, w: Float64Array, gy: Tensor4, k: number, stride: number, depthwise: boolean, dilation = 1): { dx: Tensor4; dw: Float64Array } {
  const ho = gy.h, wo = gy.w, cout = gy.c;
  const pad = (dilation * (k - 1)) >> 1;
  const dx = zerosLike(x);
  const dw = float64Array(w.length);
  const cinPerGroup = depthwise ? 1 : x.c;
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      const yo = (n * cout + co) * ho * wo;
      for (let g = 0; g < cinPerGroup; g++) {
        const ci = depthwise ? co : g;
        const xo = (n * x.c + ci) * x.h * x.w;
        for (let kh = 0; kh < k; kh++) {
          for (let kw = 0; kw < k; kw++) {
            const wi = ((co * cinPerGroup + g) * k + kh) * k + kw;
            const wv = w[wi]!;
            for (let oh = 0; oh < ho; oh++) {
              const ih = oh * stride - pad + dilation * kh;
              if (ih < 0 || ih >= x.h) continue;
              for (let ow = 0; ow < wo; ow++) {
                const iw = ow * stride - pad + dilation * kw;
                if (iw < 0 || iw >= x.w) continue;
                const gv = gy.data[yo + oh * wo + ow]!;
                dw[wi]! += gv * x.data[xo + ih * x.w + iw]!;
                dx.data[xo + ih * x.w + iw]! += wv * gv;
              }
            }
          }
        }
      }
    }
  }
  return { dx, dw };
}

// ---------------------------------------------------------------- BN

/** Biased statistics of one BN group: per-channel mean and variance over count = (N/G)·H·W values. */
export interface BnGroupStats {
  mean: Float64Array;
  variance: Float64Array;
  count: number;
}

/**
 * Batch statistics per group: the N images are split into G consecutive groups of N/G images,
 * each with its own per-channel mean and biased variance over (images of the group, H, W).
 */
export function bnBatchStats(x: Tensor4, groups: number): BnGroupStats[] {
  const hw = x.h * x.w, per = x.n / groups, count = per * hw;
  const out: BnGroupStats[] = [];
  for (let g = 0; g < groups; g++) {
    const mean = new Float64Array(x.c), variance = new Float64Array(x.c);
    for (let c = 0; c < x.c; c++) {
      let s = 0;
      for (let n = g * per; n < (g + 1) * per; n++) { const o = (n * x.c + c) * hw; for (let i = 0; i < hw; i++) s += x.data[o + i]!; }
      const m = s / count;
      let v = 0;
      for (let n = g * per; n < (g + 1) * per; n++) { const o = (n * x.c + c) * hw; for (let i = 0; i < hw; i++) v += (x.data[o + i]! - m) ** 2; }
      mean[c] = m;
      variance[c] = v / count;
    }
    out.push({ mean, variance, count });
  }
  return out;
}

/** Training-mode BN: y = γ_c · (x − μ_gc)/√(σ²_gc + ε) + β_c with the statistics of x's group g. */
export function bnTrainForward(x: Tensor4, gamma: Float64Array, beta: Float64Array, eps: number, stats: BnGroupStats[]): Tensor4 {
  const hw = x.h * x.w, per = x.n / stats.length;
  const y = zerosLike(x);
  stats.forEach((st, g) => {
    for (let c = 0; c < x.c; c++) {
      const m = st.mean[c]!, inv = 1 / Math.sqrt(st.variance[c]! + eps);
      for (let n = g * per; n < (g + 1) * per; n++) {
        const o = (n * x.c + c) * hw;
        for (let i = 0; i < hw; i++) y.data[o + i] = gamma[c]! * ((x.data[o + i]! - m) * inv) + beta[c]!;
      }
    }
  });
  return y;
}

/**
 * VJP of training-mode BN through the batch statistics, per group and channel (m = count,
 * x̂ = (x − μ)/√(σ² + ε)): dx = γ/√(σ² + ε) · (gy − mean(gy) − x̂ · mean(gy · x̂));
 * dγ_c = Σ gy · x̂ and dβ_c = Σ gy over all groups.
 */
export function bnTrainBackward(x: Tensor4, gamma: Float64Array, eps: number, stats: BnGroupStats[], gy: Tensor4): { dx: Tensor4; dgamma: Float64Array; dbeta: Float64Array } {
  const hw = x.h * x.w, per = x.n / stats.length;
  const dx = zerosLike(x);
  const dgamma = new Float64Array(x.c), dbeta = new Float64Array(x.c);
  stats.forEach((st, g) => {
    for (let c = 0; c < x.c; c++) {
      const m = st.mean[c]!, inv = 1 / Math.sqrt(st.variance[c]! + eps);
      let sg = 0, sgx = 0;
      for (let n = g * per; n < (g + 1) * per; n++) {
        const o = (n * x.c + c) * hw;
        for (let i = 0; i < hw; i++) { sg += gy.data[o + i]!; sgx += gy.data[o + i]! * (x.data[o + i]! - m) * inv; }
      }
      dgamma[c]! += sgx;
      dbeta[c]! += sg;
      for (let n = g * per; n < (g + 1) * per; n++) {
        const o = (n * x.c + c) * hw;
        for (let i = 0; i < hw; i++) {
          const xhat = (x.data[o + i]! - m) * inv;
          dx.data[o + i] = gamma[c]! * inv * (gy.data[o + i]! - sg / st.count - xhat * sgx / st.count);
        }
      }
    }
  });
  return { dx, dgamma, dbeta };
}

/** Eval-mode BN with running statistics: y = γ_c · (x − mean_c)/√(var_c + ε) + β_c (constants: no batch dependence). */
export function bnEvalForward(x: Tensor4, gamma: Float64Array, beta: Float64Array, eps: number, mean: Float64Array, variance: Float64Array): Tensor4 {
  const hw = x.h * x.w;
  const y = zerosLike(x);
  for (let j = 0; j < x.data.length; j++) {
    const c = Math.floor(j / hw) % x.c;
    y.data[j] = gamma[c]! * ((x.data[j]! - mean[c]!) / Math.sqrt(variance[c]! + eps)) + beta[c]!;
  }
  return y;
}

/** VJP of eval-mode BN: dx = gy·γ/√(var + ε), dγ_c = Σ gy·(x − mean)/√(var + ε), dβ_c = Σ gy. */
export function bnEvalBackward(x: Tensor4, gamma: Float64Array, eps: number, mean: Float64Array, variance: Float64Array, gy: Tensor4): { dx: Tensor4; dgamma: Float64Array; dbeta: Float64Array } {
  const hw = x.h * x.w;
  const dx = zerosLike(x);
  const dgamma = new Float64Array(x.c), dbeta = new Float64Array(x.c);
  for (let j = 0; j < x.data.length; j++) {
    const c = Math.floor(j / hw) % x.c;
    const sd = Math.sqrt(variance[c]! + eps);
    dx.data[j] = gy.data[j]! * gamma[c]! / sd;
    dgamma[c]! += gy.data[j]! * (x.data[j]! - mean[c]!) / sd;
    dbeta[c]! += gy.data[j]!;
  }
  return { dx, dgamma, dbeta };
}

// ---------------------------------------------------------------- elementwise

/** The logistic function 1/(1 + e^−v). */
export function sigmoid(v: number): number {
  return 1 / (1 + Math.exp(-v));
}

function map(x: Tensor4, f: (v: number) => number): Tensor4 {
  const y = zerosLike(x);
  for (let i = 0; i < x.data.length; i++) y.data[i] = f(x.data[i]!);
  return y;
}

/** gy · f'(x), elementwise. */
function mapBackward(x: Tensor4, gy: Tensor4, df: (v: number) => number): Tensor4 {
  const dx = zerosLike(x);
  for (let i = 0; i < x.data.length; i++) dx.data[i] = gy.data[i]! * df(x.data[i]!);
  return dx;
}

/** Forward of the one-input elementwise ops. */
/** The one-input elementwise ops. */
export type ElementwiseOp = 'relu' | 'sigmoid' | 'swish' | 'hswish' | 'hsigmoid' | 'identity' | 'zero';

/** Hard-sigmoid min(max(x + 3, 0), 6)/6 (PyTorch Hardsigmoid). */
function hsigmoid(v: number): number {
  return Math.min(Math.max(v + 3, 0), 6) / 6;
}

export function elementwiseForward(op: ElementwiseOp, x: Tensor4): Tensor4 {
  switch (op) {
    case 'relu': return map(x, (v) => (v > 0 ? v : 0));
    case 'sigmoid': return map(x, sigmoid);
    case 'swish': return map(x, (v) => v * sigmoid(v));
    case 'hswish': return map(x, (v) => v * hsigmoid(v));
    case 'hsigmoid': return map(x, hsigmoid);
    case 'identity': return map(x, (v) => v);
    case 'zero': return zerosLike(x);
  }
}

/**
 * VJP of the one-input elementwise ops: ReLU' = 1 for x > 0, else 0 (0 at x = 0, as PyTorch);
 * σ' = σ(1 − σ); swish' = σ + x·σ(1 − σ); identity' = 1; zero' = 0; PyTorch's hard rules:
 * hswish' = 0 (x ≤ −3), x/3 + ½ (−3 < x < 3), 1 (x ≥ 3); hsigmoid' = 1/6 on (−3, 3), else 0.
 */
export function elementwiseBackward(op: ElementwiseOp, x: Tensor4, gy: Tensor4): Tensor4 {
  switch (op) {
    case 'relu': return mapBackward(x, gy, (v) => (v > 0 ? 1 : 0));
    case 'sigmoid': return mapBackward(x, gy, (v) => sigmoid(v) * (1 - sigmoid(v)));
    case 'swish': return mapBackward(x, gy, (v) => sigmoid(v) + v * sigmoid(v) * (1 - sigmoid(v)));
    case 'hswish': return mapBackward(x, gy, (v) => (v <= -3 ? 0 : v < 3 ? v / 3 + 0.5 : 1));
    case 'hsigmoid': return mapBackward(x, gy, (v) => (v > -3 && v < 3 ? 1 / 6 : 0));
    case 'identity': return mapBackward(x, gy, () => 1);
    case 'zero': return zerosLike(x);
  }
}

// ---------------------------------------------------------------- pools

/**
 * Index in x.data of the maximum of window (image-channel nc, output oh, ow): the first maximum
 * in row-major window order (PyTorch's tie rule). Padding is −∞, so it is never chosen (the
 * window centre is always inside the image).
 */
function windowArgmax(x: Tensor4, nc: number, oh: number, ow: number, k: number, stride: number): number {
  const pad = (k - 1) >> 1;
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
  return best;
}

/** k×k max pool, stride, padding (k − 1)/2 with −∞. */
export function maxPoolForward(x: Tensor4, k: number, stride: number): Tensor4 {
  const ho = convOutSize(x.h, k, stride), wo = convOutSize(x.w, k, stride);
  const y = tensor(x.n, x.c, ho, wo);
  for (let nc = 0; nc < x.n * x.c; nc++)
    for (let oh = 0; oh < ho; oh++)
      for (let ow = 0; ow < wo; ow++) y.data[(nc * ho + oh) * wo + ow] = x.data[windowArgmax(x, nc, oh, ow, k, stride)]!;
  return y;
}

/** VJP of max pool: each output's gradient goes to its window's first maximum. */
export function maxPoolBackward(x: Tensor4, gy: Tensor4, k: number, stride: number): Tensor4 {
  const dx = zerosLike(x);
  for (let nc = 0; nc < x.n * x.c; nc++)
    for (let oh = 0; oh < gy.h; oh++)
      for (let ow = 0; ow < gy.w; ow++) dx.data[windowArgmax(x, nc, oh, ow, k, stride)]! += gy.data[(nc * gy.h + oh) * gy.w + ow]!;
  return dx;
}

/** Divisor of an average-pool window: k² when padding counts (PyTorch's default), else the in-bounds elements. */
function avgDivisor(x: Tensor4, oh: number, ow: number, k: number, stride: number, countIncludePad: boolean, pad: number): number {
  if (countIncludePad) return k * k;  // windows never pass the padded border (pad ≤ k/2, floor mode): PyTorch's k²
  let rows = 0, cols = 0;
  for (let kh = 0; kh < k; kh++) { const ih = oh * stride - pad + kh; if (ih >= 0 && ih < x.h) rows++; }
  for (let kw = 0; kw < k; kw++) { const iw = ow * stride - pad + kw; if (iw >= 0 && iw < x.w) cols++; }
  return rows * cols;
}

/** k×k average pool, stride, padding `pad` ((k − 1)/2 unless given) with zeros; divides by k² or by the in-bounds count. */
export function avgPoolForward(x: Tensor4, k: number, stride: number, countIncludePad: boolean, pad: number = (k - 1) >> 1): Tensor4 {
  const ho = convOutSize(x.h, k, stride, pad), wo = convOutSize(x.w, k, stride, pad);
  const y = tensor(x.n, x.c, ho, wo);
  for (let nc = 0; nc < x.n * x.c; nc++) {
    for (let oh = 0; oh < ho; oh++) {
      for (let ow = 0; ow < wo; ow++) {
        let s = 0;
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * stride - pad + kh;
          if (ih < 0 || ih >= x.h) continue;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * stride - pad + kw;
            if (iw < 0 || iw >= x.w) continue;
            s += x.data[(nc * x.h + ih) * x.w + iw]!;
          }
        }
        y.data[(nc * ho + oh) * wo + ow] = s / avgDivisor(x, oh, ow, k, stride, countIncludePad, pad);
      }
    }
  }
  return y;
}

/** VJP of average pool: every in-bounds element of a window gets gy / divisor. */
export function avgPoolBackward(x: Tensor4, gy: Tensor4, k: number, stride: number, countIncludePad: boolean, pad: number = (k - 1) >> 1): Tensor4 {
  const dx = zerosLike(x);
  for (let nc = 0; nc < x.n * x.c; nc++) {
    for (let oh = 0; oh < gy.h; oh++) {
      for (let ow = 0; ow < gy.w; ow++) {
        const g = gy.data[(nc * gy.h + oh) * gy.w + ow]! / avgDivisor(x, oh, ow, k, stride, countIncludePad, pad);
        for (let kh = 0; kh < k; kh++) {
          const ih = oh * stride - pad + kh;
          if (ih < 0 || ih >= x.h) continue;
          for (let kw = 0; kw < k; kw++) {
            const iw = ow * stride - pad + kw;
            if (iw < 0 || iw >= x.w) continue;
            dx.data[(nc * x.h + ih) * x.w + iw]! += g;
          }
        }
      }
    }
  }
  return dx;
}

/** Global average pool: y[n][c] = mean over H×W. */
export function gapForward(x: Tensor4): Tensor4 {
  const hw = x.h * x.w;
  const y = tensor(x.n, x.c, 1, 1);
  for (let nc = 0; nc < x.n * x.c; nc++) {
    let s = 0;
    for (let j = 0; j < hw; j++) s += x.data[nc * hw + j]!;
    y.data[nc] = s / hw;
  }
  return y;
}

/** VJP of GAP: dx[n][c][h][w] = gy[n][c] / (H·W). */
export function gapBackward(x: Tensor4, gy: Tensor4): Tensor4 {
  const hw = x.h * x.w;
  const dx = zerosLike(x);
  for (let nc = 0; nc < x.n * x.c; nc++) for (let j = 0; j < hw; j++) dx.data[nc * hw + j] = gy.data[nc]! / hw;
  return dx;
}

// ---------------------------------------------------------------- LINEAR, MUL, ADD

/** y[n][co] = Σ_ci w[co][ci] · x[n][ci] (+ bias[co]) on [N][cin][1][1]. */
export function linearForward(x: Tensor4, w: Float64Array, bias: Float64Array | null, cout: number): Tensor4 {
  const cin = x.c;
  const y = tensor(x.n, cout, 1, 1);
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      let s = 0;
      for (let ci = 0; ci < cin; ci++) s += w[co * cin + ci]! * x.data[n * cin + ci]!;
      y.data[n * cout + co] = bias ? s + bias[co]! : s;
    }
  }
  return y;
}

/** VJP of LINEAR: dx[n][ci] = Σ_co w[co][ci]·gy[n][co], dw[co][ci] = Σ_n gy[n][co]·x[n][ci], dbias[co] = Σ_n gy[n][co]. */
export function linearBackward(x: Tensor4, w: Float64Array, gy: Tensor4): { dx: Tensor4; dw: Float64Array; dbias: Float64Array } {
  const cin = x.c, cout = gy.c;
  const dx = zerosLike(x);
  const dw = float64Array(w.length), dbias = new Float64Array(cout);
  for (let n = 0; n < x.n; n++) {
    for (let co = 0; co < cout; co++) {
      const g = gy.data[n * cout + co]!;
      dbias[co]! += g;
      for (let ci = 0; ci < cin; ci++) {
        dw[co * cin + ci]! += g * x.data[n * cin + ci]!;
        dx.data[n * cin + ci]! += w[co * cin + ci]! * g;
      }
    }
  }
  return { dx, dw, dbias };
}

/** y = x ⊙ gate, gate [N][C][1][1] broadcast over H×W. */
export function mulForward(x: Tensor4, gate: Tensor4): Tensor4 {
  const hw = x.h * x.w;
  const y = zerosLike(x);
  for (let nc = 0; nc < x.n * x.c; nc++) for (let j = 0; j < hw; j++) y.data[nc * hw + j] = x.data[nc * hw + j]! * gate.data[nc]!;
  return y;
}

/** VJP of MUL: dx = gy · gate, dgate[n][c] = Σ_hw gy · x. */
export function mulBackward(x: Tensor4, gate: Tensor4, gy: Tensor4): { dx: Tensor4; dgate: Tensor4 } {
  const hw = x.h * x.w;
  const dx = zerosLike(x), dgate = zerosLike(gate);
  for (let nc = 0; nc < x.n * x.c; nc++) {
    for (let j = 0; j < hw; j++) {
      dx.data[nc * hw + j] = gy.data[nc * hw + j]! * gate.data[nc]!;
      dgate.data[nc]! += gy.data[nc * hw + j]! * x.data[nc * hw + j]!;
    }
  }
  return { dx, dgate };
}

/** y = x₀ + x₁ + … (inputs of one shape, summed in input order). */
export function addForward(xs: readonly Tensor4[]): Tensor4 {
  const y = zerosLike(xs[0]!);
  y.data.set(xs[0]!.data);
  for (let k = 1; k < xs.length; k++) for (let j = 0; j < y.data.length; j++) y.data[j]! += xs[k]!.data[j]!;
  return y;
}
/** CROP: y = x[:, :, o:, o:]; with fill, zero-padded back to H×W at the bottom and right. */
export function cropForward(x: Tensor4, o: number, fill = false): Tensor4 {
  const y = fill ? tensor(x.n, x.c, x.h, x.w) : tensor(x.n, x.c, x.h - o, x.w - o);
  for (let nc = 0; nc < x.n * x.c; nc++)
    for (let i = 0; i < x.h - o; i++)
      for (let j = 0; j < x.w - o; j++) y.data[(nc * y.h + i) * y.w + j] = x.data[(nc * x.h + i + o) * x.w + j + o]!;
  return y;
}

/** VJP of CROP: gy goes back to the kept positions, 0 to the dropped rows and columns (and nothing from the fill). */
export function cropBackward(x: Tensor4, gy: Tensor4, o: number): Tensor4 {
  const dx = zerosLike(x);
  for (let nc = 0; nc < x.n * x.c; nc++)
    for (let i = 0; i < x.h - o; i++)
      for (let j = 0; j < x.w - o; j++) dx.data[(nc * x.h + i + o) * x.w + j + o] = gy.data[(nc * gy.h + i) * gy.w + j]!;
  return dx;
}

/** CONCAT along channels, in input order (every input of one N, H, W). */
export function concatForward(xs: readonly Tensor4[]): Tensor4 {
  const x0 = xs[0]!, hw = x0.h * x0.w;
  const c = xs.reduce((a, x) => a + x.c, 0);
  const y = tensor(x0.n, c, x0.h, x0.w);
  for (let n = 0; n < x0.n; n++) {
    let off = 0;
    for (const x of xs) {
      y.data.set(x.data.subarray(n * x.c * hw, (n + 1) * x.c * hw), (n * c + off) * hw);
      off += x.c;
    }
  }
  return y;
}

/** VJP of CONCAT: input k gets its channel slice of gy. */
export function concatBackward(xs: readonly Tensor4[], gy: Tensor4): Tensor4[] {
  const hw = gy.h * gy.w;
  let off = 0;
  return xs.map((x) => {
    const dx = zerosLike(x);
    for (let n = 0; n < x.n; n++) dx.data.set(gy.data.subarray((n * gy.c + off) * hw, (n * gy.c + off + x.c) * hw), n * x.c * hw);
    off += x.c;
    return dx;
  });
}

// VJP of ADD: every input gets gy (referenceBackward adds it to each input's gradient).
