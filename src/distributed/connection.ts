/**
 * Redis URLs of the distributed commands: `redis://[[user]:password@]host[:port][/db]` and
 * `rediss://…` (TLS), parsed here once into the options BullMQ hands to ioredis, so that a
 * misspelt URL is an E_OPTION naming the flag before anything connects.
 */
import * as fs from 'fs';
import { ZennasError } from '../errors';

/** What ioredis needs to connect (BullMQ `connection` option). */
export interface RedisConnection {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /**
   * rediss://: TLS, the server certificate checked against the system's CAs (or the file
   * ZENNAS_REDIS_CA names: a private CA) and the URL's host.
   */
  tls?: { servername?: string; ca?: Buffer };
  /** Queue commands wait for a reconnect instead of failing (BullMQ requires null for workers). */
  maxRetriesPerRequest: null;
  enableOfflineQueue: boolean;
  /** Reconnect every ≤ 1 s: a Redis restart is noticed within a second. */
  retryStrategy: (times: number) => number;
  connectionName?: string;
}

/** A parsed Redis URL: the connection options and a printable form without the password. */
export interface RedisTarget {
  connection: RedisConnection;
  /** The URL with the password masked (for logs and error messages). */
  display: string;
  tls: boolean;
}

const usage = (flag: string, why: string, url: string) =>
  new ZennasError('E_OPTION', `${flag} ${why}, got '${maskUrl(url)}' (expected redis://[:PASSWORD@]HOST[:PORT][/DB] or rediss://… for TLS)`);

/** `url` with its password replaced by `***` (a URL that does not parse is cut before any '@'). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, '');
  } catch {
    const at = url.lastIndexOf('@');
    return at >= 0 ? `***${url.slice(at)}` : url;
  }
}

/**
 * Parse a Redis URL (E_OPTION naming `flag` when it is not one). The password and user name are
 * URL-decoded (a password with '@' or '/' is written %40, %2F); a password can also come from
 * `passwordFallback` (e.g. the ZENNAS_REDIS_PASSWORD environment variable) so it need not sit on a
 * command line where `ps` shows it.
 */
export function parseRedisUrl(url: string, flag = '--redis', passwordFallback?: string): RedisTarget {
  if (typeof url !== 'string' || url.trim() === '') throw usage(flag, 'must be a Redis URL', String(url));
  let u: URL;
  try {
    u = new URL(url.trim());
  } catch {
    throw usage(flag, 'is not a URL', url);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw usage(flag, `must start with redis:// or rediss://, not ${u.protocol}//`, url);
  if (!u.hostname) throw usage(flag, 'names no host', url);
  if (u.search || u.hash) throw usage(flag, 'takes no query or fragment', url);
  const port = u.port === '' ? 6379 : Number(u.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw usage(flag, `has port ${u.port}, not 1..65535`, url);
  const path = u.pathname.replace(/^\//, '');
  if (path !== '' && !/^\d{1,2}$/.test(path)) throw usage(flag, `has database '${path}', not a number 0..99`, url);
  const db = path === '' ? 0 : Number(path);
  let username: string | undefined;
  let password: string | undefined;
  try {
    username = u.username ? decodeURIComponent(u.username) : undefined;
    password = u.password ? decodeURIComponent(u.password) : undefined;
  } catch {
    throw usage(flag, 'has a badly %-encoded user or password', url);
  }
  if (password === undefined && passwordFallback) password = passwordFallback;
  // A bare IPv6 host comes as [::1]: ioredis wants it without brackets.
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const tls = u.protocol === 'rediss:';
  let ca: Buffer | undefined;
  const caFile = process.env.ZENNAS_REDIS_CA;
  if (tls && caFile) {
    try {
      ca = fs.readFileSync(caFile);
    } catch (e) {
      throw new ZennasError('E_IO', `ZENNAS_REDIS_CA: cannot read the CA file '${caFile}': ${(e as Error).message}`);
    }
  }
  // SNI takes host names only (RFC 6066); an IP address is checked against the certificate's IP SANs.
  const isIp = /^[\d.]+$/.test(host) || host.includes(':');
  const connection: RedisConnection = {
    host, port, db,
    ...(username !== undefined ? { username } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(tls ? { tls: { ...(isIp ? {} : { servername: host }), ...(ca ? { ca } : {}) } } : {}),
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    retryStrategy: (times: number) => Math.min(1000, 50 * times),
  };
  return { connection, display: maskUrl(url.trim()), tls };
}
