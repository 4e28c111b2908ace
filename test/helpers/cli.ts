import * as path from 'path';
import { spawnSync } from 'child_process';

/** The compiled CLI, run exactly as users do (`npm test` compiles first). */
export const BIN = path.resolve(__dirname, '../../dist/src/cli/zennas-bin.js');

/** Run `zennas …args` synchronously; exit code, stdout and stderr. */
export function zennas(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  return zennasWithEnv({}, ...args);
}

/** `zennas …args` with extra environment variables (e.g. ZENNAS_TRTEXEC). */
export function zennasWithEnv(env: NodeJS.ProcessEnv, ...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
