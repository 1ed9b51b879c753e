// Row-count guard (maxRows) on PostgreSQL against rows the command tag does not count: ON DELETE CASCADE and
// SET NULL foreign keys, a trigger and a DO ALSO rule that change other rows. Each door is first proven on a direct
// connection as the same role (DELETE 1 while thousands of rows go), then refused through a live broker with
// nothing changed, autocommit and inside the client's own transaction; ordinary small writes and audit-log
// triggers (rows added, none lost) still pass.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

const T = `dbw_gp_hid_${randomBytes(3).toString('hex')}`;
const DIRECT = 'postgresql://dbw_rw:dbw_rw_secret@127.0.0.1:5432/dbw_app?sslmode=disable';
let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

async function n(sql: string): Promise<number> {
  const r = (await adminSql(sql)) as pg.QueryResult;
  return Number(r.rows[0].n);
}
const kids = () => n(`select count(*) as n from ${T}_c`);
const orphans = () => n(`select count(*) as n from ${T}_n where p is null`);
const others = () => n(`select count(*) as n from ${T}_o where v <> 0`);

beforeAll(async () => {
  b = await startTestBroker();
  cred = await b.grant({ access: 'write' });
  await adminSql(`create table ${T}_p (id int primary key, v int not null default 0);
    insert into ${T}_p select g, 0 from generate_series(1, 10) g;
    create table ${T}_c (id int primary key, p int not null references ${T}_p on delete cascade);
    insert into ${T}_c select g, 1 from generate_series(1, 3000) g;
    create table ${T}_n (id int primary key, p int references ${T}_p on delete set null);
    insert into ${T}_n select g, 2 from generate_series(1, 3000) g;
    create table ${T}_o (id int primary key, v int not null default 0);
    insert into ${T}_o select g, 0 from generate_series(1, 3000) g;
    create table ${T}_log (id int, op text);
    create function ${T}_f() returns trigger language plpgsql as $$ begin update ${T}_o set v = v + 1 where id > 0; return null; end $$;
    create trigger ${T}_t after update on ${T}_p for each row when (new.v = 7) execute function ${T}_f();
    create function ${T}_a() returns trigger language plpgsql as $$ begin insert into ${T}_log values (old.id, tg_op); return null; end $$;
    create trigger ${T}_ta after update on ${T}_c for each row execute function ${T}_a();
    create rule ${T}_r as on update to ${T}_p where new.v = 9 do also delete from ${T}_o where id > 0;
    alter table ${T}_p owner to dbw_rw; alter table ${T}_c owner to dbw_rw; alter table ${T}_n owner to dbw_rw;
    alter table ${T}_o owner to dbw_rw; alter table ${T}_log owner to dbw_rw;`);
});
afterAll(async () => {
  await adminSql(`drop table if exists ${T}_c, ${T}_n, ${T}_log; drop table if exists ${T}_p, ${T}_o;
    drop function if exists ${T}_f(); drop function if exists ${T}_a();
    drop function if exists ${T}_purge(); drop function if exists ${T}_few();
    drop procedure if exists ${T}_wipe(); drop procedure if exists ${T}_trim()`);
  await b?.close();
});

async function client(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

const DOORS: Array<{ name: string; sql: string; tag: string; harm: () => Promise<boolean> }> = [
  { name: 'ON DELETE CASCADE', sql: `delete from ${T}_p where id = 1`, tag: 'DELETE 1', harm: async () => (await kids()) === 0 },
  { name: 'ON DELETE SET NULL', sql: `delete from ${T}_p where id = 2`, tag: 'DELETE 1', harm: async () => (await orphans()) === 3000 },
  { name: 'a trigger updating other rows', sql: `update ${T}_p set v = 7 where id = 3`, tag: 'UPDATE 1', harm: async () => (await others()) === 3000 },
  { name: 'a DO ALSO rule deleting other rows', sql: `update ${T}_p set v = 9 where id = 4`, tag: 'UPDATE 1', harm: async () => (await n(`select count(*) as n from ${T}_o`)) === 0 },
];

describe('rows the command tag does not count', () => {
  for (const d of DOORS) {
    it(`${d.name}: proven on the server, refused through the broker`, async () => {
      // the harm, on a direct connection as the grant's role: the tag says one row
      const direct = await client(DIRECT);
      await direct.query('begin');
      const r = await direct.query(d.sql);
      expect(`${r.command} ${r.rowCount}`).toBe(d.tag);
      expect(await (async () => { const x = await direct.query(`select (select count(*) from ${T}_c) c, (select count(*) from ${T}_n where p is null) nn, (select count(*) from ${T}_o where v <> 0) o, (select count(*) from ${T}_o) oa`); return x.rows[0]; })()).not.toEqual({ c: '3000', nn: '0', o: '0', oa: '3000' });
      await direct.query('rollback');
      await direct.end();
      expect(await d.harm()).toBe(false);

      // autocommit through the broker
      const c = await client(b.url(cred));
      const err = await c.query(d.sql).catch((e) => e);
      expect(err.code).toBe('42501');
      expect(err.message).toMatch(/^dbwarden: blocked by rule max-rows: this (DELETE|UPDATE) would change 3,00\d rows \(limit 1,000\); nothing was changed/);
      expect(await d.harm()).toBe(false);
      // inside the client's transaction: refused, the transaction is left aborted as after a server error
      await c.query('begin');
      const err2 = await c.query(d.sql).catch((e) => e);
      expect(err2.code).toBe('42501');
      const after = await c.query('select 1').catch((e) => e);
      expect(after.code).toBe('25P02');
      await c.query('rollback');
      expect(await d.harm()).toBe(false);
      // the session is usable
      expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
      await c.end();
      expect(await kids()).toBe(3000);
      expect(await orphans()).toBe(0);
      expect(await others()).toBe(0);
    });
  }

  it('CALL of a procedure created on the write grant: proven, refused by its count, small calls pass', async () => {
    const c = await client(b.url(cred));
    // the scope proof takes `id > 0` as a filter (rules/README.md, known limits): the row guard is the backstop
    await c.query(`create procedure ${T}_wipe() language sql as $$ delete from ${T}_o where id > 0 $$`);
    await c.query(`create procedure ${T}_trim() language sql as $$ delete from ${T}_o where id > 2990 $$`);
    const direct = await client(DIRECT);
    await direct.query('begin');
    await direct.query(`call ${T}_wipe()`);
    expect(Number((await direct.query(`select count(*) as n from ${T}_o`)).rows[0].n)).toBe(0);
    await direct.query('rollback');
    await direct.end();
    const err = await c.query(`call ${T}_wipe()`).catch((e) => e);
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(/^dbwarden: blocked by rule max-rows: this CALL would change 3,000 rows \(limit 1,000\); nothing was changed/);
    expect(await n(`select count(*) as n from ${T}_o`)).toBe(3000);
    await c.query(`call ${T}_trim()`);
    expect(await n(`select count(*) as n from ${T}_o`)).toBe(2990);
    await c.end();
  });

  it('SELECT of a function created on the write grant: proven, refused by its count, small calls pass', async () => {
    const c = await client(b.url(cred));
    await c.query(`create function ${T}_purge() returns int language sql as $$ delete from ${T}_o where id > 0 returning 1 $$`);
    await c.query(`create function ${T}_few() returns int language plpgsql as $$ begin delete from ${T}_o where id > 2980; return 1; end $$`);
    const direct = await client(DIRECT);
    await direct.query('begin');
    await direct.query(`select ${T}_purge()`);
    expect(Number((await direct.query(`select count(*) as n from ${T}_o`)).rows[0].n)).toBe(0);
    await direct.query('rollback');
    await direct.end();
    const before = await n(`select count(*) as n from ${T}_o`);
    const err = await c.query(`select ${T}_purge()`).catch((e) => e);
    expect(err.code).toBe('42501');
    expect(err.message).toMatch(new RegExp(`^dbwarden: blocked by rule max-rows: this SELECT would change ${before.toLocaleString('en-US')} rows \\(limit 1,000\\); nothing was changed`));
    const err2 = await c.query({ text: `select ${T}_purge() where $1::int = 1`, values: [1] }).catch((e) => e);
    expect(err2.code).toBe('42501');
    expect(await n(`select count(*) as n from ${T}_o`)).toBe(before);
    expect((await c.query(`select ${T}_few() as one`)).rows[0].one).toBe(1);
    expect(await n(`select count(*) as n from ${T}_o`)).toBe(Math.min(before, 2980));
    expect((await c.query(`select count(*)::int as k, lower('A') as l from ${T}_o`)).rows[0].l).toBe('a');
    await c.end();
  });

  it('ordinary writes pass: small cascades, audit-log triggers adding rows, extended protocol', async () => {
    const c = await client(b.url(cred));
    await adminSql(`update ${T}_c set p = 5 where id <= 10`);
    const r = await c.query(`delete from ${T}_p where id = 5`);
    expect(r.rowCount).toBe(1);
    expect(await kids()).toBe(2990);
    // 900 rows updated, 900 audit rows added: within the limit
    const u = await c.query({ text: `update ${T}_c set p = p where id > 10 and id <= $1`, values: [910] });
    expect(u.rowCount).toBe(900);
    expect(await n(`select count(*) as n from ${T}_log`)).toBe(910); // 10 from the setup update above
    await c.query('begin');
    expect((await c.query(`update ${T}_p set v = 1 where id = 6`)).rowCount).toBe(1);
    await c.query('commit');
    expect(await n(`select v as n from ${T}_p where id = 6`)).toBe(1);
    // extended protocol through the hidden-row door is refused too
    const err = await c.query({ text: `delete from ${T}_p where id = $1`, values: [1] }).catch((e) => e);
    expect(err.code).toBe('42501');
    expect(await n(`select count(*) as n from ${T}_c where p = 1`)).toBe(2990);
    await c.end();
  });
});
