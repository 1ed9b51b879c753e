// The dbwarden.yaml schema (docs/configuration.md is generated from it): strict objects, defaults, and cross-field checks with clear messages.
import { parseRedisSetting, type RedisConnection, type RedisSetting } from './redis.js';
import { posix } from 'node:path';
import { z } from 'zod';
import { parseDuration } from './duration.js';
import { parseHostPort } from './host-port.js';

import { ACCESS_LEVELS } from '../access.js';

export { ACCESS_LEVELS };

/**
 * Target and identity names end up in metrics labels, URLs and temporary logins, so they are kept to a
 * plain alphabet; ':' is excluded because "group:x" marks a group in requester lists.
 */
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const NAME_RULE = 'letters, digits, "_", "." and "-" (starting with a letter or digit, at most 63 characters)';

const nonEmpty = z.string().min(1);

/**
 * An integer that may also be written as a string of digits, so `port: ${DB_PORT}` works: ${ENV}
 * substitution always yields strings (a numeric password must stay a string).
 */
const int = (schema: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^\d{1,15}$/.test(v.trim()) ? Number(v.trim()) : v), schema);

const listenAddress = z.string().superRefine((value, ctx) => {
  const parsed = parseHostPort(value);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const durationString = z.string().superRefine((value, ctx) => {
  try {
    parseDuration(value);
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message });
  }
});

/** "*", "group:<group>" or an identity name. */
const principal = z
  .string()
  .regex(/^(\*|group:[^\s:]+|[A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/, 'expected "*", "group:<name>" or an identity name');

const ListenSchema = z.strictObject({
  /** PostgreSQL wire-protocol listener; omit to disable PostgreSQL clients. */
  postgres: listenAddress.optional(),
  /** MySQL wire-protocol listener; omit to disable MySQL clients. */
  mysql: listenAddress.optional(),
  /** HTTP admin API, /metrics, /healthz and /readyz. */
  admin: listenAddress.default('127.0.0.1:7080'),
});

const ClientTlsSchema = z.strictObject({
  /** PEM certificate presented to clients; with keyFile. Without both, a self-signed pair is generated into state.dir. */
  certFile: nonEmpty.optional(),
  /** PEM private key for certFile. */
  keyFile: nonEmpty.optional(),
  /** prefer: offer TLS; require: refuse clients that do not upgrade; disable: never offer it. */
  clients: z.enum(['prefer', 'require', 'disable']).default('prefer'),
  /**
   * PostgreSQL clients connected over TLS are asked for their password in cleartext instead of SCRAM (for
   * drivers without SCRAM). Never offered without TLS, where it would expose the password on the wire.
   */
  passwordOverTls: z.boolean().default(false),
});

/** "host:port" of a Redis node or Sentinel (port optional: 6379, Sentinels 26379). */
const redisNode = z.string().regex(/^(\[[^\]]+\]|[^:\s/]+)(:\d{1,5})?$/, 'expected host:port');

/**
 * Redis for state.store redis, as a URL or an object. URLs: redis://[user:password@]host:port/db, rediss:// (TLS),
 * redis+sentinel://[:password@]host:port[,host:port…]/<master name>[/db] (rediss+sentinel:// for TLS),
 * redis+cluster://[:password@]host:port[,host:port…] (rediss+cluster://).
 */
const RedisObjectSchema = z
  .strictObject({
    /** A plain redis:// or rediss:// URL (one of url, sentinels, cluster). */
    url: z.string().regex(/^rediss?:\/\/\S+$/, 'expected a redis:// or rediss:// URL').optional(),
    /** Sentinels ("host:port") that know the master named by `name`. */
    sentinels: z.array(redisNode).min(1).optional(),
    /** Sentinel master group name; required with sentinels. */
    name: nonEmpty.optional(),
    /** Cluster seed nodes ("host:port"); the rest are discovered. */
    cluster: z.array(redisNode).min(1).optional(),
    /** Database number (standalone and Sentinel only; a Cluster has only 0). */
    db: int(z.number().int().min(0).max(255)).optional(),
    /** ACL user name. */
    username: nonEmpty.optional(),
    /** Password for the Redis nodes; use ${ENV}. */
    password: z.string().optional(),
    /** Password for the Sentinels when it differs. */
    sentinelPassword: z.string().optional(),
    /** TLS to Redis (and to the Sentinels). */
    tls: z.boolean().optional(),
    /** Key namespace, so several deployments can share one Redis; default "dbwarden". */
    keyPrefix: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." and "-"').optional(),
  })
  .superRefine((r, ctx) => {
    const given = (['url', 'sentinels', 'cluster'] as const).filter((k) => r[k] !== undefined);
    if (given.length !== 1) ctx.addIssue({ code: 'custom', message: 'give exactly one of url, sentinels or cluster' });
    if (r.sentinels && !r.name) ctx.addIssue({ code: 'custom', path: ['name'], message: 'the Sentinel master name is required with sentinels' });
    if (r.cluster && r.db !== undefined && r.db !== 0) ctx.addIssue({ code: 'custom', path: ['db'], message: 'a Redis Cluster has only database 0' });
  });

const RedisSetting = z.union([
  z.string().regex(/^(rediss?:\/\/\S+|rediss?\+sentinel:\/\/[^/\s]+\/[^/\s]+(\/\d+)?|rediss?\+cluster:\/\/[^/\s]+\/?)$/, 'expected a redis://, rediss://, redis+sentinel://…/<master> or redis+cluster:// URL'),
  RedisObjectSchema,
]);

const StateSchema = z.strictObject({
  /** Folder for the embedded store, the audit file and generated certificates. */
  dir: nonEmpty.default('./.dbwarden'),
  /** embedded: one node, SQLite file in dir; redis: shared by several broker instances. */
  store: z.enum(['embedded', 'redis']).default('embedded'),
  /**
   * Redis, required when store is redis: a URL (redis://, rediss://, redis+sentinel://, redis+cluster://) or
   * { url | sentinels + name | cluster, db, username, password, sentinelPassword, tls, keyPrefix }.
   * Grants, requests and reviews live there (ended ones are kept 30 days, then expire), with the live sessions
   * of every instance and the channel that carries revoke/kill/expiry to all instances.
   */
  redis: RedisSetting.optional(),
});

const AuditSchema = z.strictObject({
  /** Hash-chained JSON-lines file; default <state.dir>/audit.jsonl. */
  file: nonEmpty.optional(),
  /** full: statement text as sent; normalized: literals replaced by placeholders (keeps data out of the audit). */
  statementText: z.enum(['full', 'normalized']).default('full'),
  /**
   * Rotate the audit file before it grows past this many bytes: audit.jsonl → audit.jsonl.1 → .2 …, the hash chain
   * running on across files (`dbwarden audit verify` checks the whole set). 0 never rotates (then nothing bounds
   * the disk the trail uses). Default 64 MiB.
   */
  maxBytes: int(z.number().int().min(0)).default(64 << 20).refine((n) => n === 0 || n >= 4096, 'use 0 (never rotate) or at least 4096'),
  /**
   * Rotated files kept next to the current one; older ones are deleted at rotation (archive them first if you need
   * them: a shipper that reads audit.jsonl.N is enough). With maxBytes this bounds the trail's disk use to about
   * maxBytes × (keep + 1). 0 keeps every rotated file. Default 10.
   */
  keep: int(z.number().int().min(0)).default(10),
  /**
   * Statement texts longer than this many bytes are recorded cut to it, with textBytes (full length) and textSha256
   * (hash of the full text) added, so many multi-megabyte statements cannot swamp the trail. 0 records every text
   * whole. Default 1 MiB.
   */
  maxStatementBytes: int(z.number().int().min(0)).default(1 << 20),
});

const RoleSchema = z.strictObject({
  /** Upstream user the broker logs in as for this access level. */
  user: nonEmpty,
  /** Upstream password; use ${ENV} rather than writing it into the file. Never shown to users or logged. */
  password: z.string().optional(),
});

const RolesSchema = z.strictObject({
  /** Upstream credentials for read grants. */
  read: RoleSchema.optional(),
  /** Upstream credentials for write grants. */
  write: RoleSchema.optional(),
  /** Upstream credentials for admin grants. */
  admin: RoleSchema.optional(),
  /**
   * MySQL/MariaDB only: credentials used for nothing but reading metadata (information_schema.VIEWS and ROUTINES)
   * so masking can trace view columns and stored functions to the base columns they read. Give it SHOW VIEW and
   * SELECT on mysql.proc (MariaDB) or SHOW_ROUTINE (MySQL). Without it the grant's own role reads the definitions;
   * a view or function whose definition that role may not see is masked entirely while masks apply.
   */
  catalog: RoleSchema.optional(),
});

const TargetSchema = z
  .strictObject({
    /** Wire protocol of the upstream database; clients use the listener of the same protocol. */
    protocol: z.enum(['postgres', 'mysql']),
    /** Upstream host name or address. */
    host: nonEmpty,
    /** Upstream port; default 5432 for postgres, 3306 for mysql. */
    port: int(z.number().int().min(1).max(65535)).optional(),
    /** Databases grants may name; the first is the default when a request names none. */
    databases: z.array(nonEmpty).min(1),
    /** TLS towards the upstream: disable | prefer | require | verify-full (checks certificate and name). */
    tls: z.enum(['disable', 'prefer', 'require', 'verify-full']).default('prefer'),
    /** PEM CA bundle used to verify the upstream certificate (verify-full); default: the system CAs. */
    caFile: nonEmpty.optional(),
    /** Name expected in the upstream certificate when it differs from host. */
    serverName: nonEmpty.optional(),
    /** Rule sets applied to every statement on this target. */
    rulesets: z.array(nonEmpty).default(['safe-defaults']),
    /**
     * How long connecting and logging in upstream may take before the client gets 08006 / 1429 (a hung server or a
     * firewall that drops packets must not hold a client forever). Duration such as "10s".
     */
    connectTimeout: durationString.default('10s'),
    /**
     * Spare upstream connections per role, database and client start-up parameters, opened in the background after
     * a login so the next such login does not wait for the server to start a backend (connect-per-transaction
     * workloads). Each spare is a fresh connection handed to one client only; used connections are never reused.
     * 0 (the default) turns spares off. Each spare holds one upstream connection while it waits; at most 4 × this
     * many are kept per target in all.
     */
    upstreamSpares: int(z.number().int().min(0).max(64)).default(0),
    /** How long a spare upstream connection may wait for a login before it is closed. Duration such as "10s". */
    upstreamSpareIdle: durationString.default('10s'),
    /** Grant access level → upstream credentials. A level without a role cannot be granted here. */
    roles: RolesSchema.prefault({}),
  })
  .transform((t) => ({ ...t, port: t.port ?? (t.protocol === 'postgres' ? 5432 : 3306), connectTimeoutMs: parseDuration(t.connectTimeout), upstreamSpareIdleMs: parseDuration(t.upstreamSpareIdle) }));

const IdentitySchema = z.strictObject({
  /** Hex sha256 of the identity's API token (`dbwarden token new` prints both); the token itself is never stored. */
  tokenSha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected 64 hex characters (the sha256 of the token)'),
  /** Groups for "group:<name>" in access policies and for rule conditions. */
  groups: z.array(nonEmpty).default([]),
});

const PolicySchema = z.strictObject({
  /** Shown in requests and audit events; unique. */
  name: nonEmpty,
  /** Who may request: "*", an identity name or "group:<name>". */
  requesters: z.array(principal).min(1),
  /** Target names this policy covers, or "*". */
  targets: z.array(nonEmpty).min(1).default(['*']),
  /** When given, a request's databases must all be in this list. */
  databases: z.array(nonEmpty).min(1).optional(),
  /** Access levels this policy grants. */
  access: z.array(z.enum(ACCESS_LEVELS)).min(1),
  /** Longest grant (including extensions), e.g. 30m, 8h. */
  maxTtl: durationString,
  /** Distinct approvals needed; 0 activates at once. */
  approvals: int(z.number().int().min(0).max(10)),
  /** Who may approve: "*", an identity name or "group:<name>"; never the requester. */
  approvers: z.array(principal).default([]),
  /** Notify webhooks when this policy grants access (break-glass). */
  alert: z.boolean().default(false),
});

/** Webhook event names (the notify module sends exactly these; a unit test keeps the two lists equal). */
export const WEBHOOK_EVENT_NAMES = [
  'request.created', 'request.approved', 'request.denied', 'grant.activated', 'grant.extended', 'grant.expired', 'grant.revoked',
  'statement.blocked', 'review.requested', 'break-glass.used',
] as const;

const WebhookSchema = z.strictObject({
  /** http(s) URL that receives a JSON POST per event ({id, event, at, text, instance, data}; `text` suits Slack). */
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
  /**
   * Events to send, or "*": request.created, request.approved, request.denied, grant.activated, grant.extended,
   * grant.expired, grant.revoked, statement.blocked, review.requested. break-glass.used (a grant from a policy with
   * alert: true) goes to every webhook whatever this list says.
   */
  events: z.array(z.enum(['*', ...WEBHOOK_EVENT_NAMES])).min(1),
  /**
   * Shared secret: each call carries x-dbwarden-timestamp and x-dbwarden-signature: sha256=HMAC-SHA256(secret,
   * "<timestamp>.<body>"), so receivers can reject forged and replayed calls.
   */
  secret: nonEmpty.optional(),
});

const NotifySchema = z.strictObject({
  /** Webhooks fed from the audit events; retried with backoff from a bounded in-memory queue, never delaying clients. */
  webhooks: z.array(WebhookSchema).default([]),
});

const OidcSchema = z.strictObject({
  /** Expected `iss` of admin API bearer tokens (JWTs); configured identity tokens keep working next to them. */
  issuer: nonEmpty,
  /** Expected `aud` (any of a list). */
  audience: z.union([nonEmpty, z.array(nonEmpty).min(1)]),
  /** JSON Web Key Set file with the issuer's public signing keys; re-read when it changes (key rotation). */
  jwksFile: nonEmpty,
  /** Claim with the caller's groups (array or space-separated string; dots walk into objects, e.g. realm_access.roles). */
  groupsClaim: nonEmpty.default('groups'),
  /** Claim naming the caller, e.g. sub, preferred_username, email; policies and grants use this name. */
  identityClaim: nonEmpty.default('sub'),
  /** Accepted signature algorithms; default: RS*, PS*, ES*, EdDSA (never HS* or none). */
  algorithms: z.array(nonEmpty).min(1).optional(),
  /** Sign-in to the web console at /ui/ with the authorization-code flow and PKCE; omit to sign in with API tokens only. */
  console: z
    .strictObject({
      /** The issuer's authorization endpoint; the browser is sent there to sign in. */
      authorizationEndpoint: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
      /** The issuer's token endpoint; the browser exchanges the code there (it must allow this origin: CORS). */
      tokenEndpoint: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }),
      /** Client id of a public client (no secret) whose redirect URI is this broker's /ui/ URL. */
      clientId: nonEmpty,
      /** Scopes asked for; "openid" is always included. */
      scopes: z.array(nonEmpty).default(['openid', 'profile']),
      /** Which token the console then sends as its bearer token; its `aud` must be in oidc.audience. */
      useToken: z.enum(['id_token', 'access_token']).default('id_token'),
    })
    .optional(),
});

const LogSchema = z.strictObject({
  /** pino level for stdout logs. */
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
});

const LimitsSchema = z.strictObject({
  /** Largest client query text accepted (bytes); bigger messages close the connection. */
  maxQueryBytes: int(z.number().int().min(1024)).default(16 * 1024 * 1024),
  /**
   * Entries in each statement decision cache (one decision cache and one literal-shape cache per rule context:
   * target × access level × requester groups); 0 disables caching.
   */
  statementCacheSize: int(z.number().int().min(0)).default(10_000),
  /**
   * Estimated bytes each of those caches may hold (statement texts included). A statement larger than a sixteenth
   * of this is decided every time and never cached, so distinct large statements cannot grow the broker's memory.
   */
  statementCacheBytes: int(z.number().int().min(1 << 20)).default(32 << 20),
  /**
   * A client message (PostgreSQL Query/Parse, MySQL COM_QUERY …) whose bytes the broker has started buffering must be
   * complete within this many milliseconds, or the session ends with a protocol error (08P01 / 1835). Stops clients
   * that announce a large message and stall from pinning memory.
   */
  partialMessageTimeoutMs: int(z.number().int().min(100)).default(30_000),
  /** Bytes of incomplete client messages all sessions of one grant may have buffered together; over it the session that grows ends. */
  partialBytesPerGrant: int(z.number().int().min(1 << 20)).default(64 << 20),
  /** Bytes of incomplete client messages all sessions of this broker may have buffered together. */
  partialBytesTotal: int(z.number().int().min(1 << 20)).default(256 << 20),
  /** Live sessions one grant may have on this broker instance; more logins are refused (53300 / 1203). */
  maxSessionsPerGrant: int(z.number().int().min(1)).default(20),
  /** Delay before answering a failed login; slows password guessing. */
  authFailureDelayMs: int(z.number().int().min(0).max(60_000)).default(250),
});

const BrokerSchema = z.strictObject({
  /** Name of this broker instance in session listings; default: hostname and pid. */
  instanceId: nonEmpty.optional(),
  /**
   * On SIGTERM/SIGINT, sessions inside a transaction get this long (e.g. 30s) to commit or roll back before they are
   * ended with "dbwarden: broker shutting down"; idle sessions end at once. Omit to end every session at once.
   */
  shutdownGrace: durationString.optional(),
});

const ReviewsSchema = z.strictObject({
  /**
   * Dry-run each held INSERT/UPDATE/DELETE/MERGE (run it with the grant's role inside a transaction that is rolled
   * back) so approvers see how many rows it would change. Texts a rollback cannot fully undo are never run: DDL,
   * transaction control, user-defined functions, tables with triggers, non-transactional or foreign tables.
   */
  dryRun: z.boolean().default(true),
});

const BaseSchema = z.strictObject({
  /** Listen addresses ("host:port"). */
  listen: ListenSchema.prefault({}),
  /** Client-facing TLS. */
  tls: ClientTlsSchema.prefault({}),
  /** Where durable state lives. */
  state: StateSchema.prefault({}),
  /** Audit trail. */
  audit: AuditSchema.prefault({}),
  /** Folder of rule files. */
  rules: nonEmpty.default('./rules'),
  /** Upstream databases by name. */
  targets: z.record(z.string(), TargetSchema).default({}),
  /** Admin API callers by name. */
  identities: z.record(z.string(), IdentitySchema).default({}),
  /** Access policies; the first one matching a request decides, no match refuses it. */
  access: z.array(PolicySchema).default([]),
  /** Statement reviews (rule action `review`). */
  reviews: ReviewsSchema.prefault({}),
  /** Outgoing notifications. */
  notify: NotifySchema.optional(),
  /** OIDC/JWT bearer tokens for the admin API. */
  oidc: OidcSchema.optional(),
  /** Logging. */
  log: LogSchema.prefault({}),
  /** Resource limits. */
  limits: LimitsSchema.prefault({}),
  /**
   * Result masking. `hashKey` keys the `hash` mask (HMAC-SHA256); brokers that must produce the same hashes
   * (several instances, or joins across restarts after moving state) share it. Without it a random key is
   * kept in state.dir.
   */
  masking: z.strictObject({ hashKey: z.string().min(16, 'use at least 16 characters').optional() }).prefault({}),
  /** This broker instance. */
  broker: BrokerSchema.prefault({}),
});

type Base = z.output<typeof BaseSchema>;

/** Cross-field checks that one field cannot express; each issue points at the field to fix. */
function checkConsistency(c: Base, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });

  if (c.state.store === 'redis' && !c.state.redis) issue(['state', 'redis'], 'required when state.store is redis');
  if (c.state.redis !== undefined) {
    try {
      parseRedisSetting(c.state.redis);
    } catch (e) {
      issue(['state', 'redis'], (e as Error).message.replace(/^state\.redis:\s*/, ''));
    }
  }
  if (Boolean(c.tls.certFile) !== Boolean(c.tls.keyFile)) {
    issue(['tls', c.tls.certFile ? 'keyFile' : 'certFile'], 'certFile and keyFile go together');
  }

  const seen = new Map<string, string>();
  for (const proto of ['postgres', 'mysql', 'admin'] as const) {
    const addr = c.listen[proto];
    if (!addr) continue;
    const hp = parseHostPort(addr);
    if (typeof hp === 'string' || hp.port === 0) continue;
    const key = `${hp.host}:${hp.port}`;
    const other = seen.get(key);
    if (other) issue(['listen', proto], `same address as listen.${other}`);
    else seen.set(key, proto);
  }

  const targetNames = Object.keys(c.targets);
  for (const name of targetNames) {
    if (!NAME_PATTERN.test(name)) issue(['targets', name], `target name must use ${NAME_RULE}`);
    // MySQL logins are cheap upstream (a thread, not a process) and their start-up carries per-client attributes
    if (c.targets[name]!.protocol === 'mysql' && c.targets[name]!.upstreamSpares > 0) {
      issue(['targets', name, 'upstreamSpares'], 'spare upstream connections are supported for postgres targets only');
    }
  }
  for (const name of Object.keys(c.identities)) {
    if (!NAME_PATTERN.test(name)) issue(['identities', name], `identity name must use ${NAME_RULE}`);
  }

  const policyNames = new Set<string>();
  c.access.forEach((p, i) => {
    const at = (...rest: (string | number)[]) => ['access', i, ...rest];
    if (policyNames.has(p.name)) issue(at('name'), `duplicate policy name "${p.name}"`);
    policyNames.add(p.name);

    const checkPrincipals = (field: 'requesters' | 'approvers') =>
      p[field].forEach((who, j) => {
        if (who !== '*' && !who.startsWith('group:') && !Object.hasOwn(c.identities, who)) {
          issue(at(field, j), `unknown identity "${who}" (not under identities)`);
        }
      });
    checkPrincipals('requesters');
    checkPrincipals('approvers');

    const wildcard = p.targets.includes('*');
    p.targets.forEach((t, j) => {
      if (t !== '*' && !Object.hasOwn(c.targets, t)) issue(at('targets', j), `unknown target "${t}"`);
    });
    const covered = wildcard ? targetNames : p.targets.filter((t) => Object.hasOwn(c.targets, t));

    // A policy that can grant a level no covered target can serve would fail only at request time.
    p.access.forEach((level, j) => {
      if (wildcard) {
        if (targetNames.length > 0 && !targetNames.some((t) => c.targets[t]!.roles[level])) {
          issue(at('access', j), `no target has a roles.${level} entry, so "${level}" can never be granted`);
        }
      } else {
        const missing = covered.filter((t) => !c.targets[t]!.roles[level]);
        if (missing.length > 0) {
          issue(at('access', j), `target${missing.length > 1 ? 's' : ''} ${missing.map((t) => `"${t}"`).join(', ')} ha${missing.length > 1 ? 've' : 's'} no roles.${level} entry`);
        }
      }
    });

    p.databases?.forEach((db, j) => {
      if (covered.length > 0 && !covered.some((t) => c.targets[t]!.databases.includes(db))) {
        issue(at('databases', j), `database "${db}" is not listed by any target this policy covers`);
      }
    });

    if (p.approvals > 0) {
      if (p.approvers.length === 0) {
        issue(at('approvers'), `required when approvals is ${p.approvals} (who may approve?)`);
      } else {
        const able = Object.entries(c.identities).filter(([name, id]) =>
          p.approvers.some((a) => a === '*' || a === name || (a.startsWith('group:') && id.groups.includes(a.slice(6)))),
        ).length;
        if (able < p.approvals) {
          issue(at('approvals'), `needs ${p.approvals} distinct approvers but only ${able} configured identit${able === 1 ? 'y matches' : 'ies match'} approvers`);
        }
      }
    }
  });
}

export const ConfigSchema = BaseSchema.superRefine(checkConsistency).transform((c) => ({
  ...c,
  // read once here: the Redis store takes the normalised connection (checkConsistency reported what is wrong)
  state: { ...c.state, redis: c.state.redis === undefined ? undefined : redisConnectionOrUndefined(c.state.redis) },
  audit: { ...c.audit, file: c.audit.file ?? posix.join(c.state.dir, 'audit.jsonl') },
}));

function redisConnectionOrUndefined(setting: RedisSetting): RedisConnection | undefined {
  try {
    return parseRedisSetting(setting);
  } catch {
    return undefined;
  }
}

/** The validated configuration, defaults applied. Paths are absolute after loadConfig/parseConfig. */
export type Config = z.output<typeof ConfigSchema>;
/** The configuration as written (before defaults), e.g. for building one in code. */
export type ConfigInput = z.input<typeof ConfigSchema>;
export type TargetConfig = Config['targets'][string];
export type PolicyConfig = Config['access'][number];
export type IdentityConfig = Config['identities'][string];
export type RoleConfig = NonNullable<TargetConfig['roles']['read']>;
export type AccessLevelName = (typeof ACCESS_LEVELS)[number];
