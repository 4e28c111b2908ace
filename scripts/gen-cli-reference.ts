/**
 * Writes docs/cli.md, the CLI reference, from the commander definitions themselves, so every flag
 * of every command is documented with its help text and default. test/readme-cli.test.ts fails
 * when it is stale:
 *
 *   npx tsx scripts/gen-cli-reference.ts          # rewrite docs/cli.md
 *   npx tsx scripts/gen-cli-reference.ts --check  # exit 1 when docs/cli.md is stale
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Command, Option } from 'commander';
import { buildProgram } from '../src/cli/main';


const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function flagsOf(o: Option): string {
  return '`' + o.flags.replace(/</g, '‹').replace(/>/g, '›') + '`';
}

function commandTable(cmd: Command, name: string): string {
  const args = (cmd as unknown as { registeredArguments?: { name(): string; required: boolean }[] }).registeredArguments ?? [];
  const usage = [`zennas ${name}`, ...args.map((a) => (a.required ? `‹${a.name()}›` : `[${a.name()}]`)), cmd.options.length ? '[flags]' : ''].filter(Boolean).join(' ');
  const lines = [`## \`${usage}\``, '', cell(cmd.description()), ''];
  if (cmd.options.length) {
    lines.push('| flag | what | default |', '|---|---|---|');
    for (const o of cmd.options as Option[]) {
      const def = o.defaultValue === undefined || o.negate ? '' : `\`${String(o.defaultValue)}\``;
      lines.push(`| ${flagsOf(o)} | ${cell(o.description)} | ${def} |`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** The generated section (markers included). */
export function cliReference(): string {
  const program = buildProgram();
  const parts: string[] = [];
  for (const c of program.commands) {
    if (c.commands.length) for (const s of c.commands) parts.push(commandTable(s, `${c.name()} ${s.name()}`));
    else parts.push(commandTable(c, c.name()));
  }
  return parts.join('\n');
}

/** The whole of docs/cli.md. */
export function cliDoc(): string {
  return `# zennas CLI reference\n\nGenerated from the commands themselves by \`scripts/gen-cli-reference.ts\` (\`zennas <command> --help\`\nsays the same, with examples); test/readme-cli.test.ts keeps it fresh. The README's CLI section\nhas the synopsis.\n\n${cliReference()}\n`;
}

if (require.main === module) {
  const file = path.resolve(__dirname, '../docs/cli.md');
  const now = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const next = cliDoc();
  if (process.argv.includes('--check')) {
    if (next !== now) { console.error('docs/cli.md is stale; run npx tsx scripts/gen-cli-reference.ts'); process.exit(1); }
  } else if (next !== now) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, next);
    console.log('docs/cli.md updated');
  }
}
