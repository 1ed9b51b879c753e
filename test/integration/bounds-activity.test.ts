// Other identities' statement text: grants of one access level share an upstream role, and the server shows a role
// every session of that role. Proven on the real servers (a read-role connection sees another session's literal),
// then refused through the broker for read and write grants with a message saying why; admin grants keep it.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { startBroker, type Broker } from '../../src/main.js';
import { TOKENS, testConfigObject } from '../helpers/broker.js';
import { ensureMysqlFixtures, MY_ROLES, mysqlTarget } from '../helpers/mysql.js';

let b: Broker;
let dir: string;
beforeAll(async () => {
  await ensureMysqlFixtures();
  dir = mkdtempSync(join(tmpdir(), 'dbw-bounds-activity-'));
  const base = testConfigObject(dir);
  const obj = { ...base, listen: { postgres: '127.0.0.1:0', mysql: '127.0.0.1:0', admin: '127.0.0.1:0' }, targets: { ...(base.targets as Record<string, unknown>), my: mysqlTarget() } };
  b = await startBroker(parseConfig(stringify(obj), join(dir, 'dbwarden.yaml'), {}), { logger: silentLogger });
});
afterAll(async () => {
  await b?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function grant(target: 'app' | 'my', access: 'read' | 'write' | 'admin') {
  const who = access === 'admin' ? 'bob' : 'alice';
  const res = await fetch(`${b.admin.url}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS[who]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, access, ttl: '10m', reason: 'activity test', databases: [target === 'app' ? 'dbw_app' : 'dbw_my'] }),
  });
  const body = (await res.json()) as { grant: { login: string; password: string } };
  return body.grant;
}

const REFUSAL = /dbwarden: blocked by rule other-sessions-activity(-functions)?: other sessions' statement text is not shown on shared upstream roles/;

describe('postgres: pg_stat_activity and its functions', () => {
  it('a direct dbw_ro connection sees another dbw_ro session\'s literal; through the broker read and write grants are refused, admin is not', async () => {
    const secret = `bounds_secret_${randomBytes(6).toString('hex')}`;
    const victim = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'dbw_ro', password: 'dbw_ro_secret', database: 'dbw_app' });
    await victim.connect();
    const victimPid = (await victim.query('SELECT pg_backend_pid() AS p')).rows[0].p as number;
    // runs until the test cancels it (a fixed short sleep could end before a loaded run got to look)
    const running = victim.query(`SELECT pg_sleep(120), '${secret}' AS s`).catch(() => undefined); // ends cancelled
    try {
      // the harm, on a direct connection as the shared read role (polled until the statement is running)
      const spy = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'dbw_ro', password: 'dbw_ro_secret', database: 'dbw_app' });
      await spy.connect();
      let seen: pg.QueryResult = { rows: [] } as unknown as pg.QueryResult;
      for (const until = Date.now() + 10_000; !seen.rows.length && Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        seen = await spy.query(`SELECT query FROM pg_stat_activity WHERE query LIKE '%' || $1 || '%' AND pid <> pg_backend_pid()`, [secret]);
      }
      await spy.end();
      expect(seen.rows.length).toBe(1);
      expect(seen.rows[0].query).toContain(secret);

      for (const access of ['read', 'write'] as const) {
        const g = await grant('app', access);
        const c = new pg.Client({ host: '127.0.0.1', port: b.pg!.port, user: g.login, password: g.password, database: 'dbw_app' });
        await c.connect();
        for (const sql of [
          'SELECT query FROM pg_stat_activity',
          'SELECT a.query FROM pg_catalog.pg_stat_activity a',
          'SELECT * FROM pg_stat_get_activity(NULL)',
          'SELECT pg_stat_get_backend_activity(s) FROM pg_stat_get_backend_idset() s',
          'WITH x AS (SELECT query FROM pg_stat_activity) SELECT * FROM x',
          'SELECT (SELECT max(query) FROM "pg_stat_activity")',
        ]) {
          const e = await c.query(sql).then(() => null, (err: Error & { code?: string }) => err);
          expect(e?.code, `${access}: ${sql}`).toBe('42501');
          expect(e?.message).toMatch(REFUSAL);
        }
        // the session is still usable
        expect((await c.query('SELECT 1 AS one')).rows[0].one).toBe(1);
        await c.end();
      }
      const admin = await grant('app', 'admin');
      const a = new pg.Client({ host: '127.0.0.1', port: b.pg!.port, user: admin.login, password: admin.password, database: 'dbw_app' });
      await a.connect();
      const r = await a.query(`SELECT query FROM pg_stat_activity WHERE query LIKE '%${secret}%' AND pid <> pg_backend_pid()`);
      expect(r.rows.some((x: { query: string }) => x.query.includes(secret))).toBe(true);
      await a.end();
    } finally {
      const admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'dbw_app' });
      await admin.connect();
      await admin.query('SELECT pg_cancel_backend($1)', [victimPid]);
      await admin.end();
      await running.catch(() => undefined);
      await victim.end();
    }
  }, 60_000);
});

describe('mariadb: PROCESSLIST and performance_schema', () => {
  it('a direct dbw_my_ro connection sees another dbw_my_ro session\'s literal; through the broker read and write grants are refused, admin is not', async () => {
    const secret = `bounds_secret_${randomBytes(6).toString('hex')}`;
    const victim = await mysql.createConnection({ host: '127.0.0.1', port: 3306, ...MY_ROLES.ro, database: 'dbw_my' });
    // runs until the test kills it (a fixed short sleep could end before a loaded run got to look)
    const running = victim.query(`SELECT SLEEP(120), '${secret}' AS s`).catch(() => undefined); // ends killed
    try {
      const spy = await mysql.createConnection({ host: '127.0.0.1', port: 3306, ...MY_ROLES.ro, database: 'dbw_my' });
      let shown = false;
      for (const until = Date.now() + 10_000; !shown && Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
        const [rows] = await spy.query('SHOW FULL PROCESSLIST');
        shown = (rows as { Info: string | null }[]).some((r) => r.Info?.includes(secret));
      }
      await spy.end();
      expect(shown).toBe(true);

      for (const access of ['read', 'write'] as const) {
        const g = await grant('my', access);
        const c = await mysql.createConnection({ host: '127.0.0.1', port: b.mysql!.port, user: g.login, password: g.password, database: 'dbw_my' });
        for (const sql of [
          'SHOW PROCESSLIST',
          'SHOW FULL PROCESSLIST',
          'show full processlist',
          'SELECT info FROM information_schema.PROCESSLIST',
          'SELECT * FROM INFORMATION_SCHEMA.processlist WHERE id > 0',
          'SELECT processlist_info FROM performance_schema.threads',
          'SELECT sql_text FROM performance_schema.events_statements_current',
          'SELECT sql_text FROM performance_schema.events_statements_history_long',
          'SELECT trx_query FROM information_schema.INNODB_TRX',
          'SELECT (SELECT max(info) FROM information_schema.processlist) AS x',
        ]) {
          const e = await c.query(sql).then(() => null, (err: Error & { errno?: number }) => err);
          expect(e?.errno, `${access}: ${sql}`).toBe(1227);
          expect(e?.message).toMatch(REFUSAL);
        }
        const [ok] = await c.query('SELECT 1 AS one');
        expect((ok as { one: number }[])[0]!.one).toBe(1);
        await c.end();
      }
      const admin = await grant('my', 'admin');
      const a = await mysql.createConnection({ host: '127.0.0.1', port: b.mysql!.port, user: admin.login, password: admin.password, database: 'dbw_my' });
      const [all] = await a.query('SHOW FULL PROCESSLIST');
      expect((all as { Info: string | null }[]).some((r) => r.Info?.includes(secret))).toBe(true);
      await a.end();
    } finally {
      const root = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', password: '' });
      await root.query(`KILL QUERY ${victim.threadId}`);
      await root.end();
      await running.catch(() => undefined);
      await victim.end();
    }
  }, 60_000);
});
