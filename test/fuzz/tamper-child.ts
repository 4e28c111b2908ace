/**
 * Child process of test/fuzz-engine.test.ts: tampered descriptors (word flips, truncations,
 * extensions of valid v2 descriptors) through every engine call, under a small process memory
 * budget (ZENNAS_MEMORY_LIMIT, set by the parent) so that a tampered width cannot take the
 * machine. Each case is written to $ZENNAS_FUZZ_CASE before it runs: if the process dies (a
 * crash), the parent prints the case. Prints one JSON line: the failure, or counts per code.
 */
import fc from 'fast-check';
import * as fs from 'fs';
import { Engine, ENGINE_PROXIES } from '../../src/engine/engine';
import { arbGraph, arbTamper, tamper } from './graphs';
import { settle, violation } from './check';

const seed = Number(process.argv[2]);
const numRuns = Number(process.argv[3]);
const caseFile = process.env.ZENNAS_FUZZ_CASE;
const PROXIES = Object.keys(ENGINE_PROXIES) as (keyof typeof ENGINE_PROXIES)[];

/** The small options a proxy takes (its table keys decide), with the signal. */
function proxyOptions(proxy: keyof typeof ENGINE_PROXIES, base: { batchSize: number; resolution: number }, signal: AbortSignal): Record<string, unknown> {
  const keys = ENGINE_PROXIES[proxy].keys;
  return { resolution: base.resolution, signal, ...(keys.includes('batchSize') ? { batchSize: base.batchSize } : {}), ...(keys.includes('numBatches') ? { numBatches: 2 } : {}) };
}

async function main(): Promise<unknown> {
  const engine = new Engine({ threads: 1 });
  const codes: Record<string, number> = {};
  try {
    await fc.assert(
      fc.asyncProperty(arbGraph(10), arbTamper, fc.constantFrom(...PROXIES, 'latency', 'bnStatistics'), fc.integer({ min: 1, max: 3 }), async (g, tp, call, batchSize) => {
        const d = tamper(g.d, tp);
        if (caseFile) fs.writeFileSync(caseFile, JSON.stringify({ call, batchSize, resolution: g.resolution, words: Array.from(d) }));
        const base = { batchSize, resolution: Math.min(g.resolution, 6) };
        // An AbortSignal bounds a call whose tampered widths make it slow (cancellation is checked between repeats).
        const signal = AbortSignal.timeout(3000);
        const o = await settle(() =>
          call === 'latency' ? engine.latency(d, { ...base, warmup: 0, iterations: 1 })
            : call === 'bnStatistics' ? engine.bnStatistics(d, base)
              : call === 'zen' ? engine.zenScore(d, { ...base, signal })
                : engine.run(call as 'zen', d, proxyOptions(call, base, signal) as never));
        const why = violation(o);
        if (why) throw new Error(`${call}: ${why}`);
        const key = o.ok ? 'ok' : (o.error as { code: string }).code;
        codes[key] = (codes[key] ?? 0) + 1;
      }),
      { seed, numRuns },
    );
    return { ok: true, codes };
  } catch (e) {
    return { ok: false, message: e instanceof Error ? e.message : String(e), codes };
  } finally {
    engine.close();
  }
}

main().then((r) => { process.stdout.write(JSON.stringify(r) + '\n'); });
