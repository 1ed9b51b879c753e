// Where Redis is: `state.redis` (a URL or the object form) read once, when the configuration is validated
// (config/schema.ts); the Redis store takes the normalised connection and never reads the setting again.
import { BrokerError, ErrorCode } from '../errors.js';

/** host:port of one Redis node or Sentinel. */
export interface RedisNode {
  host: string;
  port: number;
}

/** Where Redis is, normalised from `state.redis` (a URL or the object form). */
export type RedisConnection =
  | { mode: 'standalone'; url: string; keyPrefix?: string }
  | { mode: 'sentinel'; sentinels: RedisNode[]; name: string; db?: number; username?: string; password?: string; sentinelPassword?: string; tls?: boolean; keyPrefix?: string }
  | { mode: 'cluster'; nodes: RedisNode[]; username?: string; password?: string; tls?: boolean; keyPrefix?: string };

/** `state.redis` as the config schema accepts it. */
export type RedisSetting =
  | string
  | {
      url?: string;
      sentinels?: string[];
      name?: string;
      cluster?: string[];
      db?: number;
      username?: string;
      password?: string;
      sentinelPassword?: string;
      tls?: boolean;
      keyPrefix?: string;
    };

function node(text: string, what: string): RedisNode {
  const m = /^(?:\[([^\]]+)\]|([^:/\s]+))(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new BrokerError(ErrorCode.CONFIG_INVALID, `${what}: "${text}" is not host:port`);
  return { host: m[1] ?? m[2]!, port: m[3] ? Number(m[3]) : what.includes('sentinel') ? 26379 : 6379 };
}

/**
 * Reads `state.redis`. Besides redis:// and rediss:// URLs this accepts
 * `redis+sentinel://[user:password@]host:port[,host:port…]/<master name>[/<db>]` (and rediss+sentinel:// for TLS) and
 * `redis+cluster://[user:password@]host:port[,host:port…]` (rediss+cluster://), or the object form.
 */
export function parseRedisSetting(setting: RedisSetting): RedisConnection {
  if (typeof setting !== 'string') {
    const { url, sentinels, cluster, name, keyPrefix, ...auth } = setting;
    const chosen = [url, sentinels, cluster].filter((x) => x !== undefined).length;
    if (chosen !== 1) throw new BrokerError(ErrorCode.CONFIG_INVALID, 'state.redis: give exactly one of url, sentinels or cluster');
    if (url !== undefined) {
      const parsed = parseRedisSetting(url);
      return { ...parsed, ...(keyPrefix ? { keyPrefix } : {}) };
    }
    if (sentinels) {
      if (!name) throw new BrokerError(ErrorCode.CONFIG_INVALID, 'state.redis.name (the Sentinel master name) is required with sentinels');
      return { mode: 'sentinel', sentinels: sentinels.map((s) => node(s, 'state.redis.sentinels')), name, ...auth, ...(keyPrefix ? { keyPrefix } : {}) };
    }
    const { db: _db, sentinelPassword: _sp, ...clusterAuth } = auth;
    return { mode: 'cluster', nodes: cluster!.map((s) => node(s, 'state.redis.cluster')), ...clusterAuth, ...(keyPrefix ? { keyPrefix } : {}) };
  }
  const m = /^(rediss?)\+(sentinel|cluster):\/\/(?:([^@/]*)@)?([^/]+)(?:\/(.*))?$/.exec(setting);
  if (!m) {
    if (!/^rediss?:\/\/\S+$/.test(setting)) throw new BrokerError(ErrorCode.CONFIG_INVALID, 'state.redis: expected a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL');
    return { mode: 'standalone', url: setting };
  }
  const [, scheme, kind, userinfo, hosts, path] = m;
  const tls = scheme === 'rediss';
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo) {
    const i = userinfo.indexOf(':');
    username = decodeURIComponent(i < 0 ? userinfo : userinfo.slice(0, i)) || undefined;
    password = i < 0 ? undefined : decodeURIComponent(userinfo.slice(i + 1));
  }
  const creds = { ...(username ? { username } : {}), ...(password ? { password } : {}), ...(tls ? { tls } : {}) };
  if (kind === 'cluster') return { mode: 'cluster', nodes: hosts!.split(',').map((h) => node(h, 'redis+cluster URL')), ...creds };
  const [name, db] = (path ?? '').split('/');
  if (!name) throw new BrokerError(ErrorCode.CONFIG_INVALID, 'redis+sentinel URL: the master name is missing (redis+sentinel://host:26379/mymaster)');
  if (db !== undefined && db !== '' && !/^\d+$/.test(db)) throw new BrokerError(ErrorCode.CONFIG_INVALID, `redis+sentinel URL: database "${db}" is not a number`);
  return {
    mode: 'sentinel', sentinels: hosts!.split(',').map((h) => node(h, 'redis+sentinel URL')), name: decodeURIComponent(name),
    ...(db ? { db: Number(db) } : {}), ...creds,
  };
}

