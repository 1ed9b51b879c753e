// Guardrail refusals keep the codes of a missing privilege (42501 / 1227) but are machine-recognisable: the
// `dbwarden:` message prefix on both protocols, and on PostgreSQL the routine field dbwarden_guardrail and a hint.
// A genuine privilege error from the server, through the same broker, has neither.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const T = `drivers_priv_${randomBytes(4).toString('hex')}`;
let b: TestBroker;
let my: MysqlTestBroker;

beforeAll(async () => {
  [b, my] = await Promise.all([startTestBroker(), startMysqlTestBroker()]);
  // a table the read role may not read: the server's own 42501
  await adminSql(`CREATE TABLE public.${T} (a int); REVOKE ALL ON public.${T} FROM PUBLIC, dbw_ro`);
});
afterAll(async () => {
  await Promise.all([b?.close(), my?.close()]);
  await adminSql(`DROP TABLE IF EXISTS public.${T}`);
});

describe('PostgreSQL', () => {
  it('a guardrail refusal and a missing privilege share 42501 and differ in routine, prefix and hint', async () => {
    const c = new pg.Client({ connectionString: b.url(await b.grant({ access: 'read' })) });
    await c.connect();
    const guard = await c.query(`DELETE FROM public.${T}`).catch((e) => e);
    const priv = await c.query(`SELECT * FROM public.${T}`).catch((e) => e);
    await c.end();
    expect(guard.code).toBe('42501');
    expect(guard.routine).toBe('dbwarden_guardrail');
    expect(guard.message).toMatch(/^dbwarden: blocked by rule /);
    expect(guard.hint).toMatch(/guardrail rule, not by a database privilege/);
    expect(priv.code).toBe('42501');
    expect(priv.routine).not.toMatch(/^dbwarden/);
    expect(priv.message).toMatch(/^permission denied for table/);
    expect(priv.hint).toBeUndefined();
  });

  it('a connect database outside the grant names the grant\'s databases, with routine dbwarden_grant_scope', async () => {
    const cred = await b.grant();
    const c = new pg.Client({ connectionString: b.url(cred, 'template1') });
    const e = await c.connect().catch((x) => x);
    expect(e.code).toBe('42501');
    expect(e.routine).toBe('dbwarden_grant_scope');
    expect(e.hint).toBe('this grant covers: dbw_app');
  });
});

describe('MySQL', () => {
  it('a guardrail refusal is 1227 with the dbwarden: prefix; the server\'s own 1227 has none', async () => {
    const g = await my.grant({ access: 'read' });
    const c = await mysql.createConnection({ host: '127.0.0.1', port: my.myPort, user: g.login, password: g.password, database: 'dbw_my' });
    const guard = await c.query('SET GLOBAL net_read_timeout = 31').catch((e) => e);
    const priv = await c.query('SHOW BINLOG EVENTS').catch((e) => e);
    await c.end();
    expect(guard.errno).toBe(1227);
    expect(guard.message).toMatch(/^dbwarden: blocked by rule server-admin: /);
    expect(priv.errno).toBe(1227);
    expect(priv.message).toMatch(/^Access denied; you need/);
  });
});
