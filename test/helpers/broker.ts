// Test helper: a broker in this process, configured for the local PostgreSQL, with a temp state folder.
// `await using b = await startTestBroker()` closes it at the end of the scope.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { startBroker, type Broker } from '../../src/main.js';

export const TOKENS = { alice: 'alice-token-' + randomBytes(8).toString('hex'), bob: 'bob-token-' + randomBytes(8).toString('hex'), ci: 'ci-token-' + randomBytes(8).toString('hex') };
const sha = (t: string) => createHash('sha256').update(t).digest('hex');

/** Runs SQL directly on the local PostgreSQL as its superuser (test fixtures, not through the broker). */
export async function adminSql(sql: string, database = 'dbw_app'): Promise<pg.QueryResult[] | pg.QueryResult> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database });
  await c.connect();
  try {
    return await c.query(sql);
  } finally {
    await c.end();
  }
}

export interface TestBroker extends Broker {
  stateDir: string;
  pgPort: number;
  /** asks for a grant as `who` and returns its credentials */
  grant(opts?: { access?: 'read' | 'write' | 'admin'; ttl?: string; who?: keyof typeof TOKENS; databases?: string[] }): Promise<{ grantId: string; login: string; password: string; expiresAt: string }>;
  url(cred: { login: string; password: string }, db?: string, extra?: string): string;
}

export function testConfigObject(stateDir: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    listen: { postgres: '127.0.0.1:0', admin: '127.0.0.1:0' },
    tls: { clients: 'prefer' },
    state: { dir: stateDir },
    rules: resolve('rules'),
    log: { level: 'warn' },
    targets: {
      app: {
        protocol: 'postgres', host: '127.0.0.1', port: 5432, databases: ['dbw_app', 'postgres'], tls: 'disable',
        rulesets: ['safe-defaults'],
        roles: { read: { user: 'dbw_ro', password: 'dbw_ro_secret' }, write: { user: 'dbw_rw', password: 'dbw_rw_secret' }, admin: { user: 'postgres' } },
      },
    },
    identities: {
      alice: { tokenSha256: sha(TOKENS.alice), groups: ['dev'] },
      bob: { tokenSha256: sha(TOKENS.bob), groups: ['dba'] },
      ci: { tokenSha256: sha(TOKENS.ci), groups: ['deploy'] },
    },
    access: [
      { name: 'read-self-service', requesters: ['*'], access: ['read'], maxTtl: '8h', approvals: 0 },
      { name: 'write-auto', requesters: ['group:dev', 'group:deploy'], access: ['write'], maxTtl: '2h', approvals: 0 },
      // bob (dba) approves nothing here but counts as an approver: rule reloads over the API are for approvers
      { name: 'break-glass', requesters: ['group:dba'], access: ['admin'], maxTtl: '30m', approvals: 0, approvers: ['group:dba'] },
    ],
    ...overrides,
  };
}

export async function startTestBroker(overrides: Record<string, unknown> = {}): Promise<TestBroker> {
  const stateDir = mkdtempSync(join(tmpdir(), 'dbw-test-'));
  const config: Config = parseConfig(stringify(testConfigObject(stateDir, overrides)), join(stateDir, 'dbwarden.yaml'), {});
  const broker = await startBroker(config, { logger: silentLogger });
  const closeBroker = broker.close;
  const close = async () => {
    await closeBroker();
    rmSync(stateDir, { recursive: true, force: true });
  };
  const pgPort = broker.pg?.port ?? 0;
  return Object.assign(broker, {
    stateDir,
    pgPort,
    close,
    [Symbol.asyncDispose]: close,
    async grant(opts: { access?: 'read' | 'write' | 'admin'; ttl?: string; who?: keyof typeof TOKENS; databases?: string[] } = {}) {
      const who = opts.who ?? 'alice';
      const res = await fetch(`${broker.admin.url}/v1/requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS[who]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'app', access: opts.access ?? 'write', ttl: opts.ttl ?? '10m', reason: 'test', databases: opts.databases ?? ['dbw_app'] }),
      });
      const body = (await res.json()) as { grant?: { grantId?: string; id?: string; login: string; password: string; expiresAt: string }; error?: unknown };
      if (!res.ok || !body.grant) throw new Error(`grant request failed: ${res.status} ${JSON.stringify(body)}`);
      return { grantId: body.grant.grantId ?? body.grant.id ?? '', login: body.grant.login, password: body.grant.password, expiresAt: body.grant.expiresAt };
    },
    url(cred: { login: string; password: string }, db = 'dbw_app', extra = 'sslmode=disable') {
      return `postgresql://${cred.login}:${cred.password}@127.0.0.1:${pgPort}/${db}?${extra}`;
    },
  });
}

/**
 * A broker whose PostgreSQL target masks (rule sets safe-defaults and pii-masking), with a read and a write grant
 * issued without approval: the masking suites' common start.
 */
export async function startMaskingTestBroker(): Promise<{ b: TestBroker; read: Credentials; write: Credentials }> {
  const base = testConfigObject('unused') as { targets: { app: Record<string, unknown> } };
  const b = await startTestBroker({
    targets: { app: { ...base.targets.app, databases: ['dbw_app'], rulesets: ['safe-defaults', 'pii-masking'], roles: { read: { user: 'dbw_ro', password: 'dbw_ro_secret' }, write: { user: 'dbw_rw', password: 'dbw_rw_secret' } } } },
    access: [
      { name: 'read', requesters: ['*'], access: ['read'], maxTtl: '8h', approvals: 0 },
      { name: 'write', requesters: ['*'], access: ['write'], maxTtl: '2h', approvals: 0 },
    ],
  });
  return { b, read: await b.grant({ access: 'read' }), write: await b.grant({ access: 'write' }) };
}

type Credentials = Awaited<ReturnType<TestBroker['grant']>>;
