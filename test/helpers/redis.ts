/**
 * A private redis-server for a test: a free loopback port, a temporary directory, no persistence
 * unless asked (appendonly for the restart test), stopped by stop(). Tests skip with a reason
 * when redis-server is not installed (`.ci/run` installs it on CI).
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ChildProcess, spawn, spawnSync } from 'child_process';

/** Path of redis-server, or undefined when it is not installed. */
export function redisServerPath(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : undefined;
}

/** Why Redis-backed tests skip here ('' when they can run). */
export const redisSkipReason = redisServerPath() ? '' : 'redis-server is not installed (apt-get install redis-server; .ci/run does)';

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Stop it (SIGTERM, then SIGKILL); `keepDir` leaves its files (for a restart). */
  stop(opts?: { keepDir?: boolean; kill?: boolean }): Promise<void>;
}

export interface RedisServerOptions {
  port?: number;
  dir?: string;
  /** appendonly yes, fsync always (the restart test). */
  persistent?: boolean;
  password?: string;
  /** TLS only (no plain port): PEM files of the server certificate, its key and the CA. */
  tls?: { cert: string; key: string; ca: string };
}

function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(); });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > until) reject(new Error(`redis-server did not listen on ${port} within ${ms} ms`));
        else setTimeout(tryOnce, 50);
      });
    };
    tryOnce();
  });
}

/** Start a redis-server bound to 127.0.0.1 only. */
export async function startRedis(o: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = redisServerPath();
  if (!bin) throw new Error(redisSkipReason);
  const port = o.port ?? (await freePort());
  const dir = o.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'zennas-redis-'));
  const args = [
    ...(o.tls ? ['--port', '0', '--tls-port', String(port), '--tls-cert-file', o.tls.cert, '--tls-key-file', o.tls.key, '--tls-ca-cert-file', o.tls.ca, '--tls-auth-clients', 'no'] : ['--port', String(port)]),
    '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no',
    '--appendonly', o.persistent ? 'yes' : 'no', '--appendfsync', 'always', '--protected-mode', 'yes', '--loglevel', 'warning',
  ];
  if (o.password) args.push('--requirepass', o.password);
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (b) => { err += String(b); });
  await waitForPort(port, 10_000).catch((e) => { child.kill('SIGKILL'); throw new Error(`${(e as Error).message}: ${err}`); });
  const auth = o.password ? `:${encodeURIComponent(o.password)}@` : '';
  return {
    port, dir, url: `${o.tls ? 'rediss' : 'redis'}://${auth}127.0.0.1:${port}`,
    async stop(s = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill(s.kill ? 'SIGKILL' : 'SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      if (!s.keepDir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
