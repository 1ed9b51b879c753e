// Row guard on MariaDB against writes whose OK packet counts fewer rows than they change: cascading foreign keys,
// triggers writing other tables, stored functions that write. One row in the statement's own count, 3,000 changed:
// trigger and function writes counted (session Handler counters) and rolled back; cascades refused before running.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const DB = `dbw_gm_rg_${randomBytes(3).toString('hex')}`;
// the broker's write role: every right on DB and nothing else
const ROLE = { user: DB, password: `pw_${randomBytes(6).toString('hex')}` };
let b: MysqlTestBroker;
let cred: Awaited<ReturnType<MysqlTestBroker['grant']>>;

async function count(table: string): Promise<number> {
  const rows = (await myAdmin(`SELECT COUNT(*) AS n FROM ${DB}.${table}`)) as { n: number }[];
  return Number(rows[0]!.n);
}
function connect(): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: DB });
}

beforeAll(async () => {
  await myAdmin(`
    CREATE DATABASE ${DB};
    CREATE USER '${ROLE.user}'@'%' IDENTIFIED BY '${ROLE.password}';
    CREATE USER '${ROLE.user}'@'localhost' IDENTIFIED BY '${ROLE.password}';
    GRANT ALL ON ${DB}.* TO '${ROLE.user}'@'%';
    GRANT ALL ON ${DB}.* TO '${ROLE.user}'@'localhost';
    CREATE TABLE ${DB}.p (id INT PRIMARY KEY) ENGINE=InnoDB;
    CREATE TABLE ${DB}.c (id INT PRIMARY KEY, pid INT, FOREIGN KEY (pid) REFERENCES ${DB}.p (id) ON DELETE CASCADE ON UPDATE CASCADE) ENGINE=InnoDB;
    INSERT INTO ${DB}.p VALUES (1), (2), (3);
    INSERT INTO ${DB}.c SELECT seq, 1 FROM ${DB}.seq_1_to_3000;
    INSERT INTO ${DB}.c SELECT seq, 2 FROM ${DB}.seq_3001_to_3010;
    CREATE TABLE ${DB}.o (id INT PRIMARY KEY) ENGINE=InnoDB;
    INSERT INTO ${DB}.o SELECT seq FROM ${DB}.seq_1_to_3000;
    CREATE TABLE ${DB}.t (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
    INSERT INTO ${DB}.t VALUES (1, 0);
    CREATE TRIGGER ${DB}.t_u AFTER UPDATE ON ${DB}.t FOR EACH ROW DELETE FROM ${DB}.o;
    CREATE TABLE ${DB}.f (id INT PRIMARY KEY, v INT) ENGINE=InnoDB;
    INSERT INTO ${DB}.f VALUES (1, 0);
    CREATE FUNCTION ${DB}.wipe() RETURNS INT MODIFIES SQL DATA BEGIN DELETE FROM ${DB}.o; RETURN 1; END;
    CREATE PROCEDURE ${DB}.wipe_p() MODIFIES SQL DATA DELETE FROM ${DB}.o;
    CREATE TABLE ${DB}.ins (id INT PRIMARY KEY) ENGINE=InnoDB;
    CREATE TRIGGER ${DB}.ins_i AFTER INSERT ON ${DB}.ins FOR EACH ROW DELETE FROM ${DB}.o;
  `);
  b = await startMysqlTestBroker({}, { databases: [DB], roles: { read: ROLE, write: ROLE, admin: { user: 'root' } } });
  cred = await b.grant({ access: 'write', databases: [DB] });
}, 60_000);
afterAll(async () => {
  await myAdmin(`DROP DATABASE IF EXISTS ${DB}; DROP USER IF EXISTS '${ROLE.user}'@'%', '${ROLE.user}'@'localhost'`).catch(() => undefined);
  await b?.close();
});

describe('row guard: rows the OK packet does not count', () => {
  it('ON DELETE / ON UPDATE CASCADE: one parent row, 3,000 child rows: refused before running', async () => {
    const c = await connect();
    const err = await c.query('DELETE FROM p WHERE id = 1').catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.message).toMatch(/^dbwarden: blocked by rule max-rows: this DELETE writes table p, which other tables' foreign keys reference with ON DELETE CASCADE \/ SET NULL \/ SET DEFAULT; the rows those change are not in the server's count, so it was not run/);
    expect(await count('c')).toBe(3010);
    expect(await count('p')).toBe(3);
    // inside the client's transaction: refused, the transaction stays usable
    await c.query('START TRANSACTION');
    const err2 = await c.query('DELETE FROM p WHERE id = 2').catch((e) => e);
    expect(err2.errno).toBe(1227);
    expect(err2.message).toMatch(/ON DELETE CASCADE/);
    const [rows] = await c.query('SELECT COUNT(*) AS n FROM c');
    expect(Number((rows as { n: number }[])[0]!.n)).toBe(3010);
    await c.query('ROLLBACK');
    // an UPDATE of a parent referenced with ON UPDATE CASCADE is not refused for that: it cascades only when the key
    // changes (a known limit, rules/README.md), and ORMs declare ON UPDATE CASCADE by default
    await c.query('UPDATE p SET id = id WHERE id = 3');
    const err3 = await c.query('REPLACE INTO p SELECT id FROM p WHERE id = 1').catch((e) => e);
    expect(err3.errno).toBe(1227);
    expect(await count('c')).toBe(3010);
    expect(await count('p')).toBe(3);
    // the child table itself is counted as usual
    const [ok] = await c.query('DELETE FROM c WHERE pid = 2');
    expect((ok as mysql.ResultSetHeader).affectedRows).toBe(10);
    await c.end();
  });

  it('a trigger deleting 3,000 rows of another table behind a one-row UPDATE: refused', async () => {
    const c = await connect();
    const err = await c.query('UPDATE t SET v = 1 WHERE id = 1').catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.message).toMatch(/this UPDATE would change 3,001 rows \(limit 1,000\); nothing was changed \(1 in the statement's own count; the rest by triggers or stored functions\)/);
    expect(await count('o')).toBe(3000);
    // a trigger that writes nothing more: the same answer as a direct connection
    await myAdmin(`DELETE FROM ${DB}.o WHERE id > 10`);
    const [ok] = await c.query('UPDATE t SET v = 2 WHERE id = 1');
    expect((ok as mysql.ResultSetHeader).affectedRows).toBe(1);
    expect(await count('o')).toBe(0);
    await myAdmin(`INSERT INTO ${DB}.o SELECT seq FROM ${DB}.seq_1_to_3000`);
    await c.end();
  });

  it('a stored function deleting 3,000 rows called by a one-row UPDATE: refused', async () => {
    const c = await connect();
    const err = await c.query('UPDATE f SET v = wipe() WHERE id = 1').catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.message).toMatch(/would change 3,001 rows/);
    expect(await count('o')).toBe(3000);
    await c.end();
  });

  it('CALL of a procedure deleting 3,000 rows: counted and refused; a small one passes', async () => {
    const c = await connect();
    const err = await c.query('CALL wipe_p()').catch((e) => e);
    expect(err.errno).toBe(1227);
    expect(err.message).toMatch(/^dbwarden: blocked by rule max-rows: this CALL would change 3,000 rows \(limit 1,000\); nothing was changed/);
    expect(await count('o')).toBe(3000);
    await myAdmin(`DELETE FROM ${DB}.o WHERE id > 5`);
    await c.query('CALL wipe_p()');
    expect(await count('o')).toBe(0);
    await myAdmin(`INSERT INTO ${DB}.o SELECT seq FROM ${DB}.seq_1_to_3000`);
    await c.end();
  });

  it('INSERT … VALUES: a trigger or a stored function deleting 3,000 rows is counted; a plain one passes as it is', async () => {
    const c = await connect();
    for (const q of ['INSERT INTO ins VALUES (1)', 'INSERT INTO f VALUES (2, wipe())']) {
      const err = await c.query(q).catch((e) => e);
      expect(err.errno, q).toBe(1227);
      expect(err.message).toMatch(/^dbwarden: blocked by rule max-rows: this INSERT would change 3,001 rows/);
      expect(await count('o')).toBe(3000);
    }
    expect(await count('ins')).toBe(0);
    // no trigger, no function: the same answer as a direct connection, parent tables of cascading keys included
    const [ok] = await c.query('INSERT INTO o VALUES (5001), (5002)');
    expect((ok as mysql.ResultSetHeader).affectedRows).toBe(2);
    const [okp] = await c.query('INSERT INTO p VALUES (20)');
    expect((okp as mysql.ResultSetHeader).affectedRows).toBe(1);
    await myAdmin(`DELETE FROM ${DB}.o WHERE id > 5000; DELETE FROM ${DB}.p WHERE id = 20`);
    await c.end();
  });
});
