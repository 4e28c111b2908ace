/**
 * The float64 reference (the test oracle of the native engine), on v2 graphs:
 *
 * - `referenceForward(net, weights, x, { bnEps, bnGroups, bn })` → every value and the BN batch statistics;
 * - `referenceBackward(net, weights, forward, outputGrads)` → ∂L/∂x, ∂L/∂(every value), ∂L/∂(every weight);
 * - loss heads `sumHead`, `crossEntropyHead` and `referenceLossGradients` (forward + head + backward);
 * - `referenceWeights(net, seed, repeat)`, `referenceInput(...)`: the Philox draws of native/DESCRIPTOR.md;
 * - `zenScoreReference(descriptorOrGraph, options)` and `zenRepeat(...)`: the Zen-score (paper / official).
 *
 * Per-op forward and VJP functions are in ./ops.
 */
export * from './zen-reference';
export * from './build';
