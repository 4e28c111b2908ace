/**
 * Loss heads of the float64 reference: a scalar loss of `outputs[0]` and its gradient (the seed
 * of the reverse pass), and `referenceLossGradients`, which runs forward, head and backward.
 */
import { ZennasError } from '../errors';
import { ForwardOptions, ForwardResult, Gradients, ReferenceNet, ReferenceWeights, referenceBackward, referenceForward } from './graph';
import { Tensor4, zerosLike } from './tensor';

/** A loss value and its gradient wrt the head's input. */
export interface HeadResult {
  loss: number;
  grad: Tensor4;
}

/** Which loss `referenceLossGradients` puts on outputs[0]. */
export type LossHead =
  | { kind: 'sum' }
  /** Softmax cross-entropy, mean over the batch; `labels[n]` is image n's class in 0..classes−1. */
  | { kind: 'crossEntropy'; labels: ArrayLike<number> };

/** L = Σ y over every element; ∂L/∂y = 1. */
export function sumHead(y: Tensor4): HeadResult {
  let loss = 0;
  for (const v of y.data) loss += v;
  const grad = zerosLike(y);
  grad.data.fill(1);
  return { loss, grad };
}

/**
 * Softmax cross-entropy on logits [N][classes][1][1]: L = (1/N) Σ_n (log Σ_k e^{z_nk} − z_n,label),
 * ∂L/∂z_nk = (softmax(z_n)_k − [k = label_n]) / N. Log-sum-exp subtracts the row maximum.
 */
export function crossEntropyHead(logits: Tensor4, labels: ArrayLike<number>): HeadResult {
  if (logits.h !== 1 || logits.w !== 1) throw new ZennasError('E_STRUCTURE', `cross-entropy needs logits [N][classes][1][1], got spatial ${logits.h}×${logits.w}`);
  const N = logits.n, K = logits.c;
  if (labels.length !== N) throw new ZennasError('E_OPTION', `${labels.length} labels for a batch of ${N}`);
  const grad = zerosLike(logits);
  let loss = 0;
  for (let n = 0; n < N; n++) {
    const label = labels[n]!;
    if (!Number.isInteger(label) || label < 0 || label >= K) throw new ZennasError('E_OPTION', `label ${label} of image ${n} is not a class in 0..${K - 1}`);
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logits.data[n * K + k]!);
    let sum = 0;
    for (let k = 0; k < K; k++) sum += Math.exp(logits.data[n * K + k]! - max);
    loss += max + Math.log(sum) - logits.data[n * K + label]!;
    for (let k = 0; k < K; k++) grad.data[n * K + k] = (Math.exp(logits.data[n * K + k]! - max) / sum - (k === label ? 1 : 0)) / N;
  }
  return { loss: loss / N, grad };
}

/** The loss of `head` on `y` and its gradient. */
export function applyHead(head: LossHead, y: Tensor4): HeadResult {
  return head.kind === 'sum' ? sumHead(y) : crossEntropyHead(y, head.labels);
}

/** Forward, loss head on outputs[0], backward: the loss, the forward and every gradient. */
export function referenceLossGradients(
  net: ReferenceNet, weights: ReferenceWeights, x: Tensor4, head: LossHead, options: ForwardOptions = {},
): { loss: number; forward: ForwardResult; gradients: Gradients } {
  const forward = referenceForward(net, weights, x, options);
  const h = applyHead(head, forward.outputs[0]!);
  return { loss: h.loss, forward, gradients: referenceBackward(net, weights, forward, [h.grad]) };
}
