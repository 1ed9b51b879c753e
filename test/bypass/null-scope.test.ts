// Issue 12 family (c), NOT NULL columns: `col IS NOT NULL` (and `NOT (col IS NULL)`, `col IS DISTINCT FROM NULL`,
// `NOT ISNULL(col)`, …) is true for every row of a column that cannot hold NULL, so a write scoped only by it touches
// every row. Proven on the real servers first (every row goes), then decided through a live broker with a write
// grant: the catalog snapshot's nullable columns (pg/function-catalog.ts, mysql/catalog.ts) let the same test on a
// nullable column through, and NOT NULL, primary key, CHECK (col IS NOT NULL) and NOT NULL domain columns are refused.
// Offline (`rules check`, no catalog) such a WHERE is not proven scoped: the bypass tables hold those cases.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { MY, myAdmin, mysqlTarget, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const S = `effects_nn_${randomBytes(4).toString('hex')}`;

describe('PostgreSQL: writes scoped only by a null test', () => {
  let b: TestBroker;
  let su: pg.Client;
  let writer: pg.Client;
  const count = async () => Number((await su.query(`select count(*) from ${S}.nn`)).rows[0].count);

  beforeAll(async () => {
    su = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'dbw_app' });
    await su.connect();
    await su.query(`create schema ${S}; create domain ${S}.nd as text not null;
      create table ${S}.nn (id int primary key, note text not null, opt text, chk text check (chk is not null), dom ${S}.nd);
      insert into ${S}.nn values (1, 'a', null, 'c', 'x'), (2, 'b', 'y', 'c', 'x');
      grant usage on schema ${S} to dbw_rw; grant select, update, delete on ${S}.nn to dbw_rw`);
    b = await startTestBroker();
    const cred = await b.grant({ access: 'write', who: 'alice', databases: ['dbw_app'] });
    writer = new pg.Client({ connectionString: b.url(cred, 'dbw_app') });
    writer.on('error', () => undefined);
    await writer.connect();
  });
  afterAll(async () => {
    await writer?.end().catch(() => undefined);
    await b?.close();
    await su?.query(`drop schema ${S} cascade`).catch(() => undefined);
    await su?.end();
  });

  const refused = [`delete from ${S}.nn where note is not null`, `delete from ${S}.nn where id is not null`, `delete from ${S}.nn x where not (x.id is null)`,
    `update ${S}.nn set opt = 'z' where note is distinct from null`, `delete from ${S}.nn where chk is not null`, `delete from ${S}.nn where dom is not null`,
    `delete from ${S}.nn where opt is not null or note is not null`, `delete from ${S}.nn where (id is null) = false`];

  it('on the real server: each of these deletes or updates every row', async () => {
    for (const sql of refused) {
      await su.query('begin');
      const r = await su.query(sql);
      expect(r.rowCount, sql).toBe(2);
      await su.query('rollback');
    }
    expect(await count()).toBe(2);
  });

  for (const sql of refused) {
    it(`write grant refuses: ${sql}`, async () => {
      const err = await writer.query(sql).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule unscoped-write: .*tested only for NULL/);
      expect(err?.code).toBe('42501');
      expect(await count()).toBe(2);
    });
  }

  it('write grant runs the same tests on a nullable column: they narrow', async () => {
    for (const sql of [`delete from ${S}.nn where opt is not null`, `delete from ${S}.nn where not (opt is null)`, `delete from ${S}.nn where opt is not null and note is not null`]) {
      await writer.query('begin');
      const r = await writer.query(sql);
      expect(r.rowCount, sql).toBe(1);
      await writer.query('rollback');
    }
    expect(await count()).toBe(2);
  });
});

describe('MariaDB: writes scoped only by a null test', () => {
  const P = `effects_nn_${randomBytes(4).toString('hex')}`;
  const T = `dbw_my.${P}`;
  let b: MysqlTestBroker;
  let writer: mysql.Connection;
  const count = async () => Number(((await myAdmin(`SELECT COUNT(*) AS n FROM ${T}`)) as { n: number }[])[0]!.n);

  beforeAll(async () => {
    await myAdmin(`CREATE TABLE ${T} (id INT PRIMARY KEY, note VARCHAR(9) NOT NULL, opt VARCHAR(9), chk VARCHAR(9) CHECK (chk IS NOT NULL)) ENGINE=InnoDB;
      INSERT INTO ${T} VALUES (1, 'a', NULL, 'c'), (2, 'b', 'y', 'c')`);
    b = await startMysqlTestBroker({}, { roles: { ...(mysqlTarget().roles as object), catalog: { user: 'root' } } });
    const cred = await b.grant({ access: 'write', who: 'alice', databases: ['dbw_my'] });
    writer = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my' });
  });
  afterAll(async () => {
    await writer?.end().catch(() => undefined);
    await b?.close();
    await myAdmin(`DROP TABLE IF EXISTS ${T}`).catch(() => undefined);
  });

  const refused = [`DELETE FROM ${P} WHERE note IS NOT NULL`, `DELETE FROM ${T} WHERE NOT id IS NULL`, `DELETE FROM ${P} WHERE NOT ISNULL(id)`,
    `UPDATE ${P} SET opt = 'z' WHERE NOT (note <=> NULL)`, `DELETE FROM ${P} WHERE chk IS NOT NULL`, `DELETE FROM ${P} WHERE ISNULL(note) = 0`,
    `DELETE FROM ${P} WHERE opt IS NOT NULL OR note IS NOT NULL`];

  it('on the real server: each of these deletes or updates every row', async () => {
    const c = await mysql.createConnection({ ...MY, user: 'root', database: 'dbw_my' });
    try {
      for (const sql of refused) {
        await c.query('BEGIN');
        const [r] = (await c.query(sql)) as unknown as [{ affectedRows: number }];
        expect(r.affectedRows, sql).toBe(2);
        await c.query('ROLLBACK');
      }
    } finally {
      await c.end();
    }
    expect(await count()).toBe(2);
  });

  for (const sql of refused) {
    it(`write grant refuses: ${sql}`, async () => {
      const err = await writer.query(sql).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule unscoped-write: .*tested only for NULL/);
      expect(await count()).toBe(2);
    });
  }

  it('write grant runs the same tests on a nullable column: they narrow', async () => {
    for (const sql of [`DELETE FROM ${P} WHERE opt IS NOT NULL`, `DELETE FROM ${T} WHERE NOT ISNULL(opt)`, `DELETE FROM ${P} WHERE opt IS NOT NULL AND note IS NOT NULL`]) {
      await writer.query('BEGIN');
      const [r] = (await writer.query(sql)) as unknown as [{ affectedRows: number }];
      expect(r.affectedRows, sql).toBe(1);
      await writer.query('ROLLBACK');
    }
    expect(await count()).toBe(2);
  });
});
