/**
 * Facts about the installed zennas package: its root folder (found from this file, so the same
 * code works from src/ under tsx and from dist/src/ when compiled) and its version. Read once.
 */
import * as fs from 'fs';
import * as path from 'path';
import { ZennasError } from '../errors';

let root: string | undefined;
let version: string | undefined;

/** The package root: the nearest ancestor of this file holding a package.json named "zennas". */
export function packageRoot(start: string = __dirname): string {
  if (root !== undefined && start === __dirname) return root;
  let dir = start;
  for (;;) {
    const pj = path.join(dir, 'package.json');
    if (fs.existsSync(pj)) {
      try {
        if ((JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'zennas') {
          if (start === __dirname) root = dir;
          return dir;
        }
      } catch { /* keep looking */ }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new ZennasError('E_NATIVE', `cannot find the zennas package root above ${start}`);
    dir = up;
  }
}

/** zennas's version (package.json), or 'unknown' when the package file cannot be read. */
export function packageVersion(): string {
  if (version === undefined) {
    try {
      version = String((JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
    } catch {
      version = 'unknown';
    }
  }
  return version;
}
