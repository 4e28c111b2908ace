/**
 * Standing fuzz suite, files (fixed inputs): what the tool reads is bounded and never blocks,
 * what it writes reaches the file or fails with E_IO naming the path, one search at a time owns a
 * directory, and only files a search created are ever replaced or deleted.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { ZennasError } from '../src/errors';
import { readRegularFile, writeAll } from '../src/util/files';
import { writeFileAtomic } from '../src/util/write-atomic';
import { runSearch, SearchConfig } from '../src/search/evolution';
import { readCandidatesFile } from '../src/search/store';
import { searchConfig } from '../src/search/config';
import { KeyedError } from '../src/util/keyed-error';
import { BIN, zennas, zennasWithEnv } from './helpers/cli';
import { killedRun, Kill, smallConfig, snapshot, tmp, toyZen } from './helpers/runs';

const cfg = smallConfig();
const FAULTS = path.resolve(__dirname, 'helpers/fs-faults.js');
const code = (e: unknown) => (e as { code?: string }).code;
const mkfifo = (p: string) => {
  const r = spawnSync('mkfifo', [p]);
  if (r.status !== 0) throw new Error(`mkfifo failed: ${r.stderr}`);
};
/** CLI runs of the 'flops' proxy (no engine needed). */
const SEARCH = ['search', '--proxy', 'flops', '--population', '16', '--seed', '4'];

let refJsonl = '';
test.before(async () => {
  const ref = tmp('files-ref');
  await runSearch(cfg, { scorer: toyZen, outDir: ref, checkpointEveryIterations: 10 });
  refJsonl = fs.readFileSync(path.join(ref, 'candidates.jsonl'), 'utf8');
});
async function killed(at = 30): Promise<string> {
  const dir = path.join(tmp('files-run'), 'run');
  await killedRun(dir, cfg, at);
  return dir;
}

// ---- 3. Every read is bounded and never blocks -------------------------------------------------

test('readRegularFile: devices, FIFOs, directories and files over the bound are refused before reading; /proc files (size 0) read whole', (t) => {
  const dir = tmp('read');
  const fifo = path.join(dir, 'fifo');
  mkfifo(fifo);
  fs.symlinkSync('/dev/zero', path.join(dir, 'zero'));
  const sparse = path.join(dir, 'sparse');
  fs.writeFileSync(sparse, '');
  fs.truncateSync(sparse, 2 ** 40); // 1 TiB of nothing
  for (const [p, re] of [[fifo, /is not a regular file \(it is a FIFO\)/], [path.join(dir, 'zero'), /it is a character device/], [dir, /it is a directory/], [sparse, /is 1099511627776 bytes, more than the 1000/]] as const) {
    const e = t.throws(() => readRegularFile(p, { maxBytes: 1000, what: 'thing' }));
    t.is(code(e), 'E_IO');
    t.regex(e!.message, re);
  }
  t.regex(readRegularFile('/proc/self/stat', { maxBytes: 4096, what: 'stat' }).toString(), /^\d+ \(/);
  t.is(code(t.throws(() => readRegularFile('/proc/self/maps', { maxBytes: 16, what: 'maps' }))), 'E_IO', 'a size-0 file longer than the bound');
  t.true((t.throws(() => readRegularFile(path.join(dir, 'none'), { maxBytes: 1, what: 'x' })) as { missing?: boolean }).missing);
});

test('--resume with checkpoint.json a link to /dev/zero, a FIFO, a directory or 600 MB: E_CHECKPOINT at once, nothing touched', async (t) => {
  for (const make of [
    (p: string) => fs.symlinkSync('/dev/zero', p),
    (p: string) => mkfifo(p),
    (p: string) => fs.mkdirSync(p),
    (p: string) => { fs.writeFileSync(p, '{'); fs.truncateSync(p, 600 * 2 ** 20); },
  ]) {
    const dir = await killed();
    const cp = path.join(dir, 'checkpoint.json');
    fs.rmSync(cp);
    make(cp);
    const before = snapshot(dir);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [BIN, 'search', '--out', dir, '--resume'], { encoding: 'utf8', timeout: 30_000 });
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, /^zennas: error \[E_CHECKPOINT\]: the checkpoint '.*checkpoint\.json' (is not a regular file \(it is a (character device|FIFO|directory)\)|is 629145600 bytes, more than)/);
    const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true }));
    t.is(code(e), 'E_CHECKPOINT');
    t.true(Date.now() - t0 < 20_000);
    t.deepEqual(snapshot(dir), before);
  }
});

test('candidates.jsonl, the manifest or a structure file that is a FIFO or /dev/zero: refused, no hang', async (t) => {
  for (const [name, make] of [['candidates.jsonl', mkfifo], ['candidates.jsonl', (p: string) => fs.symlinkSync('/dev/zero', p)], ['zennas-run.json', mkfifo]] as const) {
    const dir = await killed();
    fs.rmSync(path.join(dir, name));
    make(path.join(dir, name));
    const before = snapshot(dir);
    const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true }));
    t.is(code(e), 'E_IO', e!.message);
    t.regex(e!.message, /is not a regular file|symbolic link/);
    t.deepEqual(snapshot(dir), before);
  }
  const dir = tmp('fifo-structure');
  const fifo = path.join(dir, 'net.txt');
  mkfifo(fifo);
  for (const args of [['info', fifo], ['search', '--proxy', 'flops', '--init', fifo, '--iterations', '2']]) {
    const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
    t.is(r.status, 2, r.stderr);
    t.regex(r.stderr, /E_IO.*the structure file '.*net\.txt' is not a regular file \(it is a FIFO\)/);
  }
  t.is(code(t.throws(() => readCandidatesFile(fifo))), 'E_IO');
});

// ---- 8. Short writes and full disks ---------------------------------------------------------------

/** The fs module object itself (the `import * as` namespace is a read-through copy). */
const nodeFs: { writeSync: typeof fs.writeSync } = require('fs'); // eslint-disable-line @typescript-eslint/no-require-imports

/** Replace fs.writeSync while `fn` runs (tests that do this run serially). */
async function withWriteSync(patch: typeof fs.writeSync, fn: () => Promise<void>): Promise<void> {
  const orig = nodeFs.writeSync;
  nodeFs.writeSync = patch;
  try {
    await fn();
  } finally {
    nodeFs.writeSync = orig;
  }
}
const fdIs = (fd: number, name: string) => {
  try {
    return fs.readlinkSync(`/proc/self/fd/${fd}`).endsWith(name);
  } catch {
    return false;
  }
};

test.serial('short writes (7 bytes per call) are completed: the run is the uninterrupted one and resumes', async (t) => {
  const orig = nodeFs.writeSync;
  let calls = 0;
  const short = ((fd: number, buf: Uint8Array, off?: number, len?: number, pos?: number | null) =>
    (calls++, orig(fd, buf, off ?? 0, Math.min(7, len ?? buf.byteLength - (off ?? 0)), pos))) as typeof fs.writeSync;
  const dir = path.join(tmp('short'), 'run');
  await withWriteSync(short, async () => {
    await killedRun(dir, cfg, 30);
    await runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true, checkpointEveryIterations: 10 });
  });
  t.true(calls > refJsonl.length / 7, 'the writes were short');
  t.is(fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8'), refJsonl);
  t.is(fs.readFileSync(path.join(dir, 'best.txt'), 'utf8').split('\n').length, 2, 'best.txt written whole');
});

test.serial('a write that moves nothing, or ENOSPC halfway: E_IO naming candidates.jsonl; the checkpoint covers only bytes on the device; resume finishes the run', async (t) => {
  const orig = nodeFs.writeSync;
  for (const mode of ['zero', 'enospc'] as const) {
    let budget = 1500; // bytes of candidates.jsonl that fit on the "disk"
    const full = ((fd: number, buf: Uint8Array, off?: number, len?: number, pos?: number | null) => {
      if (!fdIs(fd, 'candidates.jsonl')) return orig(fd, buf, off ?? 0, len ?? buf.byteLength - (off ?? 0), pos);
      const want = len ?? buf.byteLength - (off ?? 0);
      if (budget <= 0) {
        if (mode === 'zero') return 0;
        throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
      }
      const n = orig(fd, buf, off ?? 0, Math.min(want, budget), pos);
      budget -= n;
      return n;
    }) as typeof fs.writeSync;
    const dir = path.join(tmp(`full-${mode}`), 'run');
    await withWriteSync(full, async () => {
      const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: dir, checkpointEveryIterations: 10 }));
      t.is(code(e), 'E_IO');
      t.regex(e!.message, mode === 'zero' ? /cannot write '.*candidates\.jsonl': the write moved no bytes/ : /cannot write '.*candidates\.jsonl': no space left on the device \(ENOSPC\)/);
    });
    const cp = JSON.parse(fs.readFileSync(path.join(dir, 'checkpoint.json'), 'utf8'));
    t.true(cp.candidates.bytes <= 1500, 'no checkpoint covers bytes that did not reach the file');
    t.false(fs.existsSync(path.join(dir, 'zennas.lock')), 'the lock is released');
    await runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true, checkpointEveryIterations: 10 });
    t.is(fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8'), refJsonl);
  }
});

test('CLI, a real file-size limit (EFBIG): E_IO naming candidates.jsonl; resumed without the limit it equals the uninterrupted run', (t) => {
  const args = [...SEARCH, '--iterations', '400', '--checkpoint-every', '1', '--json'];
  const ref = path.join(tmp('efbig-ref'), 'run');
  t.is(zennas(...args, '--out', ref).code, 0);
  const dir = path.join(tmp('efbig'), 'run');
  const r = spawnSync('bash', ['-c', `trap '' XFSZ; ulimit -f 16; exec "${process.execPath}" "${BIN}" ${args.join(' ')} --out "${dir}"`], { encoding: 'utf8' });
  t.is(r.status, 2, r.stderr);
  t.regex(r.stderr, /^zennas: error \[E_IO\]: cannot write '.*candidates\.jsonl': file too large .*\(EFBIG\)\n$/);
  const again = zennas('search', '--out', dir, '--resume', '--json');
  t.is(again.code, 0, again.stderr);
  t.is(fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8'), fs.readFileSync(path.join(ref, 'candidates.jsonl'), 'utf8'));
});

// ---- 13. Raw Node errors are E_IO with the path ----------------------------------------------------

test('CLI, EROFS / EACCES / ENOSPC / EIO anywhere in a search or an export: one E_IO line naming the path', (t) => {
  const cases: Array<[Record<string, string>, string[], RegExp]> = [
    [{ FS_FAULT_CODE: 'EACCES', FS_FAULT_PATH: 'denied', FS_FAULT_CALLS: 'mkdirSync' }, ['--out', 'DIR/denied'], /E_IO\]: --out: cannot create '.*denied': permission denied \(EACCES\)/],
    [{ FS_FAULT_CODE: 'EROFS', FS_FAULT_PATH: 'checkpoint.json', FS_FAULT_CALLS: 'renameSync' }, ['--out', 'DIR/run'], /E_IO\]: cannot write '.*checkpoint\.json': read-only file system \(EROFS\)/],
    [{ FS_FAULT_CODE: 'ENOSPC', FS_FAULT_PATH: 'candidates.jsonl', FS_FAULT_CALLS: 'writeSync', FS_FAULT_AFTER_BYTES: '3000' }, ['--out', 'DIR/run'], /E_IO\]: cannot write '.*candidates\.jsonl': no space left on the device \(ENOSPC\)/],
    [{ FS_FAULT_CODE: 'EIO', FS_FAULT_PATH: 'candidates.jsonl', FS_FAULT_CALLS: 'fsyncSync' }, ['--out', 'DIR/run'], /E_IO\]: cannot flush '.*candidates\.jsonl' to the device: input\/output error/],
    [{ FS_FAULT_CODE: 'EACCES', FS_FAULT_PATH: 'report.md', FS_FAULT_CALLS: 'openSync' }, ['--out', 'DIR/run'], /E_IO\]: cannot write '.*report\.md': permission denied \(EACCES\)/],
  ];
  for (const [env, extra, re] of cases) {
    const dir = tmp('fault');
    const args = [...SEARCH, '--iterations', '300', ...extra.map((a) => a.replace('DIR', dir))];
    const r = zennasWithEnv({ ...env, NODE_OPTIONS: `--require ${FAULTS}` }, ...args);
    t.is(r.code, 2, `${JSON.stringify(env)}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`^zennas: error \\[${re.source}`));
    t.is(r.stderr.split('\n').length, 2, 'one line');
  }
  const dir = tmp('fault-export');
  const r = zennasWithEnv({ FS_FAULT_CODE: 'EROFS', FS_FAULT_PATH: 'net.onnx', NODE_OPTIONS: `--require ${FAULTS}` }, 'export', 'SuperConvK3BNRELU(3,8,1,1)', '-r', '8', '-c', '4', '--bn', 'fresh', '-o', path.join(dir, 'net.onnx'));
  t.is(r.code, 2);
  t.regex(r.stderr, /^zennas: error \[E_IO\]: cannot write '.*net\.onnx': read-only file system \(EROFS\)\n$/);
  t.deepEqual(fs.readdirSync(dir), [], 'no temporary file left');
});

test('writeAll and writeFileAtomic: short writes completed; the temporary file is exclusive and removed on failure', (t) => {
  const dir = tmp('atomic');
  const f = path.join(dir, 'x.txt');
  const data = Buffer.alloc(100_000, 65);
  const fd = fs.openSync(f, 'w');
  writeAll(fd, data, f, 0);
  fs.closeSync(fd);
  t.is(fs.readFileSync(f).length, 100_000);
  writeFileAtomic(f, 'new\n');
  t.is(fs.readFileSync(f, 'utf8'), 'new\n');
  const e = t.throws(() => writeFileAtomic(path.join(dir, 'no/such/dir/y'), 'x'));
  t.true(e instanceof ZennasError && e.code === 'E_IO');
  t.regex(e!.message, /cannot write '.*y': no such file or directory \(ENOENT\)/);
  t.deepEqual(fs.readdirSync(dir), ['x.txt']);
});

// ---- 9. One search per directory ---------------------------------------------------------------------

test('two resumes of one run in one process: the second is refused (E_IO, the directory is in use); the first is the uninterrupted run', async (t) => {
  const dir = await killed();
  // The second resume starts while the first is surely running: from inside its first scoring.
  let second: Promise<unknown> | undefined;
  const scorer: typeof toyZen = async (s, d) => {
    second ??= runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true }).then(() => 'it ran', (e: unknown) => e);
    return toyZen(s, d);
  };
  await runSearch(cfg, { scorer, outDir: dir, resume: true, checkpointEveryIterations: 10 });
  const e = await second;
  t.is(code(e), 'E_IO', String(e));
  t.regex((e as Error).message, /is in use by another search in this process .*two searches cannot write one directory at once/);
  t.is(fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8'), refJsonl);
  t.false(fs.existsSync(path.join(dir, 'zennas.lock')));
});

test.serial('two concurrent CLI --resume runs: exactly one continues, the other exits 2 naming the holder; no duplicate iterations', async (t) => {
  const args = [...SEARCH, '--iterations', '20000', '--checkpoint-every', '1', '--json'];
  const ref = path.join(tmp('lock-ref'), 'run');
  t.is(zennas(...args, '--out', ref).code, 0);
  const dir = path.join(tmp('lock'), 'run');
  const first = spawn(process.execPath, [BIN, ...args, '--out', dir], { stdio: 'ignore' });
  // Kill it once it has checkpointed (however loaded the machine is), but well before it ends.
  for (let i = 0; i < 600 && !fs.existsSync(path.join(dir, 'checkpoint.json')); i++) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 300));
  first.kill('SIGKILL');
  await new Promise((r) => first.on('exit', r));
  t.true(fs.existsSync(path.join(dir, 'checkpoint.json')));
  t.true(fs.existsSync(path.join(dir, 'zennas.lock')), 'a killed run leaves its lock (stale: taken over below)');
  const run = () => new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const c = spawn(process.execPath, [BIN, 'search', '--out', dir, '--resume', '--json'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    c.stderr.on('data', (d) => { stderr += d; });
    c.on('exit', (code) => resolve({ code, stderr }));
  });
  const results = await Promise.all([run(), run()]);
  const codes = results.map((r) => r.code).sort();
  t.deepEqual(codes, [0, 2], results.map((r) => r.stderr).join('\n'));
  t.regex(results.find((r) => r.code === 2)!.stderr, /^zennas: error \[E_IO\]: '.*run' is (in use by process \d+ on .*two searches cannot write one directory at once|in use by a search that is just starting)/);
  const lines = fs.readFileSync(path.join(dir, 'candidates.jsonl'), 'utf8');
  t.is(lines, fs.readFileSync(path.join(ref, 'candidates.jsonl'), 'utf8'));
  const its = lines.trim().split('\n').map((l) => JSON.parse(l).iteration as number);
  t.is(new Set(its).size, its.length, 'no iteration twice');
});

test('stale locks (dead pid, reused pid) are taken over; a live holder or a lock zennas cannot read is refused; a failed run releases its lock', async (t) => {
  const dir = await killed();
  const lock = path.join(dir, 'zennas.lock');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
  const host = os.hostname();
  const resumeOk = async () => {
    await runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true });
    t.false(fs.existsSync(lock));
  };
  fs.writeFileSync(lock, JSON.stringify({ pid: dead, host, procStart: null, startedAt: 'x', token: 't' }));
  const d2 = await killed();
  fs.writeFileSync(path.join(d2, 'zennas.lock'), JSON.stringify({ pid: process.pid, host, procStart: '1', startedAt: 'x', token: 't' })); // this pid, but started at another time: reused
  await resumeOk();
  await runSearch(cfg, { scorer: toyZen, outDir: d2, resume: true });
  t.is(fs.readFileSync(path.join(d2, 'candidates.jsonl'), 'utf8'), refJsonl);
  // Not a lock of zennas (or one being written right now): never deleted, refused.
  const d3 = await killed();
  for (const [text, age, re] of [['garbage', 60_000, /is not a lock file zennas can read; if no search is running in '.*', delete it/], ['', 0, /is in use by a search that is just starting/]] as const) {
    fs.writeFileSync(path.join(d3, 'zennas.lock'), text);
    fs.utimesSync(path.join(d3, 'zennas.lock'), new Date(Date.now() - age), new Date(Date.now() - age));
    const before3 = snapshot(d3);
    const e3 = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: d3, resume: true }));
    t.is(code(e3), 'E_IO');
    t.regex(e3!.message, re);
    t.deepEqual(snapshot(d3), before3);
  }
  // A live holder: this very process (as a search of another process on this host would be).
  const d4 = await killed();
  fs.writeFileSync(path.join(d4, 'zennas.lock'), JSON.stringify({ pid: process.ppid, host, procStart: null, startedAt: 'then', token: 't' }));
  const before = snapshot(d4);
  const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: d4, resume: true }));
  t.regex(e!.message, new RegExp(`in use by process ${process.ppid} on ${host} \\(since then\\)`));
  t.deepEqual(snapshot(d4), before);
  // A run that fails (its evaluator breaks) releases the lock: the next resume proceeds.
  fs.rmSync(path.join(d4, 'zennas.lock'));
  await t.throwsAsync(runSearch(cfg, { evaluator: { evaluate: async () => { throw new ZennasError('E_BACKEND', 'gone'); } }, outDir: d4, resume: true }), { message: 'gone' });
  t.false(fs.existsSync(path.join(d4, 'zennas.lock')));
  await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: d4, resume: true, afterBatchWritten: () => { throw new Kill(); } }), { instanceOf: Kill });
  t.false(fs.existsSync(path.join(d4, 'zennas.lock')));
});

// ---- 10. Only a search's own files -------------------------------------------------------------------

test("a fresh search never replaces the user's files; --overwrite deletes nothing in a folder that holds no search", async (t) => {
  const dir = tmp('mine');
  const mine = { 'report.md': 'my report', 'summary.json': '{"mine":1}', 'best.txt': 'my best' };
  for (const [f, c] of Object.entries(mine)) fs.writeFileSync(path.join(dir, f), c);
  fs.symlinkSync(path.join(dir, 'nowhere'), path.join(dir, 'score-vs-flops.svg')); // dangling: still the user's
  const before = snapshot(dir);
  const r = zennas(...SEARCH, '--iterations', '20', '--out', dir);
  t.is(r.code, 2);
  t.regex(r.stderr, /E_OPTION\]: --out: '.*' already has best\.txt, summary\.json, report\.md, score-vs-flops\.svg, which a search would write, and no zennas-run\.json says they belong to a search; zennas never replaces files it did not create/);
  t.deepEqual(snapshot(dir), before);
  const o = zennas(...SEARCH, '--iterations', '20', '--out', dir, '--overwrite');
  t.is(o.code, 2);
  t.regex(o.stderr, /E_OPTION\]: --overwrite: '.*' has best\.txt, .* but no zennas-run\.json saying they belong to a zennas search; zennas deletes only files a search of its own created/);
  t.deepEqual(snapshot(dir), before, 'nothing deleted');
  // The library says the same with option keys.
  const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: dir }));
  t.deepEqual((e as KeyedError).options, ['outDir', 'outDir']);
  t.deepEqual(snapshot(dir), before);
});

test("--overwrite deletes exactly the manifest's files; a manifest naming other files is not trusted", async (t) => {
  const dir = path.join(tmp('manifest'), 'run');
  t.is(zennas(...SEARCH, '--iterations', '30', '--out', dir).code, 0);
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
  t.is(zennas(...SEARCH, '--iterations', '30', '--out', dir, '--overwrite').code, 0);
  t.is(fs.readFileSync(path.join(dir, 'notes.txt'), 'utf8'), 'mine');
  const m = path.join(dir, 'zennas-run.json');
  const manifest = JSON.parse(fs.readFileSync(m, 'utf8'));
  for (const evil of ['notes.txt', '../x', '/etc/passwd']) {
    fs.writeFileSync(m, JSON.stringify({ ...manifest, files: [...manifest.files, evil] }));
    const before = snapshot(dir);
    const r = zennas(...SEARCH, '--iterations', '30', '--out', dir, '--overwrite');
    t.is(r.code, 2);
    t.regex(r.stderr, /E_IO\]: .*zennas-run\.json lists '.*', which is not a file of a search; refusing to trust it/);
    t.deepEqual(snapshot(dir), before);
  }
});

test("a FIFO or a link at one of the run's own output names is replaced (atomically), never written through or waited on", async (t) => {
  const dir = await killed();
  mkfifo(path.join(dir, 'report.md'));
  const target = path.join(tmp('target'), 'precious.txt');
  fs.writeFileSync(target, 'precious');
  fs.symlinkSync(target, path.join(dir, 'summary.json'));
  await runSearch(cfg, { scorer: toyZen, outDir: dir, resume: true });
  t.true(fs.lstatSync(path.join(dir, 'report.md')).isFile());
  t.true(fs.lstatSync(path.join(dir, 'summary.json')).isFile());
  t.is(fs.readFileSync(target, 'utf8'), 'precious');
});

// ---- 11. --out "" -------------------------------------------------------------------------------------

test("--out '' (or blanks) is an error, not 'no output'", async (t) => {
  for (const out of ['', '  ']) {
    for (const extra of [[], ['--resume']]) {
      const r = zennas(...SEARCH, '--iterations', '10', '--out', out, ...extra);
      t.is(r.code, 2, r.stdout);
      t.regex(r.stderr, /E_OPTION\]: --out must be a directory path, got '\s*'/);
    }
    const e = await t.throwsAsync(runSearch(cfg, { scorer: toyZen, outDir: out }));
    t.is(code(e), 'E_OPTION');
    t.deepEqual((e as KeyedError).options, ['outDir']);
  }
});

// ---- 12. export -o targets --------------------------------------------------------------------------

test('export -o: a FIFO, device link, dangling link or directory is never replaced; -o - writes the same bytes to stdout', (t) => {
  const dir = tmp('export-target');
  const net = ['export', 'SuperConvK3BNRELU(3,8,1,1)SuperResK3K3(8,16,2,8,1)', '-r', '16', '-c', '10', '--bn', 'fresh'];
  const fifo = path.join(dir, 'fifo.onnx');
  mkfifo(fifo);
  fs.symlinkSync('/dev/null', path.join(dir, 'null.onnx'));
  fs.symlinkSync(path.join(dir, 'missing.onnx'), path.join(dir, 'dangling.onnx'));
  fs.mkdirSync(path.join(dir, 'folder.onnx'));
  const before = snapshot(dir);
  for (const [name, flags, re] of [
    ['fifo.onnx', ['--overwrite'], /'.*fifo\.onnx' is a FIFO, not a regular file; refusing to replace it/],
    ['null.onnx', ['--overwrite'], /'.*null\.onnx' is a symbolic link; refusing to replace it/],
    ['dangling.onnx', [], /'.*dangling\.onnx' is a symbolic link to a missing file; refusing to replace it/],
    ['dangling.onnx', ['--overwrite'], /'.*dangling\.onnx' is a symbolic link to a missing file/],
    ['folder.onnx', ['--overwrite'], /'.*folder\.onnx' is a directory, not a regular file/],
  ] as const) {
    const r = spawnSync(process.execPath, [BIN, ...net, '-o', path.join(dir, name), ...flags], { encoding: 'utf8', timeout: 60_000 });
    t.is(r.status, 2, `${name}: ${r.stderr}`);
    t.regex(r.stderr, new RegExp(`^zennas: error \\[E_IO\\]: ${re.source}`));
  }
  t.deepEqual(snapshot(dir), before, 'every node is as it was');
  const file = path.join(dir, 'net.onnx');
  t.is(zennas(...net, '-o', file).code, 0);
  const out = spawnSync(process.execPath, [BIN, ...net, '-o', '-'], { timeout: 60_000 });
  t.is(out.status, 0, String(out.stderr));
  t.true(Buffer.compare(out.stdout, fs.readFileSync(file)) === 0, 'stdout holds exactly the model');
  t.regex(String(out.stderr), /^wrote the model to stdout \(/);
  const j = zennas(...net, '-o', '-', '--json');
  t.is(j.code, 2);
  t.regex(j.stderr, /-o - writes the model to stdout; --json would mix/);
  t.regex(zennas(...net, '-o', '').stderr, /E_OPTION\]: -o\/--output must be a file path or '-'/);
});

// ---- 13. A search with no result says so and fails ------------------------------------------------

test('a search whose every candidate fails (E_OUT_OF_MEMORY) says what happened and exits 1', (t) => {
  const dir = path.join(tmp('all-fail'), 'run');
  for (const extra of [['--json'], ['--out', dir]]) {
    const r = zennas('search', '--proxy', 'zen', '--preset', 'cifar', '-r', '4096', '-b', '4096', '--iterations', '6', '--population', '4', ...extra);
    t.is(r.code, 1, r.stderr);
    t.regex(r.stderr, /zennas: no result: all \d+ candidates that fitted the budgets failed to score \(out of memory: lower --batch-size, --resolution or the budgets\) — E_OUT_OF_MEMORY: /);
    t.notRegex(r.stdout + r.stderr, /no candidate fitted the budgets/);
    if (extra[0] === '--json') t.is(JSON.parse(r.stdout).best, null);
  }
});

// ---- 14. Option objects: getters that throw, values that change, NaN budgets ------------------------

test('runSearch / searchConfig read each option once: a throwing getter or a NaN budget is E_OPTION naming it', async (t) => {
  const throwing = { ...cfg, get population(): number { throw new Error('boom'); } } as SearchConfig;
  const e1 = await t.throwsAsync(runSearch(throwing, { scorer: toyZen }));
  t.is(code(e1), 'E_OPTION');
  t.regex(e1!.message, /^population must be readable, got reading it threw \(boom\)/);
  t.deepEqual((e1 as KeyedError).options, ['population']);
  const e2 = await t.throwsAsync(runSearch({ ...cfg, budgets: { params: NaN } }, { scorer: toyZen }));
  t.regex(e2!.message, /^budgets\.params must be a finite number ≥ 0, got NaN/);
  const e3 = await t.throwsAsync(runSearch(cfg, { get scorer(): never { throw new Error('nope'); } }));
  t.regex(e3!.message, /^scorer must be readable/);
  const e4 = await t.throwsAsync(runSearch([] as unknown as SearchConfig, { scorer: toyZen }));
  t.is(code(e4), 'E_OPTION');
  t.is(code(t.throws(() => searchConfig({ space: 'I', get seed(): number { throw new Error('x'); } }))), 'E_OPTION');
  // A getter that changes its answer cannot change the run: the config is read once.
  let reads = 0;
  const fickle = { ...cfg, get iterations() { return ++reads === 1 ? 30 : 1e6; } } as SearchConfig;
  const r = await runSearch(fickle, { scorer: toyZen });
  t.is(r.state.counts.proposed, 30);
  t.is(reads, 1);
});
