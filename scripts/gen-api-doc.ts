/**
 * Writes docs/api.md: every name the public API (src/index.ts) exports, grouped as the index
 * groups them, each with the first paragraph of its doc comment and its kind — read with the
 * TypeScript compiler from the sources, so the list cannot drift. test/api-doc.test.ts fails when
 * docs/api.md is stale or a public name has no doc comment.
 *
 *   npx tsx scripts/gen-api-doc.ts          # rewrite docs/api.md
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const INDEX = path.join(ROOT, 'src/index.ts');

export interface ApiName { name: string; kind: string; doc: string; group: string; from: string }

const resolve = (fromFile: string, spec: string): string => {
  const base = path.resolve(path.dirname(fromFile), spec);
  for (const f of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(f)) return f;
  throw new Error(`cannot resolve ${spec} from ${fromFile}`);
};

/** The doc comment and kind of `name` declared in (or re-exported by) `file`. */
function findDeclaration(file: string, name: string, seen = new Set<string>()): { doc: string; kind: string } | undefined {
  if (seen.has(`${file}#${name}`)) return undefined;
  seen.add(`${file}#${name}`);
  const text = fs.readFileSync(file, 'utf8');
  const decl = new RegExp(`(/\\*\\*(?:(?!\\*/)[\\s\\S])*\\*/)?(?:\\s*//[^\\n]*)*\\s*(?:^|\\n)export (?:declare )?(?:abstract )?(?:async )?(function\\*?|class|const|let|interface|type|enum) ${name}\\b`);
  const m = decl.exec(text);
  if (m) {
    const doc = (m[1] ?? '').replace(/^\/\*\*|\*\/$/g, '').split('\n').map((l) => l.replace(/^\s*\* ?/, '')).join('\n').trim();
    const kind = m[2]!.startsWith('function') ? 'function' : m[2]!;
    return { doc: doc.split(/\n\s*\n/)[0]!.replace(/\s+/g, ' ').trim(), kind };
  }
  // Re-exports: `export { a, b as name } from './x'` and `export * from './x'`.
  for (const r of text.matchAll(/export (?:type )?\{([^}]*)\} from '([^']+)'/g)) {
    for (const part of r[1]!.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [orig, alias] = part.replace(/^type\s+/, '').split(/\s+as\s+/);
      if ((alias ?? orig) === name) return findDeclaration(resolve(file, r[2]!), orig!, seen);
    }
  }
  // `import { name } from './x'` then `export { name }` / `export type { name }`.
  for (const r of text.matchAll(/import (?:type )?\{([^}]*)\} from '([^']+)'/g)) {
    const names = r[1]!.split(',').map((x) => x.trim().replace(/^type\s+/, ''));
    if (names.includes(name) && new RegExp(`export (?:type )?\\{[^}]*\\b${name}\\b[^}]*\\};`).test(text)) return findDeclaration(resolve(file, r[2]!), name, seen);
  }
  for (const r of text.matchAll(/export \* from '([^']+)'/g)) {
    const hit = findDeclaration(resolve(file, r[1]!), name, seen);
    if (hit) return hit;
  }
  return undefined;
}

/** The public names in index order, with their group (the comment above their export lines). */
export function apiNames(): ApiName[] {
  const text = fs.readFileSync(INDEX, 'utf8');
  const out: ApiName[] = [];
  let group = '';
  const re = /(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*\n)?export (type )?\{([^}]*)\} from '([^']+)';/g;
  for (const m of text.matchAll(re)) {
    if (m[1]) group = m[1].replace(/^\/\*\*\s*|\s*\*\/\s*$/g, '').replace(/\n\s*\*\s?/g, ' ').trim();
    const from = m[4]!;
    for (const part of m[3]!.split(',').map((x) => x.trim()).filter(Boolean)) {
      const [orig, alias] = part.replace(/^type\s+/, '').split(/\s+as\s+/);
      const d = findDeclaration(resolve(INDEX, from), orig!);
      out.push({ name: alias ?? orig!, kind: d?.kind ?? 'value', doc: d?.doc ?? '', group, from });
    }
  }
  return out;
}

/** The whole of docs/api.md. */
export function apiDoc(names: ApiName[] = apiNames()): string {
  const lines = [
    '# zennas library API',
    '',
    "Every name `require('zennas')` / `import … from 'zennas'` exports, generated from the sources' doc",
    'comments by `scripts/gen-api-doc.ts` (test/api-doc.test.ts keeps it fresh). The README\'s',
    '"Library API" section has worked examples. Internals (the search loop\'s pieces, PRNGs, the option',
    "machinery) are in `zennas/internals` and may change without notice.",
    '',
  ];
  let group = '';
  for (const n of names) {
    if (n.group !== group) {
      if (group) lines.push('');
      group = n.group;
      lines.push(`## ${group}`, '', '| name | kind | what |', '|---|---|---|');
    }
    lines.push(`| \`${n.name}\` | ${n.kind} | ${n.doc.replace(/\|/g, '\\|')} |`);
  }
  lines.push('');
  return lines.join('\n');
}

if (require.main === module) {
  const file = path.join(ROOT, 'docs/api.md');
  const next = apiDoc();
  const now = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  if (next !== now) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, next);
    console.log('docs/api.md updated');
  }
  const undocumented = apiNames().filter((n) => !n.doc);
  if (undocumented.length) console.log(`without a doc comment: ${undocumented.map((n) => `${n.name} (${n.from})`).join(', ')}`);
}
