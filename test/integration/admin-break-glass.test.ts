// safe-defaults exempts break-glass admin grants from the mistake guards (DROP, unscoped writes, TRUNCATE)
// but not from the containment rules; write grants stay guarded. Through a live broker.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

const T = `op_bg_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

describe('break-glass admin grants under safe-defaults', () => {
  let b: TestBroker;
  beforeAll(async () => {
    b = await startTestBroker();
    await adminSql(`create table public.${T} (id int primary key); insert into public.${T} values (1), (2); grant all on public.${T} to dbw_rw`);
  });
  afterAll(async () => {
    await adminSql(`drop table if exists public.${T}`);
    await b?.close();
  });

  async function client(access: 'write' | 'admin') {
    const g = await b.grant({ access, who: access === 'admin' ? 'bob' : 'alice' });
    const c = new pg.Client({ connectionString: b.url(g) });
    await c.connect();
    return c;
  }

  it('a write grant is refused DELETE without WHERE, DROP and pg_cancel_backend', async () => {
    const c = await client('write');
    try {
      for (const [sql, rule] of [[`delete from public.${T}`, 'unscoped-write'], [`drop table public.${T}`, 'drop'], ['select pg_cancel_backend(pg_backend_pid())', 'server-admin']]) {
        const e = await c.query(sql).catch((x) => x);
        expect(e.code, sql).toBe('42501');
        expect(e.message, sql).toContain(`blocked by rule ${rule}`);
      }
    } finally {
      await c.end();
    }
  });

  it('an admin grant may delete every row and drop the table; server administration and privilege changes stay blocked', async () => {
    const c = await client('admin');
    try {
      expect((await c.query(`delete from public.${T}`)).rowCount).toBe(2);
      await c.query(`drop table public.${T}`);
      expect((await adminSql(`select to_regclass('public.${T}') as t`) as pg.QueryResult).rows[0].t).toBeNull();
      for (const [sql, rule] of [
        ['grant select on pg_class to public', 'privilege-changes'],
        ["select pg_read_file('/etc/hostname')", 'file-access'],
        ['select pg_reload_conf()', 'server-admin'],
        ['select pg_cancel_backend(pg_backend_pid()), pg_reload_conf()', 'server-admin'],
      ]) {
        const e = await c.query(sql).catch((x) => x);
        expect(e.message, sql).toContain(`blocked by rule ${rule}`);
      }
    } finally {
      await c.end();
    }
  }, 60_000);
});
