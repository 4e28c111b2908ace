/**
 * The weights of an exported network: the engine's own Philox N(0,1) draws (native/DESCRIPTOR.md
 * "Random numbers"): the weights of node i (CONV, DWCONV, LINEAR) are stream `weightStream(i)`,
 * repeat `repeat`, row-major OIHW / [cout][cin]. A LINEAR bias and BN's γ, β are not drawn (0, 1, 0
 * at initialisation), so they are absent here and the exporter writes their initial values.
 *
 * The values are the native float32 fill (float32 of src/rng/philox.ts `gaussianTensor`, which
 * test/engine.test.ts pins), ~50× faster than the TypeScript generator on 100M-weight nets.
 */
import { DecodedNode } from '../ops/descriptor';
import { ZennasError } from '../errors';
import { weightStream } from '../rng/philox';
import { opWeightCount } from '../ops/schema';
import { loadNative } from '../engine/native';

/** Number of drawn weights of a node: CONV cout·cin·k², DWCONV C·k², LINEAR cout·cin (its bias is not drawn); 0 otherwise. */
export function drawnWeightCount(n: Pick<DecodedNode, 'op' | 'cin' | 'cout' | 'kernel'>): number {
  return opWeightCount(n); // the schema's counting rule
}

/** Weights of the nodes of a network, by node index (null for nodes without drawn weights). */
export function drawWeights(
  net: { nodes: ReadonlyArray<Pick<DecodedNode, 'op' | 'cin' | 'cout' | 'kernel'>> }, seed: number, repeat = 0,
  onProgress?: (drawn: number, total: number) => void,
): ({ weight: Float32Array } | null)[] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new ZennasError('E_OPTION', `seed must be an integer in [0, 2^53), got ${seed}`);
  const native = loadNative();
  const CHUNK = 1 << 26; // the native fill's per-call limit
  const total = onProgress ? net.nodes.reduce((a, node) => a + drawnWeightCount(node), 0) : 0;
  let drawn = 0;
  return net.nodes.map((node, i) => {
    const n = drawnWeightCount(node);
    if (n === 0) return null;
    const w = new Float32Array(n);
    for (let b = 0; b < n; b += CHUNK) {
      w.set(native._gaussian(seed, weightStream(i), repeat, b, Math.min(n, b + CHUNK)), b);
      drawn += Math.min(n, b + CHUNK) - b;
      onProgress?.(drawn, total);
    }
    return { weight: w };
  });
}
