// Test helpers for the MySQL side: fixtures on the local MariaDB (database dbw_my, roles with passwords,
// created idempotently as root) and a broker in this process with a MySQL listener and target `my`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/log.js';
import { startBroker, type Broker } from '../../src/main.js';
import { TOKENS, testConfigObject } from './broker.js';

export { MY, MY_ROLES, myAdmin, ensureMysqlFixtures } from './mysql-fixtures.js';
import { MY, MY_ROLES, ensureMysqlFixtures } from './mysql-fixtures.js';

export interface MysqlTestBroker extends Broker {
  stateDir: string;
  myPort: number;
  grant(opts?: { access?: 'read' | 'write' | 'admin'; ttl?: string; who?: keyof typeof TOKENS; databases?: string[] }): Promise<{ grantId: string; login: string; password: string; expiresAt: string }>;
  /** POSTs to the admin API as alice */
  api(path: string, body?: unknown): Promise<Response>;
}

export function mysqlTarget(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    protocol: 'mysql', host: MY.host, port: MY.port, databases: ['dbw_my', 'dbw_my_other'], tls: 'disable',
    rulesets: ['safe-defaults'],
    roles: { read: MY_ROLES.ro, write: MY_ROLES.rw, admin: { user: 'root' } },
    ...overrides,
  };
}

export async function startMysqlTestBroker(overrides: Record<string, unknown> = {}, target: Record<string, unknown> = {}): Promise<MysqlTestBroker> {
  await ensureMysqlFixtures();
  const stateDir = mkdtempSync(join(tmpdir(), 'dbw-mytest-'));
  const obj = testConfigObject(stateDir, {
    listen: { mysql: '127.0.0.1:0', admin: '127.0.0.1:0' },
    targets: { my: mysqlTarget(target) },
    ...overrides,
  });
  const config: Config = parseConfig(stringify(obj), join(stateDir, 'dbwarden.yaml'), {});
  const broker = await startBroker(config, { logger: silentLogger });
  const closeBroker = broker.close;
  const close = async () => {
    await closeBroker();
    rmSync(stateDir, { recursive: true, force: true });
  };
  const api = (path: string, body: unknown = {}) =>
    fetch(`${broker.admin.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  return Object.assign(broker, {
    stateDir,
    myPort: broker.mysql?.port ?? 0,
    close,
    [Symbol.asyncDispose]: close,
    api,
    async grant(opts: { access?: 'read' | 'write' | 'admin'; ttl?: string; who?: keyof typeof TOKENS; databases?: string[] } = {}) {
      const who = opts.who ?? 'alice';
      const res = await fetch(`${broker.admin.url}/v1/requests`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKENS[who]}`, 'content-type': 'application/json' },
        body: JSON.stringify({ target: 'my', access: opts.access ?? 'write', ttl: opts.ttl ?? '10m', reason: 'test', databases: opts.databases ?? ['dbw_my'] }),
      });
      const body = (await res.json()) as { grant?: { grantId?: string; id?: string; login: string; password: string; expiresAt: string } };
      if (!res.ok || !body.grant) throw new Error(`grant request failed: ${res.status} ${JSON.stringify(body)}`);
      return { grantId: body.grant.grantId ?? body.grant.id ?? '', login: body.grant.login, password: body.grant.password, expiresAt: body.grant.expiresAt };
    },
  });
}
