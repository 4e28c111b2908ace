/**
 * Issue #13 item 6: the public API is documented name by name (docs/api.md, generated from the
 * sources' doc comments) and the README's API examples run as written.
 */
import test from 'ava';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { apiDoc, apiNames } from '../scripts/gen-api-doc';
import * as api from '../src/index';
import * as internals from '../src/internals';

const ROOT = path.resolve(__dirname, '..');

test('docs/api.md is fresh, and every public name has a doc comment', (t) => {
  const names = apiNames();
  t.true(names.length > 50);
  t.is(fs.readFileSync(path.join(ROOT, 'docs/api.md'), 'utf8'), apiDoc(names), 'docs/api.md is stale: run npx tsx scripts/gen-api-doc.ts');
  const undocumented = names.filter((n) => !n.doc).map((n) => n.name);
  t.deepEqual(undocumented, [], `public names without a doc comment: ${undocumented.join(', ')}`);
  // Every runtime export is listed (types are erased at runtime, so only values are compared).
  const listed = new Set(names.map((n) => n.name));
  for (const k of Object.keys(api)) t.true(listed.has(k), `export ${k} is not in docs/api.md`);
});

test('the root exports are the public API only: internals are in zennas/internals', (t) => {
  for (const k of ['Sfc32', 'rhoAt', 'SMALL_POPULATION', 'RunStore', 'evolve', 'KeyedError']) t.false(k in api, `${k} is internal`);
  for (const k of ['Sfc32', 'rhoAt', 'SMALL_POPULATION', 'RunStore', 'evolve', 'score', 'Engine']) t.true(k in internals, `internals has ${k}`);
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  t.truthy(pkg.exports['./internals'], 'package.json exports zennas/internals');
});

test("the README's Library API examples run as written", (t) => {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Library API'), readme.indexOf('## Guarantees'));
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  t.true(blocks.length >= 2);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-readme-api-'));
  try {
    blocks.forEach((code, i) => {
      const file = path.join(dir, `block${i}.mts`);
      fs.writeFileSync(file, code.replace(/from 'zennas'/g, `from ${JSON.stringify(path.join(ROOT, 'src/index.ts'))}`));
      const r = spawnSync(process.execPath, ['--import', require.resolve('tsx'), file], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
      t.is(r.status, 0, `README API block ${i + 1} failed:\n${r.stderr}`);
      t.notRegex(r.stdout, /\bfalse\b|undefined|NaN/, `block ${i + 1} printed ${r.stdout}`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
