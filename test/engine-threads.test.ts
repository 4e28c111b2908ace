/**
 * Issue #20 item 2: when the OS refuses threads part-way through an Engine's thread pool, the
 * pool stops and joins what it started and the constructor throws E_BACKEND — before the fix the
 * process died with `terminate called without an active exception`.
 *
 * The child runs under a real RLIMIT_NPROC (prlimit). The kernel ignores that limit for root, so
 * as root the child also drops to uid/gid 65534 (setpriv); as any other user the limit applies as is.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';

const INDEX = path.resolve(__dirname, '../dist/src/index.js');

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const prlimit = which('prlimit');
const setpriv = which('setpriv');
const missing = !prlimit ? 'prlimit (util-linux) not found' : isRoot && !setpriv ? 'setpriv (util-linux) not found' : null;

const CHILD = `
const { Engine } = require(${JSON.stringify(INDEX)});
const out = {};
try { const e = new Engine({ backend: 'cpu', threads: 64 }); out.big = 'constructed'; e.close(); }
catch (err) { out.big = { name: err.name, code: err.code, message: err.message }; }
// The process is intact: a small engine still works and scores.
const { parseStructure, lowerForScoring, encodeDescriptor } = require(${JSON.stringify(INDEX)});
const d = encodeDescriptor(lowerForScoring(parseStructure('SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,8,1,8,1)')));
const e = new Engine({ backend: 'cpu', threads: 1 });
e.zenScore(d, { batchSize: 4, resolution: 16, repeats: 1 }).then((r) => {
  out.small = Number.isFinite(r.mean) && r.scores.length === 1; e.close(); process.stdout.write(JSON.stringify(out));
}, (err) => { out.small = String(err); process.stdout.write(JSON.stringify(out)); });
`;

(missing ? test.skip : test)(`a thread pool that cannot start all its threads throws E_BACKEND and leaves the process usable${missing ? ` (skipped: ${missing})` : ''}`, (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-threads-'));
  fs.chmodSync(dir, 0o755);
  const script = path.join(dir, 'child.js');
  fs.writeFileSync(script, CHILD, { mode: 0o644 });
  try {
    // 20 processes/threads for the user: enough for node's own threads, not for 64 workers.
    const drop = isRoot ? [setpriv!, '--reuid=65534', '--regid=65534', '--clear-groups'] : [];
    const r = spawnSync(prlimit!, ['--nproc=20', ...drop, process.execPath, script], { encoding: 'utf8', timeout: 120_000 });
    t.is(r.signal, null, `child killed by ${r.signal}: ${r.stderr}`);
    t.is(r.status, 0, r.stderr);
    t.notRegex(r.stderr, /terminate called/);
    const out = JSON.parse(r.stdout) as { big: { name: string; code: string; message: string } | string; small: unknown };
    t.like(out.big as object, { name: 'ZennasError', code: 'E_BACKEND' });
    t.regex((out.big as { message: string }).message, /^could not start 64 worker threads \(\d+ started\): .+; use fewer threads$/);
    t.is(out.small, true);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
