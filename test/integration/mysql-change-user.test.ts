// COM_CHANGE_USER through the broker (what pools send between borrowers): a re-authentication against the grant
// the new credentials name — the same grant (reset) or another one — with both auth plugins, through mysql2's
// changeUser and the mariadb connector. The old session ends in the audit and a new one starts; bad credentials
// close the connection as the server does.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import mariadb from 'mariadb';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

let b: MysqlTestBroker;

beforeAll(async () => {
  b = await startMysqlTestBroker();
});
afterAll(async () => {
  await b?.close();
});

type Cred = Awaited<ReturnType<MysqlTestBroker['grant']>>;
const connect = (g: Cred) => mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password, database: 'dbw_my' });

function auditEvents(): { type: string; session?: string; grant?: string; reason?: string }[] {
  const file = join(b.stateDir, 'audit.jsonl');
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

async function until(f: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end && !f()) await new Promise((r) => setTimeout(r, 50));
  return f();
}

for (const plugin of ['caching_sha2_password', 'mysql_native_password'] as const) {
  describe(`COM_CHANGE_USER, broker plugin ${plugin}`, () => {
    beforeAll(() => {
      b.mysql!.auth.plugins = plugin === 'mysql_native_password' ? ['mysql_native_password'] : ['caching_sha2_password', 'mysql_native_password'];
    });

    it('mysql2 changeUser to the same login resets the session (a new upstream connection, variables gone)', async () => {
      const g = await b.grant();
      const c = await connect(g);
      await c.query("SET @mark = 'before'");
      const [[before]] = (await c.query('SELECT CONNECTION_ID() AS id, @mark AS mark')) as unknown as [[{ id: number; mark: string | null }]];
      expect(before.mark).toBe('before');
      await c.changeUser({ user: g.login, password: g.password, database: 'dbw_my' });
      const [[after]] = (await c.query('SELECT CONNECTION_ID() AS id, @mark AS mark, CURRENT_USER() AS who')) as unknown as [[{ id: number; mark: string | null; who: string }]];
      expect(after.mark).toBeNull();
      expect(after.id).not.toBe(before.id);
      expect(after.who).toBe('dbw_my_rw@%');
      // guardrails still apply to the new session
      const e = await c.query('DELETE FROM dbw_my.nothing_here').catch((x) => x);
      expect(e.message).toMatch(/^dbwarden: blocked by rule unscoped-write/);
      await c.end();
      const mine = () => auditEvents().filter((ev) => ev.grant === g.grantId && ev.type.startsWith('session.'));
      expect(await until(() => mine().length >= 4)).toBe(true);
      expect(mine().map((ev) => `${ev.type}${ev.reason ? ':' + ev.reason : ''}`)).toEqual(['session.started', 'session.ended:change user', 'session.started', 'session.ended:client closed']);
    });

    it('mysql2 changeUser to another grant\'s login switches to that grant\'s role and rules', async () => {
      const w = await b.grant({ access: 'write' });
      const r = await b.grant({ access: 'read' });
      const c = await connect(w);
      await c.changeUser({ user: r.login, password: r.password, database: 'dbw_my' });
      const [[row]] = (await c.query('SELECT CURRENT_USER() AS who')) as unknown as [[{ who: string }]];
      expect(row.who).toBe('dbw_my_ro@%');
      const e = await c.query('CREATE TABLE dbw_my.drivers_never (a INT)').catch((x) => x);
      expect(e.errno).toBe(1227);
      await c.end();
      expect(await until(() => auditEvents().some((ev) => ev.grant === w.grantId && ev.reason === 'change user'))).toBe(true);
      expect(auditEvents().some((ev) => ev.grant === r.grantId && ev.type === 'session.started')).toBe(true);
    });

    it('a wrong password gets 1045 and the connection closes; a database outside the new grant gets 1044', async () => {
      const g = await b.grant();
      const c = await connect(g);
      c.on('error', () => undefined);
      const e = await c.changeUser({ user: g.login, password: 'wrong', database: 'dbw_my' }).catch((x) => x);
      expect(e.errno).toBe(1045);
      expect(await c.query('SELECT 1').catch((x) => x)).toBeInstanceOf(Error);
      const c2 = await connect(g);
      c2.on('error', () => undefined);
      const e2 = await c2.changeUser({ user: g.login, password: g.password, database: 'mysql' }).catch((x) => x);
      expect(e2.errno).toBe(1044);
      expect(e2.message).toMatch(/this grant covers dbw_my/);
      c.destroy();
      c2.destroy();
    });

    it('the mariadb connector\'s changeUser re-authenticates through the broker', async () => {
      const g = await b.grant();
      const other = await b.grant({ access: 'read' });
      const conn = await mariadb.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password, database: 'dbw_my' });
      try {
        await conn.query("SET @x = 1");
        await conn.changeUser({ user: g.login, password: g.password, database: 'dbw_my' });
        expect(await conn.query('SELECT @x AS x')).toEqual([{ x: null }]);
        await conn.changeUser({ user: other.login, password: other.password, database: 'dbw_my' });
        expect(await conn.query('SELECT CURRENT_USER() AS who')).toEqual([{ who: 'dbw_my_ro@%' }]);
      } finally {
        await conn.end();
      }
    });
  });
}
