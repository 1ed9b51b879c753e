// Parameter values that make a prepared write's condition match every row: `v LIKE $1` with '%', `v ~ $1` with '',
// `id <> ALL($1)` with '{}' (each deletes every row on the server: proven below on a direct connection). The literal
// forms are refused; with parameters the broker decides each Bind of such a statement with its values in place, over
// node-pg's unnamed and named statements, text and binary parameters, while the same statements with narrowing
// values run, and ordinary parameterized writes are not re-read.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;
const T = `bindv_${process.pid}`;

beforeAll(async () => {
  await adminSql(`drop table if exists ${T}; create table ${T} (id int primary key, v text); alter table ${T} owner to dbw_rw`);
  b = await startTestBroker();
  cred = await b.grant({ access: 'write' });
}, 60_000);
afterAll(async () => {
  await b?.close();
  await adminSql(`drop table if exists ${T}`);
});

const fill = () => adminSql(`truncate ${T}; insert into ${T} select g, 'row ' || g from generate_series(1, 5) g`);
const count = async () => Number(((await adminSql(`select count(*) as n from ${T}`)) as pg.QueryResult).rows[0].n);

const cases: [string, string, unknown[], unknown[]][] = [
  ['LIKE pattern', `delete from ${T} where v like $1`, ['%'], ['row 3']],
  ['regular expression', `delete from ${T} where v ~ $1`, [''], ['^row 3$']],
  ['ALL over an empty array', `delete from ${T} where id <> all($1::int[])`, ['{}'], ['{1,2,3,4}']],
  ['ILIKE pattern in an UPDATE', `update ${T} set v = 'x' where v ilike $1`, ['%%'], ['ROW 3']],
  ['parameter reaching the pattern through an expression', `delete from ${T} where v like '%' || $1::text`, [''], [' 3']],
];

describe('prepared writes whose parameter decides what the condition matches', () => {
  it.each(cases)('%s: the all-rows value deletes every row on a direct connection', async (_w, sql, all) => {
    await fill();
    const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'dbw_app' });
    await c.connect();
    try {
      await c.query('begin');
      const r = await c.query(sql, all);
      expect(r.rowCount).toBe(5);
      await c.query('rollback');
    } finally {
      await c.end();
    }
  });

  it.each(cases)('%s: refused through the broker with that value (unnamed and named), runs with a narrowing one', async (_w, sql, all, narrow) => {
    await fill();
    const c = new pg.Client({ connectionString: b.url(cred) });
    await c.connect();
    try {
      for (const q of [{ text: sql, values: all }, { name: `s_${_w.length}`, text: sql, values: all }]) {
        const e = await c.query(q).catch((x) => x);
        expect(e).toBeInstanceOf(Error);
        expect(e.code).toBe('42501');
        expect(e.message).toMatch(/^dbwarden: blocked by rule unscoped-write/);
        expect(await count()).toBe(5);
      }
      const ok = await c.query({ name: `s_${_w.length}`, text: sql, values: narrow });
      expect(ok.rowCount).toBeGreaterThan(0);
      expect(ok.rowCount).toBeLessThan(5);
      expect((await c.query('select 1 as n')).rows[0].n).toBe(1);
    } finally {
      await c.end();
    }
  });

  it('a binary-format parameter is read as well', async () => {
    await fill();
    const c = new pg.Client({ connectionString: b.url(cred) });
    await c.connect();
    try {
      const e = await c.query({ text: `delete from ${T} where v like $1`, values: [Buffer.from('%')] }).catch((x) => x);
      expect(e).toBeInstanceOf(Error);
      expect(e.code).toBe('42501');
      expect(await count()).toBe(5);
    } finally {
      await c.end();
    }
  });

  it('an ordinary parameterized write runs as before', async () => {
    await fill();
    const c = new pg.Client({ connectionString: b.url(cred) });
    await c.connect();
    try {
      expect((await c.query(`update ${T} set v = $1 where id = $2`, ['y', 2])).rowCount).toBe(1);
      expect((await c.query(`delete from ${T} where id = any($1::int[])`, ['{4,5}'])).rowCount).toBe(2);
    } finally {
      await c.end();
    }
  });
});
