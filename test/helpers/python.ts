import * as fs from 'fs';
import * as path from 'path';
import { spawnSync } from 'child_process';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A Python that can import `modules` (ZENNAS_PYTHON, else the benchmarks' .venv-bench that
 * .ci/run creates from the local wheelhouse), or undefined: cross-check tests then skip and say so.
 */
export function findPython(modules: string[]): string | undefined {
  const cands = [process.env.ZENNAS_PYTHON, path.join(ROOT, '.venv-bench/bin/python')].filter((p): p is string => !!p);
  for (const p of cands) {
    if (p.includes('/') && !fs.existsSync(p)) continue;
    const r = spawnSync(p, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
    if (r.status === 0) return p;
  }
  return undefined;
}
