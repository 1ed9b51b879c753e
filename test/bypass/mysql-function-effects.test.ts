// Issue 12 class 5 (MariaDB): a read grant calling an existing stored function that may write. Proven on the real
// server first (a DEFINER function deletes every row for a role that may only SELECT; a function declared READS SQL
// DATA deletes anyway: characteristics are advisory), then decided through a live broker with a read grant: the
// catalog snapshot (mysql/function-effects.ts) makes such calls writes; functions whose body only reads stay allowed.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MY, MY_ROLES, myAdmin, mysqlTarget, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const P = `fx_${randomBytes(4).toString('hex')}`;
const T = `dbw_my.${P}_t`;

describe('read grants and stored functions that may write (MariaDB)', () => {
  let b: MysqlTestBroker;
  let reader: mysql.Connection;
  const count = async () => Number(((await myAdmin(`SELECT COUNT(*) AS n FROM ${T}`)) as { n: number }[])[0]!.n);

  beforeAll(async () => {
    b = await startMysqlTestBroker({}, { roles: { ...(mysqlTarget().roles as object), catalog: { user: 'root' } } });
    await myAdmin(`CREATE TABLE ${T} (id INT); INSERT INTO ${T} VALUES (1), (2), (3);
      CREATE FUNCTION ${P}_wipe() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM ${T}; RETURN 1; END;
      CREATE FUNCTION ${P}_liar() RETURNS INT READS SQL DATA SQL SECURITY INVOKER BEGIN DELETE FROM ${T}; RETURN 1; END;
      CREATE FUNCTION ${P}_via() RETURNS INT READS SQL DATA SQL SECURITY INVOKER RETURN ${P}_liar();
      CREATE FUNCTION ${P}_twice(x INT) RETURNS INT DETERMINISTIC NO SQL SQL SECURITY INVOKER RETURN x * 2;
      CREATE FUNCTION ${P}_rows() RETURNS INT READS SQL DATA SQL SECURITY INVOKER RETURN (SELECT COUNT(*) FROM ${T});
      CREATE FUNCTION ${P}_flip() RETURNS INT NO SQL SQL SECURITY INVOKER RETURN 1;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_flip TO dbw_my_ro;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_wipe TO dbw_my_ro; GRANT EXECUTE ON FUNCTION dbw_my.${P}_liar TO dbw_my_ro;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_via TO dbw_my_ro; GRANT EXECUTE ON FUNCTION dbw_my.${P}_twice TO dbw_my_ro;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_rows TO dbw_my_ro;
      CREATE VIEW ${P}_vw AS SELECT ${P}_wipe() AS n;
      CREATE VIEW ${P}_vover AS SELECT * FROM ${P}_vw;
      CREATE VIEW ${P}_vwhere AS SELECT id FROM ${T} WHERE ${P}_wipe() > 0;
      CREATE VIEW ${P}_vok AS SELECT id, ${P}_twice(id) AS d FROM ${T};
      GRANT SELECT ON dbw_my.${P}_vw TO dbw_my_ro; GRANT SELECT ON dbw_my.${P}_vover TO dbw_my_ro;
      GRANT SELECT ON dbw_my.${P}_vwhere TO dbw_my_ro; GRANT SELECT ON dbw_my.${P}_vok TO dbw_my_ro`, 'dbw_my');
    const cred = await b.grant({ access: 'read', who: 'alice', databases: ['dbw_my'] });
    reader = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my' });
  });
  afterAll(async () => {
    await reader?.end().catch(() => undefined);
    await b?.close();
    await myAdmin(`DROP VIEW IF EXISTS dbw_my.${P}_vover, dbw_my.${P}_vw, dbw_my.${P}_vwhere, dbw_my.${P}_vok; DROP TABLE IF EXISTS ${T}; ${['wipe', 'liar', 'via', 'twice', 'rows', 'flip'].map((f) => `DROP FUNCTION IF EXISTS dbw_my.${P}_${f};`).join(' ')}`).catch(() => undefined);
  });

  it('on the real server: the SELECT-only role deletes every row through a DEFINER function, and a READS SQL DATA one deletes too', async () => {
    const direct = await mysql.createConnection({ ...MY, ...MY_ROLES.ro, database: 'dbw_my' });
    try {
      await expect(direct.query(`DELETE FROM ${T}`)).rejects.toThrow(/denied/);
      await direct.query(`SELECT ${P}_wipe()`);
      expect(await count()).toBe(0);
    } finally {
      await direct.end();
    }
    await myAdmin(`INSERT INTO ${T} VALUES (1), (2), (3)`);
    await myAdmin(`SELECT dbw_my.${P}_liar()`);
    expect(await count()).toBe(0);
    await myAdmin(`INSERT INTO ${T} VALUES (1), (2), (3)`);
  });

  for (const call of ['wipe()', 'liar()', 'via()']) {
    it(`read grant refuses SELECT ${P}_${call}`, async () => {
      const err = await reader.query(`SELECT ${P}_${call}`).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*may write/);
      expect(await count()).toBe(3);
    });
  }

  it('read grant refuses a qualified call and an unknown user function (fail closed)', async () => {
    for (const sql of [`SELECT * FROM ${T} WHERE id = dbw_my.${P}_wipe()`, `SELECT dbw_my.${P}_missing()`]) {
      const err = await reader.query(sql).then(() => undefined, (e: Error) => e);
      expect(err?.message, sql).toMatch(/^dbwarden: blocked by rule read-only-writes/);
    }
    expect(await count()).toBe(3);
  });

  it('read grant allows functions whose body only reads, native functions and plain reads', async () => {
    const [rows] = await reader.query(`SELECT ${P}_twice(21) AS a, ${P}_rows() AS b, LOWER('AB') AS c, NOW() IS NOT NULL AS d, COUNT(*) AS n FROM ${T}`);
    expect((rows as Record<string, unknown>[])[0]).toEqual({ a: 42, b: 3, c: 'ab', d: 1, n: 3 });
  });

  it('on the real server: the SELECT-only role deletes every row by reading a view over the DEFINER function', async () => {
    const direct = await mysql.createConnection({ ...MY, ...MY_ROLES.ro, database: 'dbw_my' });
    try {
      await direct.query(`SELECT * FROM ${P}_vover`);
      expect(await count()).toBe(0);
    } finally {
      await direct.end();
    }
    await myAdmin(`INSERT INTO ${T} VALUES (1), (2), (3)`);
  });

  for (const v of ['vw', 'vover', 'vwhere']) {
    it(`read grant refuses reading view ${P}_${v}: it calls a function that may write`, async () => {
      for (const sql of [`SELECT * FROM ${P}_${v}`, `SELECT * FROM dbw_my.${P}_${v}`]) {
        const err = await reader.query(sql).then(() => undefined, (e: Error) => e);
        expect(err?.message, sql).toMatch(/^dbwarden: blocked by rule read-only-writes: .*through/);
      }
      expect(await count()).toBe(3);
    });
  }

  it('read grant reads a view over functions that only read', async () => {
    const [rows] = await reader.query(`SELECT COUNT(*) AS n, SUM(d) AS s FROM ${P}_vok`);
    expect((rows as Record<string, unknown>[])[0]).toEqual({ n: 3, s: '12' });
  });

  it('without a catalog role a view whose definition the read role cannot see is refused on a read grant; tables are read', async () => {
    const plain = await startMysqlTestBroker();
    try {
      const cred = await plain.grant({ access: 'read', who: 'alice', databases: ['dbw_my'] });
      const c = await mysql.createConnection({ host: '127.0.0.1', port: plain.myPort, user: cred.login, password: cred.password, database: 'dbw_my' });
      try {
        const err = await c.query(`SELECT * FROM ${P}_vok`).then(() => undefined, (e: Error) => e);
        expect(err?.message).toMatch(/read-only-writes: .*definition cannot be read/);
        const [rows] = await c.query(`SELECT COUNT(*) AS n FROM ${T}`);
        expect((rows as Record<string, unknown>[])[0]!.n).toBe(3);
      } finally {
        await c.end();
      }
    } finally {
      await plain.close();
    }
  });

  // the race: a routine dropped and created again between two catalog snapshots was decided by its old entry
  it('a function dropped and created again by another connection right before the call is decided by its new body', async () => {
    const [ok] = await reader.query(`SELECT ${P}_flip() AS v`);
    expect((ok as Record<string, unknown>[])[0]!.v).toBe(1);
    await myAdmin(`DROP FUNCTION ${P}_flip; CREATE FUNCTION ${P}_flip() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM ${T}; RETURN 2; END;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_flip TO dbw_my_ro`, 'dbw_my');
    for (const sql of [`SELECT ${P}_flip()`, `SELECT * FROM ${T} WHERE id = dbw_my.${P}_flip()`]) {
      const err = await reader.query(sql).then(() => undefined, (e: Error) => e);
      expect(err?.message, sql).toMatch(/^dbwarden: blocked by rule read-only-writes: .*flip.*may write/);
    }
    // the prepared form waits the same way
    const perr = await reader.execute(`SELECT ${P}_flip() + ?`, [1]).then(() => undefined, (e: Error) => e);
    expect(perr?.message).toMatch(/read-only-writes/);
    expect(await count()).toBe(3);
    // and a function made harmless again is allowed at once
    await myAdmin(`DROP FUNCTION ${P}_flip; CREATE FUNCTION ${P}_flip() RETURNS INT NO SQL SQL SECURITY INVOKER RETURN 3;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_flip TO dbw_my_ro`, 'dbw_my');
    const [again] = await reader.query(`SELECT ${P}_flip() AS v`);
    expect((again as Record<string, unknown>[])[0]!.v).toBe(3);
    // commands queued behind a waiting one answer in order
    const [[a], [b7]] = await Promise.all([reader.query(`SELECT ${P}_flip() AS v`), reader.query('SELECT 7 AS v')]);
    expect([(a as Record<string, unknown>[])[0]!.v, (b7 as Record<string, unknown>[])[0]!.v]).toEqual([3, 7]);
  });

  it('a stored function named like a native one (in another schema) does not make the native call a write', async () => {
    // MariaDB resolves an unqualified count(…) / lower(…) to the native function whatever routines exist
    await myAdmin(`CREATE DATABASE IF NOT EXISTS ${P}_shadow;
      CREATE FUNCTION ${P}_shadow.count(x INT) RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM ${T}; RETURN 1; END;
      CREATE FUNCTION ${P}_shadow.lower(x TEXT) RETURNS TEXT MODIFIES SQL DATA BEGIN DELETE FROM ${T}; RETURN x; END`);
    try {
      await new Promise((r) => setTimeout(r, 5_500)); // the catalog snapshot (read every 5 s) now lists both routines
      const [rows] = await reader.query(`SELECT COUNT(*) AS n, LOWER('AB') AS c FROM ${T}`);
      expect((rows as Record<string, unknown>[])[0]).toEqual({ n: 3, c: 'ab' });
      expect(await count()).toBe(3);
    } finally {
      await myAdmin(`DROP DATABASE IF EXISTS ${P}_shadow`);
    }
  }, 20_000);

  it('a function created by another connection right before its first call is not taken for a native one', async () => {
    // native calls the session has not made before are asked of the server once (nothing runs), then allowed
    const [nat] = await reader.query("SELECT SUBSTRING_INDEX('a@b', '@', -1) AS d, JSON_EXTRACT('[5]', '$[0]') AS j, DATE_FORMAT('2020-01-02', '%Y') AS y");
    expect((nat as Record<string, unknown>[])[0]).toEqual({ d: 'b', j: 5, y: '2020' });
    // created now: the broker's snapshot (read every 5 s) does not list it yet
    await myAdmin(`CREATE FUNCTION ${P}_fresh() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM ${T}; RETURN 1; END;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_fresh TO dbw_my_ro`, 'dbw_my');
    const err = await reader.query(`SELECT ${P}_fresh()`).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*fresh.*may write/);
    expect(await count()).toBe(3);
    await myAdmin(`DROP FUNCTION IF EXISTS dbw_my.${P}_fresh`);
  });

  it('a statement prepared while its function was harmless is decided again at each execution (binary and SQL-level)', async () => {
    await myAdmin(`CREATE FUNCTION ${P}_later() RETURNS INT NO SQL SQL SECURITY INVOKER RETURN 5;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_later TO dbw_my_ro`, 'dbw_my');
    const stmt = await reader.prepare(`SELECT ${P}_later() + ? AS v`);
    try {
      const [r1] = await stmt.execute([1]);
      expect((r1 as Record<string, unknown>[])[0]!.v).toBe(6);
      await reader.query(`PREPARE ${P}_s FROM 'SELECT ${P}_later() AS v'`);
      const [r2] = await reader.query(`EXECUTE ${P}_s`);
      expect((r2 as Record<string, unknown>[])[0]!.v).toBe(5);
      // replaced by another connection between the prepare and the next execution
      await myAdmin(`DROP FUNCTION ${P}_later; CREATE FUNCTION ${P}_later() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM ${T}; RETURN 7; END;
        GRANT EXECUTE ON FUNCTION dbw_my.${P}_later TO dbw_my_ro`, 'dbw_my');
      const e1 = await stmt.execute([1]).then(() => undefined, (e: Error) => e);
      expect(e1?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*later.*may write/);
      const e2 = await reader.query(`EXECUTE ${P}_s`).then(() => undefined, (e: Error) => e);
      expect(e2?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*later.*may write/);
      expect(await count()).toBe(3);
    } finally {
      await stmt.close();
      await myAdmin(`DROP FUNCTION IF EXISTS dbw_my.${P}_later`);
    }
  });
});
