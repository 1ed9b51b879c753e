// A revoke that lands while a login is half-way (grant read and password checked, upstream still connecting) must
// still end that session: it was not registered yet when the revoke swept the grant's sessions. A slow upstream
// (a loopback proxy that holds each new connection for a moment) opens the window on purpose; both protocols.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import mysqlCb from 'mysql2';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, startTestBroker, testConfigObject, type TestBroker } from '../helpers/broker.js';
import { ensureMysqlFixtures, mysqlTarget } from '../helpers/mysql.js';

const HOLD_MS = 1500;
const open: Socket[] = [];

/** Forwards to 127.0.0.1:`port`, but only HOLD_MS after a connection arrives. */
async function slowProxy(port: number): Promise<Server> {
  const s = createServer((client) => {
    open.push(client);
    client.pause();
    setTimeout(() => {
      const up = createConnection({ host: '127.0.0.1', port }, () => {
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      open.push(up);
      up.on('error', () => client.destroy());
      client.on('error', () => up.destroy());
    }, HOLD_MS);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

let b: TestBroker;
let pgProxy: Server;
let myProxy: Server;

beforeAll(async () => {
  await ensureMysqlFixtures();
  pgProxy = await slowProxy(5432);
  myProxy = await slowProxy(3306);
  const app = (testConfigObject('unused').targets as Record<string, Record<string, unknown>>).app!;
  b = await startTestBroker({
    listen: { postgres: '127.0.0.1:0', mysql: '127.0.0.1:0', admin: '127.0.0.1:0' },
    targets: {
      app: { ...app, port: (pgProxy.address() as { port: number }).port },
      my: mysqlTarget({ port: (myProxy.address() as { port: number }).port }),
    },
  });
});

afterAll(async () => {
  await b?.close();
  for (const s of open) s.destroy();
  await Promise.all([pgProxy, myProxy].map((s) => new Promise((r) => s?.close(r))));
});

async function grant(target: string, database: string) {
  const res = await fetch(`${b.admin.url}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, access: 'read', ttl: '10m', reason: 'race test', databases: [database] }),
  });
  const g = ((await res.json()) as { grant: { id?: string; grantId?: string; login: string; password: string } }).grant;
  return { ...g, id: g.grantId ?? g.id ?? '' };
}

async function revoke(id: string): Promise<void> {
  const res = await fetch(`${b.admin.url}/v1/grants/${id}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}`, "content-type": "application/json" }, body: "{}" });
  expect(res.status).toBe(200);
}

/** Sessions of the grant still listed after up to a second (the listing follows the socket close). */
async function sessionsOf(grantId: string): Promise<number> {
  let n = await listed(grantId);
  for (let i = 0; i < 20 && n > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    n = await listed(grantId);
  }
  return n;
}

async function listed(grantId: string): Promise<number> {
  const res = await fetch(`${b.admin.url}/v1/sessions`, { headers: { authorization: `Bearer ${TOKENS.bob}` } });
  const body = (await res.json()) as { grantId: string }[] | { sessions: { grantId: string }[] };
  return (Array.isArray(body) ? body : body.sessions).filter((s) => s.grantId === grantId).length;
}

describe('a revoke during a login', () => {
  it('PostgreSQL: the session that finishes logging in after the revoke ends at once', async () => {
    const g = await grant('app', 'dbw_app');
    const c = new pg.Client({ connectionString: b.url(g) });
    const ended = new Promise<Error>((r) => c.on('error', r));
    const connecting = c.connect().then(() => 'connected', (e: Error) => e);
    await new Promise((r) => setTimeout(r, HOLD_MS / 3)); // password checked, upstream still held by the proxy
    await revoke(g.id);
    const outcome = await connecting;
    if (outcome === 'connected') {
      const err = await Promise.race([ended, c.query('select pg_sleep(5)').then(() => null, (e: Error) => e)]);
      expect(err?.message).toMatch(/grant revoked/);
    } else {
      expect((outcome as Error).message).toMatch(/grant revoked|password authentication failed/);
    }
    await c.end().catch(() => undefined);
    expect(await sessionsOf(g.id)).toBe(0);
  });

  it('MySQL: the session that finishes logging in after the revoke ends at once', async () => {
    const g = await grant('my', 'dbw_my');
    // callback API: the 'error' listener is in place before the first byte (OK and ERR may share one TCP read)
    const c = mysqlCb.createConnection({ host: '127.0.0.1', port: b.mysql!.port, user: g.login, password: g.password, database: 'dbw_my' });
    const failed = new Promise<Error>((r) => c.on('error', r));
    const connecting = new Promise<Error | null>((r) => c.connect((e) => r(e ?? null)));
    await new Promise((r) => setTimeout(r, HOLD_MS / 3));
    await revoke(g.id);
    const loginError = await connecting;
    if (loginError) {
      expect(loginError.message).toMatch(/grant revoked|Access denied/);
    } else {
      const queried = new Promise<Error | null>((r) => c.query('SELECT SLEEP(5)', (e) => r(e ?? null)));
      const err = await Promise.race([failed, queried]);
      expect(err?.message).toMatch(/grant revoked/);
    }
    c.destroy();
    expect(await sessionsOf(g.id)).toBe(0);
  });
});
