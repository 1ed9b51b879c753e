// GrantStore on Redis (standalone, Sentinel or Cluster): shared by several broker instances, plus the
// live-session index and the pub/sub channel the session fan-out uses.
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { BrokerError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { GRANT_ENDED_MESSAGE, type AccessRequest, type Grant, type GrantStatus, type GrantStore, type RequestStatus, type ReviewRecord, type ClusterBus, type LiveSessionRecord } from './model.js';

import type { RedisConnection } from '../config/redis.js';

export type { RedisConnection };
export type { LiveSessionRecord } from './model.js';

export interface RedisStoreOptions {
  logger?: Logger;
  /** how long ended grants, decided requests and reviews stay readable after they end (audit look-ups) */
  retentionMs?: number;
  /** how long start-up waits for the first connection before going on as not ready */
  connectWaitMs?: number;
  /** clock in ms since the epoch */
  now?: () => number;
}

const DAY = 24 * 60 * 60_000;
const DEFAULT_RETENTION_MS = 30 * DAY;
const COMMAND_TIMEOUT_MS = 3000;
/** how long the end of a grant waits for a replica's acknowledgement in Sentinel mode (see waitReplicated) */
const REPLICA_WAIT_MS = 1000;
/** how long an end heard of on the bus is remembered when the grant's own deadline cannot be read */
const HEARD_END_KEEP_MS = DAY;
const MAX_KNOWN_ENDS = 100_000;

const REQUEST_STATUSES: readonly RequestStatus[] = ['pending', 'active', 'denied', 'expired', 'revoked'];
const GRANT_STATUSES: readonly GrantStatus[] = ['active', 'expired', 'revoked'];
const REVIEW_STATUSES: readonly ReviewRecord['status'][] = ['pending', 'approved', 'denied', 'used', 'expired'];

type Client = Redis | Cluster;

/**
 * Fail fast while Redis is away: commands are not queued for later (a login must be refused now, not hang),
 * and reconnects go on forever with a capped backoff.
 */
const COMMON: RedisOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  commandTimeout: COMMAND_TIMEOUT_MS,
  connectTimeout: 5000,
  retryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 2000),
};

function createClient(c: RedisConnection): Client {
  if (c.mode === 'standalone') return new Redis(c.url, { ...COMMON });
  if (c.mode === 'sentinel') {
    return new Redis({
      ...COMMON,
      sentinels: c.sentinels,
      name: c.name,
      ...(c.db !== undefined ? { db: c.db } : {}),
      ...(c.username ? { username: c.username } : {}),
      ...(c.password ? { password: c.password } : {}),
      ...(c.sentinelPassword ? { sentinelPassword: c.sentinelPassword } : {}),
      ...(c.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    });
  }
  return new Cluster(c.nodes, {
    enableOfflineQueue: false,
    clusterRetryStrategy: (attempt: number) => Math.min(100 * 2 ** Math.min(attempt, 6), 2000),
    redisOptions: {
      ...COMMON,
      ...(c.username ? { username: c.username } : {}),
      ...(c.password ? { password: c.password } : {}),
      ...(c.tls ? { tls: {} } : {}),
    },
  });
}

// One Lua script writes a document with its indexes, so a crash or a second instance never sees a
// document without its index entries. Every key carries the same {hash tag}: on a Redis Cluster they
// live in one slot, which multi-key scripts require.
//
// The scripts also enforce the state machine across instances. AccessService serialises changes inside
// one process only; these guards stop two instances from both activating one request (two grants),
// resurrecting a revoked grant through a concurrent extend, issuing a password twice, or using an
// approved review twice.
//
// KEYS: 1 doc, 2 all-index (zset), 3 login key (grants) | unused, 4 request-claim key | unused,
//       5 request doc | unused, 6.. one status set per status in ARGV order
// ARGV: 1 kind, 2 id, 3 json, 4 new status, 5 score, 6 pexpireat (0 = none), 7 count of statuses, 8.. statuses
/**
 * The one form of a Lua script's refusal: `DBWARDEN <BRK code> <message>`. The scripts name the codes through
 * these constants and storeRefusal() reads them back in one place, so a guard never travels as free text.
 */
const REFUSAL_PREFIX = 'DBWARDEN ';
const REFUSAL_CODES: ReadonlySet<string> = new Set<ErrorCode>([ErrorCode.WRONG_STATE, ErrorCode.GONE]);
const luaRefusal = (code: ErrorCode) => `'${REFUSAL_PREFIX}${code} '`;
const WRONG_STATE = luaRefusal(ErrorCode.WRONG_STATE);
const GONE = luaRefusal(ErrorCode.GONE);

/** A script's refusal as the BrokerError it stands for (409/410 at the API); null for any other error. */
export function storeRefusal(message: string): BrokerError | null {
  const at = message.indexOf(REFUSAL_PREFIX);
  if (at < 0) return null;
  const rest = message.slice(at + REFUSAL_PREFIX.length);
  const space = rest.indexOf(' ');
  const code = space < 0 ? rest : rest.slice(0, space);
  return REFUSAL_CODES.has(code) ? new BrokerError(code as ErrorCode, space < 0 ? '' : rest.slice(space + 1)) : null;
}

const PUT_SCRIPT = `
local kind, id, json, status, score, expireAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
local nstatus = tonumber(ARGV[7])
local old = redis.call('GET', KEYS[1])
local oldDoc = nil
if old then oldDoc = cjson.decode(old) end
local new = cjson.decode(json)
if oldDoc then
  local os = oldDoc.status
  if kind == 'grant' then
    if os ~= 'active' then
      if status == os then return 'unchanged' end
      return redis.error_reply(${WRONG_STATE} .. 'grant ' .. id .. ' is ' .. os .. ', not active')
    end
    if type(oldDoc.verifiers) == 'table' and (type(new.verifiers) ~= 'table' or new.verifiers.scramSha256 ~= oldDoc.verifiers.scramSha256) then
      return redis.error_reply(${GONE} .. 'the credentials of grant ' .. id .. ' were already issued')
    end
  elseif kind == 'request' then
    if os == 'active' then
      if status ~= 'active' and status ~= 'expired' and status ~= 'revoked' then
        return redis.error_reply(${WRONG_STATE} .. 'request ' .. id .. ' is active, not pending')
      end
      if new.grantId ~= oldDoc.grantId then
        return redis.error_reply(${WRONG_STATE} .. 'request ' .. id .. ' already has grant ' .. tostring(oldDoc.grantId))
      end
      if oldDoc.credentialsIssued == true and new.credentialsIssued ~= true then
        return redis.error_reply(${GONE} .. 'the credentials of request ' .. id .. ' were already issued')
      end
    elseif os ~= 'pending' and status ~= os then
      return redis.error_reply(${WRONG_STATE} .. 'request ' .. id .. ' is ' .. os .. ', not pending')
    end
  elseif kind == 'review' then
    if (os == 'used' or os == 'denied' or os == 'expired') and (status ~= os or os == 'used') then
      return redis.error_reply(${WRONG_STATE} .. 'review ' .. id .. ' is ' .. os)
    end
    if os == 'approved' and status == 'pending' then
      return redis.error_reply(${WRONG_STATE} .. 'review ' .. id .. ' is approved')
    end
  end
end
if kind == 'grant' then
  -- a login names exactly one grant, ever; a request yields at most one grant
  local owner = redis.call('GET', KEYS[3])
  if owner and owner ~= id then return redis.error_reply(${WRONG_STATE} .. 'login ' .. new.login .. ' is taken') end
  local claimed = redis.call('GET', KEYS[4])
  if claimed and claimed ~= id then
    return redis.error_reply(${WRONG_STATE} .. 'request ' .. new.requestId .. ' already has grant ' .. claimed)
  end
  if not oldDoc then
    local req = redis.call('GET', KEYS[5])
    if req then
      local rs = cjson.decode(req).status
      if rs ~= 'pending' then return redis.error_reply(${WRONG_STATE} .. 'request ' .. new.requestId .. ' is ' .. rs .. ', not pending') end
    end
  end
  redis.call('SET', KEYS[3], id)
  redis.call('SET', KEYS[4], id)
  if expireAt > 0 then
    redis.call('PEXPIREAT', KEYS[3], expireAt)
    redis.call('PEXPIREAT', KEYS[4], expireAt)
  end
end
redis.call('SET', KEYS[1], json)
if expireAt > 0 then redis.call('PEXPIREAT', KEYS[1], expireAt) else redis.call('PERSIST', KEYS[1]) end
redis.call('ZADD', KEYS[2], score, id)
for i = 1, nstatus do
  if ARGV[7 + i] == status then redis.call('SADD', KEYS[5 + i], id) else redis.call('SREM', KEYS[5 + i], id) end
end
return 'ok'
`;

type Kind = 'request' | 'grant' | 'review';

/** A grant end this instance stored or heard of on the bus, kept until the grant's deadline has passed. */
interface KnownEnd {
  status: 'revoked' | 'expired';
  endedAt: string;
  endedBy: string;
  /** ms since the epoch after which the clock refuses the grant anyway, so the memory can go */
  until: number;
}

export type FanoutHandler = (message: Record<string, unknown>) => void;

export class RedisStore implements GrantStore {
  /** the shared store is also the bus that carries revoke, kill and live-session listings across instances */
  readonly cluster: ClusterBus = this;

  readonly kind = 'redis' as const;
  private readonly prefix: string;
  private readonly retentionMs: number;
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  private subscriber?: Client;
  private readonly handlers = new Set<FanoutHandler>();
  private lastError = '';
  private closed = false;
  /**
   * Defends against a store that forgets that a grant ended. Redis replicates asynchronously: when a Sentinel
   * failover promotes a replica that had not yet received a revoke, the store holds the grant as active again,
   * and its credentials would log in. Every instance that stored the end or heard of it on the bus remembers it
   * here, answers reads with the ended grant whatever the store says, and writes the end back (reassertEnd).
   */
  private readonly knownEnds = new Map<string, KnownEnd>();
  private readonly reasserting = new Set<string>();

  private constructor(
    private readonly client: Client,
    private readonly connection: RedisConnection,
    options: RedisStoreOptions,
  ) {
    // The hash tag keeps every key in one Cluster slot; the prefix lets deployments share a Redis.
    this.prefix = `{${connection.keyPrefix ?? 'dbwarden'}}:`;
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.now = options.now ?? Date.now;
    this.log = options.logger?.child({ component: 'redis-store' });
    client.defineCommand('dbwPut', { lua: PUT_SCRIPT });
    client.on('error', (e: Error) => this.noteError(e));
    client.on('ready', () => {
      if (this.lastError) this.log?.info('redis reachable again');
      this.lastError = '';
      // a reconnect may be to a promoted replica that lacks recent ends: check them now, not at the next look-up
      if (this.knownEnds.size > 0) void this.checkKnownEnds();
    });
    client.on('close', () => {
      if (!this.closed && !this.lastError) this.lastError = 'connection closed';
    });
  }

  /**
   * Connects and waits up to connectWaitMs for Redis. A broker that starts while Redis is down still
   * starts: it refuses logins and reports not ready until Redis answers.
   */
  /** `connection`: state.redis as config/schema.ts validated and normalised it (config/redis.ts). */
  static async connect(connection: RedisConnection, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const store = new RedisStore(createClient(connection), connection, options);
    await store.waitReady(options.connectWaitMs ?? 5000);
    if (!store.ready()) store.log?.warn({ reason: store.unavailableReason() }, 'redis not reachable at start; logins are refused until it is');
    return store;
  }

  ready(): boolean {
    return !this.closed && this.client.status === 'ready';
  }

  /** Why the store is not ready, for /readyz and logs; empty when ready. */
  unavailableReason(): string {
    if (this.ready()) return '';
    return `redis ${this.client.status}${this.lastError ? `: ${this.lastError}` : ''}`;
  }

  // ---- GrantStore ----

  async putRequest(r: AccessRequest): Promise<void> {
    // Pending and active requests stay; once decided or ended they are kept for the retention period.
    const ended = r.status !== 'pending' && r.status !== 'active';
    await this.put('request', r.id, r, r.status, Date.parse(r.createdAt), ended ? this.now() + this.retentionMs : 0, REQUEST_STATUSES);
  }

  getRequest(id: string): Promise<AccessRequest | undefined> {
    return this.getDoc<AccessRequest>('request', id);
  }

  async listRequests(filter: { status?: RequestStatus; requester?: string } = {}): Promise<AccessRequest[]> {
    const docs = await this.list<AccessRequest>('request', filter.status);
    return docs.filter((r) => (!filter.status || r.status === filter.status) && (!filter.requester || r.requester === filter.requester));
  }

  async putGrant(g: Grant): Promise<void> {
    // Kept until well after it ends (audit look-ups, login uniqueness), then Redis drops it.
    const end = Math.max(Date.parse(g.expiresAt), g.endedAt ? Date.parse(g.endedAt) : 0);
    await this.put('grant', g.id, g, g.status, Date.parse(g.activatedAt), end + this.retentionMs, GRANT_STATUSES, {
      login: this.key(`login:${g.login}`),
      claim: this.key(`request-grant:${g.requestId}`),
      request: this.key(`request:${g.requestId}`),
    });
    if (g.status !== 'active') this.rememberEnd(g.id, { status: g.status, endedAt: g.endedAt ?? new Date(this.now()).toISOString(), endedBy: g.endedBy ?? 'unknown', until: Date.parse(g.expiresAt) });
  }

  async getGrant(id: string): Promise<Grant | undefined> {
    const g = await this.getDoc<Grant>('grant', id);
    return g && this.withKnownEnd(g);
  }

  async getGrantByLogin(login: string): Promise<Grant | undefined> {
    const id = await this.run(() => this.client.get(this.key(`login:${login}`)));
    return id ? this.getGrant(id) : undefined;
  }

  async listGrants(filter: { status?: GrantStatus } = {}): Promise<Grant[]> {
    const docs = (await this.list<Grant>('grant', filter.status)).map((g) => this.withKnownEnd(g));
    return filter.status ? docs.filter((g) => g.status === filter.status) : docs;
  }

  /**
   * In Sentinel mode, waits up to REPLICA_WAIT_MS for a replica to acknowledge this connection's writes (Redis
   * WAIT). Without it, a failover right after a revoke promotes a replica that never saw it; instances that
   * remember the end still refuse the grant (knownEnds), but one started after the failover would not.
   */
  async waitReplicated(): Promise<void> {
    if (this.connection.mode !== 'sentinel' || this.closed) return;
    try {
      const acknowledged = await (this.client as Redis).wait(1, REPLICA_WAIT_MS);
      if (acknowledged < 1) {
        this.log?.warn({ waitedMs: REPLICA_WAIT_MS }, 'no replica acknowledged the end of a grant; a failover now could restore it in the store (instances that know of the end still refuse it)');
      }
    } catch (e) {
      this.log?.warn({ err: (e as Error).message }, 'could not wait for a replica to acknowledge the end of a grant');
    }
  }

  async putReview(r: ReviewRecord): Promise<void> {
    const expireAt = Math.max(Date.parse(r.createdAt), r.validUntil ? Date.parse(r.validUntil) : 0) + this.retentionMs;
    await this.put('review', r.id, r, r.status, Date.parse(r.createdAt), expireAt, REVIEW_STATUSES);
  }

  getReview(id: string): Promise<ReviewRecord | undefined> {
    return this.getDoc<ReviewRecord>('review', id);
  }

  async listReviews(filter: { status?: ReviewRecord['status'] } = {}): Promise<ReviewRecord[]> {
    const docs = await this.list<ReviewRecord>('review', filter.status);
    return filter.status ? docs.filter((r) => r.status === filter.status) : docs;
  }

  // ---- live sessions of every instance ----

  /** Adds or updates one session of `instance`; the instance's entry lives `ttlMs` unless a heartbeat renews it. */
  async putLiveSession(record: LiveSessionRecord, ttlMs: number): Promise<void> {
    const key = this.key(`sessions:${record.instance}`);
    await this.run(() =>
      this.client.multi().hset(key, record.id, JSON.stringify(record)).pexpire(key, ttlMs).zadd(this.key('instances'), this.now() + ttlMs, record.instance).exec(),
    );
  }

  async removeLiveSession(instance: string, id: string): Promise<void> {
    await this.run(() => this.client.hdel(this.key(`sessions:${instance}`), id));
  }

  /** Heartbeat: replaces everything `instance` published, so a missed remove heals within one beat. */
  async replaceLiveSessions(instance: string, records: LiveSessionRecord[], ttlMs: number): Promise<void> {
    const key = this.key(`sessions:${instance}`);
    const tx = this.client.multi().del(key);
    if (records.length > 0) {
      tx.hset(key, Object.fromEntries(records.map((r) => [r.id, JSON.stringify(r)])));
      tx.pexpire(key, ttlMs);
    }
    tx.zadd(this.key('instances'), this.now() + ttlMs, instance);
    await this.run(() => tx.exec());
  }

  /** Sessions of every instance whose heartbeat is current; an instance that died drops out after its TTL. */
  async listLiveSessions(): Promise<LiveSessionRecord[]> {
    const now = this.now();
    const instances = await this.run(() => this.client.zrangebyscore(this.key('instances'), now, '+inf'));
    void this.client.zremrangebyscore(this.key('instances'), '-inf', now - 1).catch(() => undefined);
    const out: LiveSessionRecord[] = [];
    for (const instance of instances) {
      const values = await this.run(() => this.client.hvals(this.key(`sessions:${instance}`)));
      for (const v of values) out.push(JSON.parse(v) as LiveSessionRecord);
    }
    return out;
  }

  async dropInstance(instance: string): Promise<void> {
    await this.run(() => this.client.multi().del(this.key(`sessions:${instance}`)).zrem(this.key('instances'), instance).exec());
  }

  // ---- pub/sub ----

  /** Sends a message to every instance (this one included). Fire-and-forget, like Redis pub/sub itself. */
  async publish(message: Record<string, unknown>): Promise<void> {
    await this.run(() => this.client.publish(this.key('events'), JSON.stringify(message)));
  }

  /** Receives every published message; the subscription is renewed after reconnects. */
  async subscribe(handler: FanoutHandler): Promise<void> {
    this.handlers.add(handler);
    if (this.subscriber) return;
    // The subscriber may queue its SUBSCRIBE until connected: unlike a login, nothing waits on it.
    const queueing = { enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined };
    const sub: Client = this.client instanceof Cluster
      ? this.client.duplicate(undefined, { enableOfflineQueue: true, redisOptions: { ...COMMON, ...queueing } })
      : this.client.duplicate(queueing);
    this.subscriber = sub;
    sub.on('error', (e: Error) => this.log?.debug({ err: e.message }, 'redis subscriber error'));
    sub.on('message', (channel: string, text: string) => {
      if (channel !== this.key('events')) return;
      let message: Record<string, unknown>;
      try {
        message = JSON.parse(text) as Record<string, unknown>;
      } catch {
        this.log?.warn('ignored a malformed fan-out message');
        return;
      }
      this.heardEnd(message);
      for (const h of this.handlers) {
        try {
          h(message);
        } catch (e) {
          this.log?.warn({ err: (e as Error).message }, 'fan-out handler failed');
        }
      }
    });
    // A broker starting while Redis is down subscribes when it comes back; ioredis renews it after reconnects.
    const subscribed = sub.subscribe(this.key('events')).then(
      () => undefined,
      (e: Error) => this.log?.warn({ err: e.message }, 'redis subscribe failed'),
    );
    // belt and braces after a Redis restart: SUBSCRIBE again is harmless, a lost subscription is not
    sub.on('ready', () => void sub.subscribe(this.key('events')).catch(() => undefined));
    if (this.ready()) await Promise.race([subscribed, new Promise((r) => setTimeout(r, 2000).unref())]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.handlers.clear();
    await Promise.all([this.subscriber, this.client].map((c) => c?.quit().catch(() => c.disconnect())));
  }

  /** Where the store connects, without credentials, for logs. */
  describe(): string {
    const c = this.connection;
    if (c.mode === 'standalone') return c.url.replace(/\/\/[^@/]*@/, '//***@');
    if (c.mode === 'sentinel') return `sentinel ${c.name} via ${c.sentinels.map((n) => `${n.host}:${n.port}`).join(',')}`;
    return `cluster ${c.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  }

  // ---- internals ----

  private rememberEnd(id: string, end: KnownEnd): void {
    const now = this.now();
    if (this.knownEnds.size >= 1024) for (const [k, e] of this.knownEnds) if (e.until <= now) this.knownEnds.delete(k);
    // a flood of (forged) bus messages must not grow memory without bound: the oldest memories go first
    if (this.knownEnds.size >= MAX_KNOWN_ENDS) this.knownEnds.delete(this.knownEnds.keys().next().value!);
    if (end.until > now && !this.knownEnds.has(id)) this.knownEnds.set(id, end);
  }

  /** An end announced on the bus by another instance: remembered now, with the grant's deadline read later. */
  private heardEnd(m: Record<string, unknown>): void {
    const id = m.grantId;
    const status = m.reason;
    if (m.type !== GRANT_ENDED_MESSAGE || typeof id !== 'string' || (status !== 'revoked' && status !== 'expired')) return;
    if (this.knownEnds.has(id)) return;
    this.rememberEnd(id, { status, endedAt: new Date(this.now()).toISOString(), endedBy: 'unknown', until: this.now() + HEARD_END_KEEP_MS });
    this.getDoc<Grant>('grant', id).then(
      (g) => {
        const known = this.knownEnds.get(id);
        if (!known) return;
        if (!g) {
          this.knownEnds.delete(id); // no such grant: nothing to defend
          return;
        }
        known.until = Date.parse(g.expiresAt);
        if (g.status !== 'active') Object.assign(known, { endedAt: g.endedAt ?? known.endedAt, endedBy: g.endedBy ?? known.endedBy });
        else this.withKnownEnd(g);
      },
      () => undefined,
    );
  }

  /** Reads every remembered end back from the store and writes again the ones it lost. */
  private async checkKnownEnds(): Promise<void> {
    const now = this.now();
    for (const [id, known] of [...this.knownEnds]) {
      if (known.until <= now) {
        this.knownEnds.delete(id);
        continue;
      }
      try {
        const g = await this.getDoc<Grant>('grant', id);
        if (g) this.withKnownEnd(g);
      } catch {
        return; // the store went away again; the next reconnect checks again
      }
    }
  }

  /** The grant as this instance knows it: a stored "active" loses to an end it stored or heard of. */
  private withKnownEnd(g: Grant): Grant {
    const known = g.status === 'active' ? this.knownEnds.get(g.id) : undefined;
    if (!known) return g;
    const ended: Grant = { ...g, status: known.status, endedAt: known.endedAt, endedBy: known.endedBy };
    this.reassertEnd(ended);
    return ended;
  }

  /** Writes an end the store lost back into it, once at a time per grant. */
  private reassertEnd(ended: Grant): void {
    if (this.reasserting.has(ended.id) || this.closed) return;
    this.reasserting.add(ended.id);
    this.log?.warn({ grantId: ended.id, status: ended.status }, 'the store holds a grant as active that ended (writes lost at a failover?); storing its end again');
    this.putGrant(ended)
      .catch((e) => this.log?.warn({ err: (e as Error).message, grantId: ended.id }, 'could not store the end of a grant again'))
      .finally(() => this.reasserting.delete(ended.id));
  }

  private key(rest: string): string {
    return this.prefix + rest;
  }

  private statusKey(kind: Kind, status: string): string {
    return this.key(`${kind}s:status:${status}`);
  }

  private async put(
    kind: Kind, id: string, doc: object, status: string, score: number, expireAt: number, statuses: readonly string[],
    grantKeys?: { login: string; claim: string; request: string },
  ): Promise<void> {
    const unused = this.key('unused');
    const keys = [
      this.key(`${kind}:${id}`), this.key(`${kind}s`), grantKeys?.login ?? unused, grantKeys?.claim ?? unused, grantKeys?.request ?? unused,
      ...statuses.map((s) => this.statusKey(kind, s)),
    ];
    const args = [kind, id, JSON.stringify(doc), status, String(Number.isFinite(score) ? score : 0), String(expireAt > 0 ? Math.round(expireAt) : 0), String(statuses.length), ...statuses];
    await this.run(() => (this.client as unknown as { dbwPut(n: number, ...a: string[]): Promise<string> }).dbwPut(keys.length, ...keys, ...args));
  }

  private async getDoc<T>(kind: Kind, id: string): Promise<T | undefined> {
    const text = await this.run(() => this.client.get(this.key(`${kind}:${id}`)));
    return text ? (JSON.parse(text) as T) : undefined;
  }

  /** Documents of one kind in index order; ids whose document expired are pruned from the indexes. */
  private async list<T>(kind: Kind, status?: string): Promise<T[]> {
    let ids: string[];
    if (status) {
      const members = await this.run(() => this.client.smembers(this.statusKey(kind, status)));
      if (members.length === 0) return [];
      const scores = await this.run(() => this.client.zmscore(this.key(`${kind}s`), ...members));
      ids = members.map((id, i) => ({ id, score: Number(scores[i] ?? 0) })).sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : 1)).map((x) => x.id);
    } else {
      ids = await this.run(() => this.client.zrange(this.key(`${kind}s`), '0', '-1'));
    }
    if (ids.length === 0) return [];
    const out: T[] = [];
    const gone: string[] = [];
    for (let i = 0; i < ids.length; i += 500) {
      const chunk = ids.slice(i, i + 500);
      const texts = await this.run(() => this.client.mget(chunk.map((id) => this.key(`${kind}:${id}`))));
      texts.forEach((t, j) => (t ? out.push(JSON.parse(t) as T) : gone.push(chunk[j]!)));
    }
    if (gone.length > 0) {
      const tx = this.client.multi().zrem(this.key(`${kind}s`), ...gone);
      for (const s of kind === 'grant' ? GRANT_STATUSES : kind === 'request' ? REQUEST_STATUSES : REVIEW_STATUSES) tx.srem(this.statusKey(kind, s), ...gone);
      void tx.exec().catch(() => undefined);
    }
    return out;
  }

  /** Runs one Redis call; failures become BrokerErrors the API maps to 503 (unreachable) or 409/410 (guards). */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new BrokerError(ErrorCode.STORE_UNAVAILABLE, 'the grant store is closed');
    try {
      return await fn();
    } catch (e) {
      const message = (e as Error).message ?? String(e);
      const refusal = storeRefusal(message);
      if (refusal) throw refusal;
      this.noteError(e as Error);
      throw new BrokerError(ErrorCode.STORE_UNAVAILABLE, `the grant store is unavailable: ${message}`, { cause: e });
    }
  }

  private noteError(e: Error): void {
    const message = e.message || (e as { code?: string }).code || 'error';
    if (message !== this.lastError) this.log?.warn({ err: message }, 'redis error');
    this.lastError = message;
  }

  private waitReady(ms: number): Promise<void> {
    if (this.ready()) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.client.once('ready', done);
    });
  }
}
