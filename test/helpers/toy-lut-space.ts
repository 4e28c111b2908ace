/**
 * A made-up LUT-able space for the latency-table tests (test/search-hardcore.test.ts,
 * test/lut-correction.test.ts): 3 stages of depth 1..3, four block configurations (0..3, heavier
 * with the index), a key 'a.b|c|d.e.f'. Its fake runtime measures a block as blockMs (the table's
 * entries) and a whole net by the test's own law (what a table cannot see). No native code.
 */
import { ZennasError } from '../../src/errors';
import { registerSpace, SearchSpace } from '../../src/spaces';
import { LatencyContext, LutNet, LutRuntime, LutSpace } from '../../src/lut';

/** A toy net: per stage, the configuration index of each block. */
export type Toy = number[][];

export const encode = (g: Toy) => g.map((b) => b.join('.')).join('|');
/** A block's latency: the table's entry for (stage, position, configuration). */
export const blockMs = (s: number, j: number, c: number) => 1 + 0.5 * c + 0.2 * s + 0.05 * j;
export const CTX: LatencyContext = { unit: 'ms', batchSize: 1, precision: 'fp32', runtime: 'onnxruntime', runtimeVersion: 'fake 1', hardware: 'fake CPU', threads: 1, clock: 'wall' };

export interface ToyLutSpaceOptions {
  /** The space's id (LutSpace and SearchSpace). */
  id: string;
  title: string;
  /** Names of the four configurations 0..3. */
  configs: string[];
  /** The fake runtime's measurement of a whole net. */
  wholeMs: (g: Toy) => number;
  /** decode refuses a key that is not a toy net (E_PARSE); otherwise it splits without checking. */
  strictDecode: boolean;
}

export interface ToyLutSpace {
  toyLut: LutSpace<Toy>;
  toySpace: SearchSpace<Toy>;
  decode: (k: string) => Toy;
  /** A fresh fake runtime; `measured` counts its whole-net measurements. */
  fakeRuntime: () => LutRuntime & { measured: number };
}

/** The toy space under `o.id`, registered (registerSpace) so that runSearch finds it. */
export function registerToyLutSpace(o: ToyLutSpaceOptions): ToyLutSpace {
  if (o.configs.length !== 4) throw new Error(`the toy space has four configurations, got ${o.configs.length}`);
  const toyLut: LutSpace<Toy> = {
    id: o.id, variant: 'v', configs: o.configs,
    stages: () => [0, 1, 2].map((s) => ({ minDepth: 1, maxDepth: 3, slots: [0, 1, 2].map((j) => ({ stage: s, position: j, inputChannels: 8, outputChannels: 8, stride: 1, inputResolution: 8 })) })),
    toChoices: (g) => ({ depths: g.map((b) => b.length), configs: g.map((b) => [...b]) }),
    fromChoices: (c) => c.configs.map((b) => [...b]),
    blockNet: (slot, config): LutNet => ({ descriptor: Int32Array.of(slot.stage, slot.position, config), inputChannels: 8, inputResolution: 8 }),
    blockCost: (_s, config) => ({ params: 10 * (config + 1), flops: 100 * (config + 1) ** 2 }),
    fixedNets: () => [{ name: 'fixed', descriptor: Int32Array.of(-1), inputChannels: 3, inputResolution: 8 }],
    net: (g) => ({ descriptor: Int32Array.of(-2, ...g.map((b) => b.length), ...g.flat()), inputChannels: 3, inputResolution: 8 }),
  };
  const decode = (k: string): Toy => {
    const g = k.split('|').map((b) => b.split('.').map(Number));
    if (o.strictDecode && (g.length !== 3 || g.some((b) => b.length < 1 || b.length > 3 || b.some((c) => !Number.isInteger(c) || c < 0 || c > 3)))) {
      throw new ZennasError('E_PARSE', `not a toy net: ${k}`);
    }
    return g;
  };
  function fakeRuntime(): LutRuntime & { measured: number } {
    const rt = {
      context: CTX, measured: 0,
      async measure(net: LutNet) {
        const d = [...net.descriptor];
        let ms: number;
        if (d[0] === -2) {
          rt.measured++;
          let at = 4;
          ms = o.wholeMs(d.slice(1, 4).map((n) => { const b = d.slice(at, at + n); at += n; return b; }));
        } else ms = net.inputResolution === 1 ? 0 : d[0] === -1 ? 2 : blockMs(d[0]!, d[1]!, d[2]!);
        return { medianMs: ms, p90Ms: ms, minMs: ms };
      },
      close() {},
    };
    return rt;
  }
  const toySpace: SearchSpace<Toy> = {
    id: o.id, title: o.title, description: 'three stages of up to three blocks, four configurations', supportsSe: false, defaultPreset: 'v',
    presets: { v: { name: 'v', description: 'v', initial: '0|0|0', resolution: 8, batchSize: 1, numClasses: 0, maxLayers: 100, iterations: 100 } },
    encode, decode, check: () => undefined,
    count: (g) => ({ params: g.flat().reduce((a, c) => a + 10 * (c + 1), 0), flops: g.flat().reduce((a, c) => a + 100 * (c + 1) ** 2, 0), layers: g.flat().length }),
    lower: (g) => Int32Array.from(g.flat()),
    mutate(parent, ctx) {
      const g = parent.map((b) => [...b]);
      for (let n = 0; n < ctx.changes; n++) {
        const s = ctx.rng.int(3);
        const r = ctx.rng.next();
        if (r < 0.3 && g[s]!.length < 3) g[s]!.push(ctx.rng.int(4));
        else if (r < 0.4 && g[s]!.length > 1) g[s]!.pop();
        else g[s]![ctx.rng.int(g[s]!.length)] = ctx.rng.int(4);
      }
      return g;
    },
  };
  registerSpace(toySpace);
  return { toyLut, toySpace, decode, fakeRuntime };
}
