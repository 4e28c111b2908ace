/**
 * The device kit's report: merges what benchmarks/device/run left in WORK (run.env, probe.json,
 * stages/NAME.{meta,json,out}) into OUT/device-kit.json and prints the summary table last.
 * Statuses: ok | fail | timeout | skip (could not run: no GPU in a dry run, no time left) | off
 * (not selected with --only/--skip). The run is ok when nothing failed or timed out and, on a
 * GPU machine, nothing was skipped.
 */
import * as fs from 'fs';
import * as path from 'path';

type Status = 'ok' | 'fail' | 'timeout' | 'skip' | 'off';

export interface StageReport {
  name: string;
  status: Status;
  seconds: number | null;
  limit: number | null;
  rc: number | null;
  message: string;
  result?: Record<string, unknown>;
  table?: { title?: string; header: string; rows: { name: string; cells: string[] }[] };
  output: { lines: number; tail: string[] };
}

const readKv = (file: string): Record<string, string> => {
  const out: Record<string, string> = {};
  if (!fs.existsSync(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
};

const readJson = (file: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

const num = (s: string | undefined): number | null => (s === undefined || s === '' || !Number.isFinite(Number(s)) ? null : Number(s));

/** The table a GPU benchmark prints: the line holding 'zennas' column names, then its rows. */
export function parseBenchTable(lines: string[]): StageReport['table'] | undefined {
  const h = lines.findIndex((l) => /^(case|model)\s+zennas\b/.test(l));
  if (h < 0) return undefined;
  const header = lines[h]!;
  const w = header.indexOf('zennas');
  const rows: { name: string; cells: string[] }[] = [];
  for (const l of lines.slice(h + 1)) {
    if (l.length <= w || !/\d/.test(l.slice(w))) break;
    rows.push({ name: l.slice(0, w).trim(), cells: l.slice(w).trim().split(/\s+/) });
  }
  return { ...(h > 0 ? { title: lines[h - 1] } : {}), header, rows };
}

/** "n rows; speed-up vs PyTorch a×–b× (median m×)" from the cells holding a ratio. */
function tableNote(t: NonNullable<StageReport['table']>): string {
  const ratios = t.rows.flatMap((r) => r.cells.filter((c) => /^\d+(\.\d+)?×$/.test(c)).map((c) => Number(c.slice(0, -1)))).sort((a, b) => a - b);
  const cand = t.rows.find((r) => r.cells.includes('cand/s'));
  const parts = [`${t.rows.length} rows`];
  if (ratios.length) parts.push(`zennas vs PyTorch ${ratios[0]}×–${ratios[ratios.length - 1]}× (median ${ratios[Math.floor(ratios.length / 2)]}×)`);
  else parts.push('no PyTorch column (baseline not run)');
  if (cand) parts.push(`${cand.name}: ${cand.cells[0]} cand/s (PyTorch ${cand.cells[2] ?? '-'})`);
  return parts.join('; ');
}

function stageReport(dir: string, name: string): StageReport {
  const meta = readKv(path.join(dir, `${name}.meta`));
  const json = readJson(path.join(dir, `${name}.json`));
  const outFile = path.join(dir, `${name}.out`);
  const lines = fs.existsSync(outFile) ? fs.readFileSync(outFile, 'utf8').split('\n').filter((l, i, a) => l !== '' || i < a.length - 1) : [];
  const rc = num(meta.rc);
  let status: Status;
  let message: string;
  const declared = (typeof json?.status === 'string' ? json.status : meta.status) as Status | undefined;
  if (meta.status === 'off') {
    status = 'off';
    message = meta.message ?? '';
  } else if (meta.timedout === '1') {
    status = 'timeout';
    message = `stopped at its ${meta.limit} s limit${json?.message ? ` (${String(json.message)})` : ''}`;
  } else if (declared) {
    status = declared;
    message = String((typeof json?.status === 'string' ? json.message : meta.message) ?? '');
    if (status === 'ok' && rc !== null && rc !== 0) { status = 'fail'; message = `exit code ${rc}; ${message}`; }
  } else {
    status = rc === 0 ? 'ok' : 'fail';
    const last = lines.filter((l) => l.trim()).slice(-1)[0] ?? '';
    message = rc === 0 ? 'done' : `exit code ${rc}${last ? `: ${last.trim().slice(0, 200)}` : ''}`;
  }
  const table = name.includes('latency-gpu') || name === 'zen-score-gpu' ? parseBenchTable(lines) : undefined;
  if (table && status === 'ok') message = `${tableNote(table)}${message && !/^ran in/.test(message) ? `; ${message}` : ''}`;
  const result = json ? Object.fromEntries(Object.entries(json).filter(([k]) => k !== 'status' && k !== 'message')) : undefined;
  return {
    name, status, seconds: num(meta.seconds), limit: num(meta.limit), rc, message,
    ...(result && Object.keys(result).length ? { result } : {}),
    ...(table ? { table } : {}),
    output: { lines: lines.length, tail: lines.slice(-60) },
  };
}

/** Write OUT/device-kit.json and print the summary table; returns the run's exit code. */
export function writeReport(work: string, out: string, kitRoot: string): number {
  const env = readKv(path.join(work, 'run.env'));
  const stagesDir = path.join(work, 'stages');
  const order = fs.existsSync(path.join(stagesDir, 'order')) ? fs.readFileSync(path.join(stagesDir, 'order'), 'utf8').split('\n').filter(Boolean) : [];
  const stages = order.map((n) => stageReport(stagesDir, n));
  const dryRun = env.mode === 'dry-run';
  const bad = stages.filter((s) => s.status === 'fail' || s.status === 'timeout' || (!dryRun && s.status === 'skip'));
  const probe = readJson(path.join(work, 'probe.json'));
  const measuring = ['test', 'zen-score-gpu', 'latency-gpu', 'latency-gpu-fp32', 'candidates'];
  const engine = (stages.find((s) => s.name === 'load')?.result?.engine ?? {}) as { cuda?: boolean; device?: string };
  const gpuMeasured = !dryRun && engine.cuda === true && stages.some((s) => measuring.includes(s.name) && s.status === 'ok');
  const started = Number(env.started ?? 0);
  const report = {
    schema: 'zennas-device-kit/1',
    mode: env.mode ?? 'unknown',
    ok: bad.length === 0,
    gpuMeasured,
    gpu: engine.device ?? null,
    startedAt: started ? new Date(started * 1000).toISOString() : null,
    seconds: started ? Math.round(Date.now() / 1000 - started) : null,
    deadlineSeconds: num(env.deadline),
    kit: readJson(path.join(kitRoot, 'MANIFEST.json')) ?? null,
    machine: { ...(probe ?? {}), host: env.host, cores: num(env.cores), kernel: env.kernel, nvidiaSmi: env.nvidia_smi || null, nvcc: env.nvcc || null, cmake: env.cmake || null, ninja: env.ninja || null },
    stages,
  };
  fs.mkdirSync(out, { recursive: true });
  const jsonFile = path.join(out, 'device-kit.json');
  fs.writeFileSync(jsonFile, JSON.stringify(report, null, 1) + '\n');

  const w = (s: string) => process.stdout.write(s + '\n');
  const width = Math.max(5, ...stages.map((s) => s.name.length));
  const cell = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
  w('');
  w(`report: ${jsonFile}${env.log ? `; log: ${env.log}` : ''}`);
  w(`== device kit summary (${report.mode}${report.gpu ? `, ${report.gpu}` : ''}; ${report.seconds ?? '?'} s of ${report.deadlineSeconds ?? '?'} s) ==`);
  w(`${'stage'.padEnd(width)}  status   time/limit  result`);
  for (const s of stages) {
    const t = s.seconds === null ? '-' : `${s.seconds.toFixed(0)}/${s.limit ?? '-'} s`;
    w(`${s.name.padEnd(width)}  ${s.status.padEnd(7)}  ${t.padStart(10)}  ${cell(s.message.replace(/\s+/g, ' '), 160)}`);
  }
  w(gpuMeasured
    ? `GPU figures measured on ${report.gpu ?? 'the GPU'}; ${report.ok ? 'all stages ok' : `${bad.length} stage(s) not ok: ${bad.map((s) => s.name).join(', ')}`}`
    : `no GPU figure was measured (${dryRun ? 'dry run' : 'no usable CUDA backend'}); ${report.ok ? 'all stages that can run here are ok' : `${bad.length} stage(s) not ok: ${bad.map((s) => s.name).join(', ')}`}`);
  return report.ok ? 0 : 1;
}
