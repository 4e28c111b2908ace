/**
 * Issue #13 item 1: the README's CLI synopsis names only flags that exist, every command is in it,
 * docs/cli.md (every flag of every command, generated) is fresh, and a short flag means one thing.
 */
import test from 'ava';
import * as fs from 'fs';
import * as path from 'path';
import type { Command } from 'commander';
import { buildProgram } from '../src/cli/main';
import { cliDoc } from '../scripts/gen-cli-reference';

const ROOT = path.resolve(__dirname, '..');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const program = buildProgram();

/** Every command by its name as typed: `info`, `lut build`, … */
function commands(): Map<string, Command> {
  const m = new Map<string, Command>();
  for (const c of program.commands) {
    if (c.commands.length) for (const s of c.commands) m.set(`${c.name()} ${s.name()}`, s);
    else m.set(c.name(), c);
  }
  return m;
}

/** The synopsis: the ```text block of the README's "## CLI" section, as (command, text) entries. */
function synopsis(): { command: string; text: string }[] {
  const at = README.indexOf('\n## CLI\n');
  const block = /```text\n([\s\S]*?)```/.exec(README.slice(at))![1]!;
  const out: { command: string; text: string }[] = [];
  const names = [...commands().keys()].sort((a, b) => b.length - a.length);
  for (const line of block.split('\n')) {
    const m = /^zennas\s+(.*)$/.exec(line);
    if (m) {
      const name = names.find((n) => m[1]!.startsWith(n + ' ') || m[1] === n);
      out.push({ command: name ?? m[1]!.split(/\s+/)[0]!, text: m[1]! });
    } else if (line.trim() && out.length) {
      out[out.length - 1]!.text += ' ' + line.trim();
    }
  }
  return out;
}

test('every command and every flag the README synopsis names exists', (t) => {
  const cmds = commands();
  const entries = synopsis();
  t.true(entries.length >= cmds.size, 'the synopsis has an entry per command');
  for (const { command, text } of entries) {
    const cmd = cmds.get(command);
    t.truthy(cmd, `README synopsis: no command 'zennas ${command}'`);
    if (!cmd) continue;
    const longs = new Set(cmd.options.map((o) => o.long));
    const shorts = new Set(cmd.options.map((o) => o.short).filter(Boolean));
    for (const f of text.match(/(?<![\w-])--[a-z][a-z0-9-]*/g) ?? []) t.true(longs.has(f), `README synopsis: 'zennas ${command}' has no flag ${f}`);
    for (const f of text.match(/(?<![\w-])-[a-zA-Z](?![\w-])/g) ?? []) t.true(shorts.has(f), `README synopsis: 'zennas ${command}' has no short flag ${f}`);
  }
  for (const name of cmds.keys()) t.true(entries.some((e) => e.command === name), `README synopsis: 'zennas ${name}' is missing`);
});

test('docs/cli.md lists every flag of every command and is fresh (npx tsx scripts/gen-cli-reference.ts)', (t) => {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/cli.md'), 'utf8');
  t.is(doc, cliDoc(), 'docs/cli.md is stale: run npx tsx scripts/gen-cli-reference.ts');
  for (const [name, cmd] of commands()) {
    const section = doc.slice(doc.indexOf(`## \`zennas ${name}`));
    for (const o of cmd.options) t.true(section.includes(o.long!), `docs/cli.md: ${name} ${o.long}`);
  }
  t.regex(README, /docs\/cli\.md/, 'the README points at the reference');
});

test('a short flag means the same long flag in every command', (t) => {
  // --out (a run folder) and --output (a file) are both "where the result goes": one letter, -o.
  const same = (l: string) => (l === '--output' ? '--out' : l);
  const seen = new Map<string, { long: string; where: string }>();
  for (const [name, cmd] of commands()) {
    for (const o of cmd.options) {
      if (!o.short) continue;
      const prev = seen.get(o.short);
      if (!prev) { seen.set(o.short, { long: o.long!, where: name }); continue; }
      t.is(same(o.long!), same(prev.long), `${o.short} is ${prev.long} in '${prev.where}' but ${o.long} in '${name}'`);
    }
  }
});
