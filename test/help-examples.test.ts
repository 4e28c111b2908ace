/**
 * Issue #13 item 3: every `$ zennas …` example of every --help runs, as a user would type it, in an
 * empty folder (no repository files: zoo names, not test/fixtures paths). Examples are run in the
 * order their help lists them, in one folder per help text (a later one may use an earlier one's
 * output). An example whose line says `# needs: …` (a GPU, TensorRT, a Redis server, the user's own
 * file) is not run here; its reason is the skip's title, and the help tells the user the same.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { BIN } from './helpers/cli';

const helpOf = (args: string[]) => spawnSync(process.execPath, [BIN, ...args, '--help'], { encoding: 'utf8' }).stdout;
const commands = (): string[][] => {
  const top = helpOf([]);
  const names = [...top.matchAll(/^ {2}([a-z]+)(?: \[options\]| <|\s)/gm)].map((m) => m[1]!).filter((n) => n !== 'help');
  const out: string[][] = [[]];
  for (const n of new Set(names)) {
    const sub = helpOf([n]);
    const subs = [...sub.matchAll(/^Commands:\n([\s\S]*?)\n\n/gm)].flatMap((m) => [...m[1]!.matchAll(/^ {2}([a-z]+)/gm)].map((x) => x[1]!)).filter((s) => s !== 'help');
    if (subs.length) for (const s of subs) out.push([n, s]);
    else out.push([n]);
  }
  return out;
};

/** `$ …` lines of a help text: the command line and its `# needs: …` reason, if any. */
function examples(help: string): { line: string; needs?: string }[] {
  return [...help.matchAll(/^ {2}\$ (.+)$/gm)].map((m) => {
    const text = m[1]!;
    const needs = /#\s*needs:\s*(.+)$/.exec(text)?.[1]?.trim();
    return { line: text.replace(/\s+#.*$/, '').trim(), ...(needs ? { needs } : {}) };
  });
}

for (const cmd of commands()) {
  const help = helpOf(cmd);
  const list = examples(help);
  const title = cmd.length ? `zennas ${cmd.join(' ')} --help` : 'zennas --help';
  test(`${title} shows examples`, (t) => t.true(list.length > 0, `${title} shows no example`));
  // One folder per help text, shared by its examples in order; `zennas` on PATH is this build.
  let dir = '';
  let bin = '';
  const folder = () => {
    if (!dir) {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-examples-'));
      bin = path.join(dir, '.bin');
      fs.mkdirSync(bin);
      fs.writeFileSync(path.join(bin, 'zennas'), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`, { mode: 0o755 });
    }
    return dir;
  };
  list.forEach((ex, i) => {
    const name = `${title} example ${i + 1}: ${ex.line.length > 110 ? ex.line.slice(0, 107) + '…' : ex.line}`;
    if (ex.needs) { test.skip(`${name} [skipped: needs ${ex.needs}]`, () => {}); return; }
    test.serial(name, (t) => {
      t.false(/test\/fixtures|\.\.\//.test(ex.line), `an example must not need the repository: ${ex.line}`);
      const cwd = folder();
      const r = spawnSync('sh', ['-c', ex.line], {
        cwd, encoding: 'utf8', timeout: 180_000,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, ZENNAS_PROGRESS_SECONDS: '3600' },
      });
      t.is(r.status, 0, `${ex.line}\n→ exit ${r.status} ${r.signal ?? ''}\n${(r.stderr ?? '').slice(-2000)}`);
    });
  });
  test.after.always(() => { if (dir) fs.rmSync(dir, { recursive: true, force: true }); });
}
