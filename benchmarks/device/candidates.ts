/**
 * Candidates/s of a real Zen-NAS search (src/search runSearch: mutation, budgets, the evaluator
 * with several candidates in flight) over Search Space I, CIFAR preset (32×32, batch 64, 1 repeat,
 * params ≤ 1M, ≤ 18 layers), per backend and in-flight count. Each run opens a fresh engine (no
 * plan cache carried over) and uses the same seed, so every in-flight count scores the same
 * candidates; a run stops at the first batch boundary after its time share (AbortSignal).
 *
 * Env: KIT_CANDIDATES (iterations per run, default 256 on CUDA, 24 on the CPU),
 * KIT_IN_FLIGHT (default "1,4,8"), KIT_CPU_IN_FLIGHT (default "2"), KIT_CANDIDATE_BACKENDS
 * ("cuda,cpu"), KIT_STAGE_SECONDS (the stage's time limit; runs share it).
 */
import { backends } from '../../src/engine/engine';
import { runSearch, searchConfig, engineScorer, openEngine, buildSummary } from '../../src/search';

export interface CandidateRun {
  backend: 'cuda' | 'cpu';
  inFlight: number;
  iterations: number;
  iterationsDone: number;
  scored: number;
  rejected: number;
  failed: number;
  complete: boolean;
  wallSeconds: number;
  candidatesPerSecond: number;
  engineMsPerCandidate: number;
  tsShare: number;
  bestScore: number | null;
  error?: string;
}

export interface CandidatesResult {
  status: 'ok' | 'fail' | 'skip';
  message: string;
  runs: CandidateRun[];
  cuda: { available: boolean; reason?: string; device?: string };
}

const list = (s: string | undefined, dflt: string) => (s ?? dflt).split(',').map((x) => x.trim()).filter(Boolean);

export async function runCandidates(opts: { dryRun: boolean; log: (line: string) => void }): Promise<CandidatesResult> {
  const info = backends() as { cuda: boolean; cudaReason?: string; device?: string };
  const wanted = list(process.env.KIT_CANDIDATE_BACKENDS, 'cuda,cpu') as ('cuda' | 'cpu')[];
  const plan: { backend: 'cuda' | 'cpu'; inFlight: number; iterations: number }[] = [];
  for (const backend of wanted) {
    if (backend === 'cuda' && !info.cuda) continue;
    const inFlights = list(backend === 'cuda' ? process.env.KIT_IN_FLIGHT : process.env.KIT_CPU_IN_FLIGHT, backend === 'cuda' ? '1,4,8' : '2').map(Number);
    const iterations = Number(process.env.KIT_CANDIDATES ?? (backend === 'cuda' ? 256 : 24));
    for (const inFlight of inFlights) plan.push({ backend, inFlight, iterations });
  }
  const stageSeconds = Number(process.env.KIT_STAGE_SECONDS ?? 60);
  // Time share of one run: what is left of the stage (less a margin for start-up and the report),
  // split over the runs; CUDA runs get 3 shares each, the CPU reference runs 1.
  const weights = plan.map((p) => (p.backend === 'cuda' ? 3 : 1));
  const budget = Math.max(5, stageSeconds - 15);
  const runs: CandidateRun[] = [];
  for (const [i, p] of plan.entries()) {
    const share = (budget * weights[i]!) / weights.reduce((a, b) => a + b, 0);
    const config = searchConfig({
      space: 'I', preset: 'cifar', iterations: p.iterations, inFlight: p.inFlight, seed: 1,
      scoring: { proxy: 'zen', batchSize: 64, repeats: 1, mode: 'paper', bnEps: 1e-5, alpha: 0.01, backend: p.backend },
    });
    const engine = openEngine(p.backend);
    const t0 = process.hrtime.bigint();
    try {
      const r = await runSearch(config, {
        scorer: engineScorer(engine, { batchSize: 64, resolution: 32, repeats: 1, seed: config.seed, mode: 'paper', alpha: 0.01, bnEps: 1e-5 }),
        signal: AbortSignal.timeout(Math.round(share * 1000)),
      });
      const s = buildSummary(r);
      const run: CandidateRun = {
        backend: p.backend, inFlight: p.inFlight, iterations: p.iterations, iterationsDone: s.iterationsDone,
        scored: s.counts.scored, rejected: s.counts.rejected.params + s.counts.rejected.flops + s.counts.rejected.layers + s.counts.rejected.latency,
        failed: s.counts.failed, complete: s.complete, wallSeconds: s.timing.wallSeconds,
        candidatesPerSecond: s.timing.candidatesPerSecond, engineMsPerCandidate: s.timing.engineMsPerCandidate, tsShare: s.timing.tsShare,
        bestScore: s.best ? s.best.score : null,
      };
      runs.push(run);
      opts.log(`  ${p.backend.padEnd(4)} in flight ${String(p.inFlight).padStart(2)}: ${run.candidatesPerSecond.toFixed(1).padStart(8)} candidates/s ` +
        `(${run.scored} scored in ${run.wallSeconds.toFixed(2)} s, ${run.engineMsPerCandidate.toFixed(1)} ms engine each, ${run.failed} failed` +
        `${run.complete ? '' : `, stopped at ${run.iterationsDone}/${run.iterations} by the time share`})`);
    } catch (e) {
      const msg = `${(e as { code?: string }).code ? `[${(e as { code?: string }).code}] ` : ''}${(e as Error).message ?? e}`;
      runs.push({
        backend: p.backend, inFlight: p.inFlight, iterations: p.iterations, iterationsDone: 0, scored: 0, rejected: 0, failed: 0, complete: false,
        wallSeconds: Number(process.hrtime.bigint() - t0) / 1e9, candidatesPerSecond: 0, engineMsPerCandidate: 0, tsShare: 0, bestScore: null, error: msg,
      });
      opts.log(`  ${p.backend.padEnd(4)} in flight ${String(p.inFlight).padStart(2)}: FAILED ${msg}`);
    } finally {
      engine.close();
    }
  }
  const cuda = { available: info.cuda, ...(info.cudaReason ? { reason: info.cudaReason } : {}), ...(info.device ? { device: info.device } : {}) };
  const broken = runs.filter((r) => r.error || r.failed > 0 || r.scored === 0);
  if (broken.length) return { status: 'fail', message: `${broken.length} of ${runs.length} runs failed or scored nothing: ${broken.map((r) => `${r.backend}×${r.inFlight}: ${r.error ?? `${r.failed} failed, ${r.scored} scored`}`).join('; ')}`, runs, cuda };
  const fmt = (b: string) => runs.filter((r) => r.backend === b).map((r) => `${r.inFlight}→${r.candidatesPerSecond.toFixed(1)}`).join(', ');
  const parts = [info.cuda ? `cuda ${fmt('cuda')} cand/s` : '', wanted.includes('cpu') ? `cpu ${fmt('cpu')} cand/s` : ''].filter(Boolean);
  if (!info.cuda && wanted.includes('cuda')) {
    const why = `no usable CUDA backend (${info.cudaReason ?? 'unknown'})`;
    if (opts.dryRun) return { status: 'skip', message: `CUDA runs skipped: ${why}; ${parts.join('; ') || 'nothing measured'}`, runs, cuda };
    return { status: 'fail', message: `${why}; ${parts.join('; ') || 'nothing measured'}`, runs, cuda };
  }
  return { status: 'ok', message: parts.join('; ') || 'nothing measured', runs, cuda };
}
