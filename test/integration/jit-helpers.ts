// Shared pieces of the just-in-time access integration tests: brokers on a shared Redis (or a kept state
// folder), identities with their own tokens, admin API calls and pg clients that report how they ended.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { TOKENS, startTestBroker, type TestBroker } from '../helpers/broker.js';

export const JIT_TOKENS = {
  ...TOKENS,
  carol: 'carol-token-' + randomBytes(8).toString('hex'),
  contractor: 'contractor-token-' + randomBytes(8).toString('hex'),
};
export type Who = keyof typeof JIT_TOKENS;
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

/** Policies of the field use cases; the first match decides. */
export const JIT_ACCESS = [
  // a contractor: one database of one target, nothing else (no later policy names them)
  { name: 'contractor-app-only', requesters: ['contractor'], targets: ['app'], databases: ['dbw_app'], access: ['read', 'write'], maxTtl: '1h', approvals: 0 },
  { name: 'read-self-service', requesters: ['group:dev', 'group:dba', 'group:deploy'], access: ['read'], maxTtl: '8h', approvals: 0 },
  // CI deploys: short write grants without a human in the loop
  { name: 'deploy-write', requesters: ['group:deploy'], targets: ['app'], access: ['write'], maxTtl: '15m', approvals: 0 },
  { name: 'write-needs-dba', requesters: ['group:dev'], access: ['write'], maxTtl: '2h', approvals: 1, approvers: ['group:dba'] },
  { name: 'break-glass', requesters: ['group:dba'], access: ['admin'], maxTtl: '30m', approvals: 0, alert: true },
];

export interface JitOptions {
  /** kept state folder (restart tests); default: a fresh one removed by cleanup() */
  stateDir?: string;
  /** state.redis; absent: embedded store */
  redis?: string | Record<string, unknown>;
  instanceId?: string;
  extra?: Record<string, unknown>;
}

const made: string[] = [];

export function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dbw-jit-'));
  made.push(d);
  return d;
}

export function cleanupDirs(): void {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
}

export function jitOverrides(o: JitOptions): Record<string, unknown> {
  const dir = o.stateDir ?? tempDir();
  return {
    state: o.redis ? { dir, store: 'redis', redis: o.redis } : { dir },
    identities: {
      alice: { tokenSha256: sha(JIT_TOKENS.alice), groups: ['dev'] },
      bob: { tokenSha256: sha(JIT_TOKENS.bob), groups: ['dba'] },
      carol: { tokenSha256: sha(JIT_TOKENS.carol), groups: ['dba'] },
      ci: { tokenSha256: sha(JIT_TOKENS.ci), groups: ['deploy'] },
      contractor: { tokenSha256: sha(JIT_TOKENS.contractor), groups: ['contractors'] },
    },
    access: JIT_ACCESS,
    ...(o.instanceId ? { broker: { instanceId: o.instanceId } } : {}),
    ...o.extra,
  };
}

export function startJitBroker(o: JitOptions = {}): Promise<TestBroker> {
  return startTestBroker(jitOverrides(o));
}

/** Empties a Redis database the tests own (never db 0, which other work may use). */
export async function flushRedisDb(db: number, port = 6379): Promise<void> {
  if (db === 0) throw new Error('refusing to flush db 0');
  const r = new Redis({ host: '127.0.0.1', port, db, lazyConnect: true });
  await r.connect();
  await r.flushdb();
  await r.quit();
}

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
}

export async function api<T = any>(b: { admin: { url: string } }, who: Who, method: 'GET' | 'POST', path: string, body?: unknown): Promise<ApiAnswer<T>> {
  const res = await fetch(`${b.admin.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${JIT_TOKENS[who]}`, 'content-type': 'application/json' },
    ...(method === 'POST' ? { body: JSON.stringify(body ?? {}) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

export interface Creds {
  grantId: string;
  login: string;
  password: string;
  expiresAt: string;
}

/** Requests access that a policy activates at once and returns the one-time credentials. */
export async function grantFor(b: TestBroker, who: Who, body: { access: 'read' | 'write' | 'admin'; ttl: string; databases?: string[]; target?: string; reason?: string }): Promise<Creds> {
  const r = await api(b, who, 'POST', '/v1/requests', { target: 'app', reason: 'integration test', databases: ['dbw_app'], ...body });
  if (r.status !== 201 || !r.body.grant) throw new Error(`request failed: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.grant as Creds;
}

export interface Watched {
  client: pg.Client;
  /** resolves with the error that ended the connection */
  ended: Promise<Error & { code?: string }>;
  endedAt(): number | undefined;
}

/** A connected node-postgres client whose end (error event or failing query) is recorded with its time. */
export async function connect(b: TestBroker, cred: { login: string; password: string }, db = 'dbw_app'): Promise<Watched> {
  const client = new pg.Client({ connectionString: b.url(cred, db) });
  let at: number | undefined;
  const ended = new Promise<Error & { code?: string }>((resolve) => {
    client.on('error', (e) => {
      at ??= Date.now();
      resolve(e);
    });
    client.on('end', () => {
      at ??= Date.now();
    });
  });
  await client.connect();
  return { client, ended, endedAt: () => at };
}

export async function connectError(b: TestBroker, cred: { login: string; password: string }, db = 'dbw_app'): Promise<Error & { code?: string }> {
  const client = new pg.Client({ connectionString: b.url(cred, db) });
  client.on('error', () => undefined);
  const e = await client.connect().then(
    () => new Error('connected, expected a refusal'),
    (err) => err,
  );
  await client.end().catch(() => undefined);
  return e;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, stepMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(stepMs);
  }
}
