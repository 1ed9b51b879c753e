// Issue 10, MySQL compound routine bodies: the broker ends a CREATE PROCEDURE/FUNCTION/TRIGGER/EVENT whose body is
// BEGIN … END (IF, CASE, LOOP, WHILE, REPEAT, labels, handlers, cursors) where the real MariaDB does, and decides the
// body by every statement it runs. Proven three ways: the server's own statement count for each text (the split
// agrees, or the broker refuses), the harm of hidden statements shown on the server (rows vanish, a table is
// dropped) before the live broker refuses them, and the mariadb CLI with DELIMITER // through a live broker.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lexMysql } from '../../src/sql/mysql-lexer.js';
import { MY, MY_ROLES, myAdmin, mysqlTarget, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const P = `cmp_${randomBytes(4).toString('hex')}`;
const T = `${P}_t`;
const MARKS = `${P}_marks`;

/** Compound CREATE texts the server accepts; each is followed by an INSERT that marks the statement after it ran. */
const ACCEPTED: string[] = [
  `CREATE PROCEDURE ${P}_a(IN i INT) outer_blk: BEGIN
     DECLARE n INT DEFAULT 0; DECLARE done INT DEFAULT 0;
     DECLARE c CURSOR FOR SELECT id FROM ${T} WHERE id > i;
     DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1;
     DECLARE EXIT HANDLER FOR SQLSTATE '23000', SQLEXCEPTION BEGIN ROLLBACK; RESIGNAL; END;
     IF i > 0 THEN SELECT 1; ELSEIF i < 0 THEN SELECT 2; ELSE BEGIN SELECT 3; END; END IF;
     CASE i WHEN 1 THEN SELECT 4; WHEN 2 THEN BEGIN SELECT 5; END; ELSE SELECT 6; END CASE;
     OPEN c; rd: LOOP FETCH c INTO n; IF done THEN LEAVE rd; END IF; SET n = n + 1; END LOOP rd; CLOSE c;
     w: WHILE n > 0 DO SET n = n - 1; IF n = 3 THEN ITERATE w; END IF; END WHILE w;
     REPEAT SET n = n + 1; UNTIL n > 5 END REPEAT;
     inner_blk: BEGIN SELECT CASE WHEN n > 1 THEN 'a' ELSE 'b' END; END inner_blk;
   END outer_blk`,
  `CREATE PROCEDURE ${P}_b() IF 1 THEN SELECT 1; END IF`,
  `CREATE PROCEDURE ${P}_c() CASE WHEN 1 THEN SELECT 1; END CASE`,
  `CREATE PROCEDURE ${P}_d() l: LOOP LEAVE l; END LOOP l`,
  `CREATE PROCEDURE ${P}_e() WHILE 0 DO SELECT 1; END WHILE`,
  `CREATE PROCEDURE ${P}_f() REPEAT SELECT 1; UNTIL 1 END REPEAT`,
  `CREATE PROCEDURE ${P}_g() BEGIN SELECT 'END; END IF; DELETE FROM ${T}; END' AS s; END`,
  `CREATE PROCEDURE ${P}_h() BEGIN SELECT 1; -- END;\nSELECT 2; # END IF;\nSELECT 3; /* END; */ END`,
  `CREATE PROCEDURE ${P}_i() BEGIN SELECT id AS \`END;\` FROM ${T}; SELECT CASE WHEN 1 THEN 2 END AS x; END`,
  `CREATE FUNCTION ${P}_j(x INT) RETURNS VARCHAR(10) CHARSET utf8mb4 DETERMINISTIC COMMENT 'c; END' NO SQL BEGIN IF x > 0 THEN RETURN 'p'; END IF; RETURN 'n'; END`,
  `CREATE OR REPLACE PROCEDURE ${P}_k() BEGIN END`,
  `CREATE TRIGGER ${P}_tr BEFORE INSERT ON ${T} FOR EACH ROW BEGIN SET NEW.v = 'trig'; SET NEW.v = CONCAT(NEW.v, ';'); END`,
  `CREATE EVENT ${P}_ev ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' DO BEGIN SELECT 1; SELECT 2; END`,
  `ALTER EVENT ${P}_ev DO BEGIN SELECT 3; SELECT 4; END`,
  `CREATE PROCEDURE ${P}_l() BEGIN SELECT "x; END" AS s; END`,
  `CREATE PROCEDURE ${P}_o() BEGIN NOT ATOMIC SELECT 1; END`,
];

/** Compound texts the server rejects (a syntax error: nothing of them runs); the broker refuses them too. */
const SERVER_REJECTS: string[] = [
  // no label on a NOT ATOMIC block
  `CREATE PROCEDURE ${P}_p() BEGIN l: BEGIN NOT ATOMIC SELECT 1; END; END`,
  `CREATE PROCEDURE ${P}_q() BEGIN IF 1 THEN SELECT 1; END; END`,
  `CREATE PROCEDURE ${P}_r() WHILE 1 DO SELECT 1; END LOOP`,
];

/** Compound texts the server accepts but the broker does not read exactly: refused (an over-block, never a misread). */
const REFUSED: string[] = [
  `CREATE PROCEDURE ${P}_m() BEGIN DECLARE end INT DEFAULT 1; IF CASE WHEN 1 THEN end END THEN SELECT 1; END IF; END`,
  `CREATE PROCEDURE ${P}_n() FOR i IN 1..2 DO SELECT i; END FOR`,
];

function lexed(text: string) {
  return lexMysql(text, { server: { mariadb: true, version: 101119 } });
}

describe('the server ends a compound statement where the broker does', () => {
  let root: mysql.Connection;
  beforeAll(async () => {
    await myAdmin(`CREATE TABLE IF NOT EXISTS ${T} (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO ${T} VALUES (1, 'a'), (2, 'b'), (3, 'c');
      CREATE TABLE IF NOT EXISTS ${MARKS} (k INT)`, 'dbw_my');
    root = await mysql.createConnection({ ...MY, user: 'root', database: 'dbw_my', multipleStatements: true });
  });
  afterAll(async () => {
    await root?.end();
  });

  it.each(ACCEPTED.map((t, k) => [k, t] as const))('text %i: one statement for the CREATE, then the next one', async (k, text) => {
    const full = `${text}; INSERT INTO ${MARKS} VALUES (${k})`;
    const r = lexed(full);
    expect(r.ok, r.ok ? '' : r.error).toBe(true);
    expect(r.statements).toHaveLength(2);
    expect(r.statements[1]!.text).toBe(`INSERT INTO ${MARKS} VALUES (${k})`);
    // the server: two results (the CREATE, the INSERT), the INSERT ran once, nothing in the body ran
    const before = await root.query(`SELECT * FROM ${T} ORDER BY id`);
    const [results] = await root.query(full);
    expect(Array.isArray(results) ? results.length : 1).toBe(2);
    const [marks] = await root.query(`SELECT COUNT(*) AS n FROM ${MARKS} WHERE k = ${k}`);
    expect((marks as { n: number }[])[0]!.n).toBe(1);
    expect(await root.query(`SELECT * FROM ${T} ORDER BY id`)).toEqual(before);
  });

  it.each(REFUSED.map((t, k) => [k, t] as const))('refused text %i: the server accepts it, the broker refuses to guess', async (k, text) => {
    expect(lexed(`${text}; SELECT 1`).ok).toBe(false);
    await root.query(text);
  });

  it.each(SERVER_REJECTS.map((t, k) => [k, t] as const))('text the server rejects %i: refused by both', async (k, text) => {
    expect(lexed(`${text}; SELECT 1`).ok).toBe(false);
    await expect(root.query(`${text}; INSERT INTO ${MARKS} VALUES (${100 + k})`)).rejects.toThrow(/syntax/);
    const [marks] = await root.query(`SELECT COUNT(*) AS n FROM ${MARKS} WHERE k = ${100 + k}`);
    expect((marks as { n: number }[])[0]!.n).toBe(0);
  });

  afterAll(async () => {
    const drops = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r'].map((x) => `DROP PROCEDURE IF EXISTS ${P}_${x};`).join(' ');
    await myAdmin(`${drops} DROP FUNCTION IF EXISTS ${P}_j; DROP EVENT IF EXISTS ${P}_ev; DROP TABLE IF EXISTS ${T}, ${MARKS}`, 'dbw_my').catch(() => undefined);
  });
});

describe('compound bodies through a live broker, each refusal proven harmful on the server first', () => {
  const W = `${P}_w`;
  let b: MysqlTestBroker;
  let writer: mysql.Connection;
  let reader: mysql.Connection;
  const count = async (): Promise<number> => Number(((await myAdmin(`SELECT COUNT(*) AS n FROM dbw_my.${W}`)) as { n: number }[])[0]!.n);
  const reset = () => myAdmin(`DROP TABLE IF EXISTS ${W}; CREATE TABLE ${W} (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO ${W} VALUES (1, 'a'), (2, 'b'), (3, 'c')`, 'dbw_my');
  const refusal = (c: mysql.Connection, sql: string) => c.query(sql).then(() => 'ran', (e: Error) => e.message);

  /** [what, body (a procedure named {name}), rule, harm: what the proof checks after CALL on the server] */
  const harmful: Array<[string, string, string, 'rows' | 'table']> = [
    ['a DELETE without WHERE inside IF', `BEGIN DECLARE n INT DEFAULT 1; IF n > 0 THEN DELETE FROM ${W}; END IF; END`, 'unscoped-write', 'rows'],
    ['a DROP TABLE in a condition handler', `BEGIN DECLARE EXIT HANDLER FOR SQLEXCEPTION DROP TABLE ${W}; SIGNAL SQLSTATE '45000'; END`, 'drop', 'table'],
    ['PREPARE/EXECUTE inside WHILE', `BEGIN DECLARE i INT DEFAULT 0; WHILE i < 1 DO SET @q = 'DELETE FROM ${W}'; PREPARE s FROM @q; EXECUTE s; DEALLOCATE PREPARE s; SET i = i + 1; END WHILE; END`, 'dynamic-sql', 'rows'],
    ['a row-by-row DELETE in a cursor loop', `BEGIN DECLARE done INT DEFAULT 0; DECLARE x INT; DECLARE c CURSOR FOR SELECT id FROM ${W}; DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; OPEN c; rd: LOOP FETCH c INTO x; IF done THEN LEAVE rd; END IF; DELETE FROM ${W} WHERE id = x; END LOOP rd; CLOSE c; END`, 'dynamic-sql', 'rows'],
  ];

  beforeAll(async () => {
    await reset();
    // the stored functions exist before the broker reads its catalog snapshot
    await myAdmin(`
      CREATE FUNCTION ${P}_fw() RETURNS INT READS SQL DATA SQL SECURITY INVOKER BEGIN DECLARE n INT DEFAULT 0; SELECT COUNT(*) INTO n FROM ${W}; IF n > 0 THEN DELETE FROM ${W} WHERE id > 0; END IF; RETURN n; END;
      CREATE FUNCTION ${P}_fr() RETURNS INT READS SQL DATA SQL SECURITY INVOKER BEGIN DECLARE s INT DEFAULT 0; DECLARE done INT DEFAULT 0; DECLARE x INT; DECLARE c CURSOR FOR SELECT id FROM ${W}; DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; OPEN c; rd: LOOP FETCH c INTO x; IF done THEN LEAVE rd; END IF; SET s = s + x; END LOOP rd; CLOSE c; RETURN s; END;
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_fw TO '${MY_ROLES.ro.user}'@'%'; GRANT EXECUTE ON FUNCTION dbw_my.${P}_fr TO '${MY_ROLES.ro.user}'@'%';
      GRANT EXECUTE ON FUNCTION dbw_my.${P}_fw TO '${MY_ROLES.ro.user}'@'localhost'; GRANT EXECUTE ON FUNCTION dbw_my.${P}_fr TO '${MY_ROLES.ro.user}'@'localhost'`, 'dbw_my');
    await myAdmin(`DROP TABLE IF EXISTS ${P}_people; CREATE TABLE ${P}_people (id INT PRIMARY KEY, email VARCHAR(60)); INSERT INTO ${P}_people VALUES (1, 'ann@example.com')`, 'dbw_my');
    b = await startMysqlTestBroker({}, { rulesets: ['safe-defaults'], roles: { ...(mysqlTarget().roles as object), catalog: { user: 'root' } } });
    const w = await b.grant({ access: 'write', who: 'alice', databases: ['dbw_my'] });
    writer = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: w.login, password: w.password, database: 'dbw_my', multipleStatements: true });
    const r = await b.grant({ access: 'read', who: 'alice', databases: ['dbw_my'] });
    reader = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: r.login, password: r.password, database: 'dbw_my' });
  });
  afterAll(async () => {
    await writer?.end().catch(() => undefined);
    await reader?.end().catch(() => undefined);
    await b?.close();
    const procs = ['ok', 'h0', 'h1', 'h2', 'h3', 'b0', 'b1', 'b2', 'b3'].map((x) => `DROP PROCEDURE IF EXISTS ${P}_${x};`).join(' ');
    await myAdmin(`${procs} DROP FUNCTION IF EXISTS ${P}_fr; DROP FUNCTION IF EXISTS ${P}_fw; DROP PROCEDURE IF EXISTS ${P}_leak; DROP PROCEDURE IF EXISTS ${P}_leak2; DROP PROCEDURE IF EXISTS ${P}_px; DROP PROCEDURE IF EXISTS ${P}_py; DROP TABLE IF EXISTS ${W}, ${P}_people, ${P}_xv`, 'dbw_my').catch(() => undefined);
  });

  it('a compound procedure with reads and scoped writes is allowed on a write grant and runs', async () => {
    await writer.query(`CREATE PROCEDURE ${P}_ok(i INT) BEGIN
      DECLARE n INT DEFAULT 0;
      SELECT COUNT(*) INTO n FROM ${W} WHERE id = i;
      IF n > 0 THEN UPDATE ${W} SET v = 'touched' WHERE id = i; ELSE INSERT INTO ${W} VALUES (i, 'new'); END IF;
    END`);
    await writer.query(`CALL ${P}_ok(2)`);
    await writer.query(`CALL ${P}_ok(9)`);
    expect(await myAdmin(`SELECT id, v FROM ${W} ORDER BY id`, 'dbw_my')).toEqual([{ id: 1, v: 'a' }, { id: 2, v: 'touched' }, { id: 3, v: 'c' }, { id: 9, v: 'new' }]);
    await reset();
  });

  it('a parameter named like a column is the parameter, as the broker reads it: the allowed DELETE removes one row', async () => {
    await myAdmin(`DROP TABLE IF EXISTS ${P}_xv; CREATE TABLE ${P}_xv (id INT, x INT); INSERT INTO ${P}_xv VALUES (1, 1), (2, 2), (3, 30)`, 'dbw_my');
    await writer.query(`CREATE PROCEDURE ${P}_px(x INT) BEGIN DELETE FROM ${P}_xv WHERE id = x; END`);
    await writer.query(`CALL ${P}_px(3)`);
    // read as the column, `id = x` would have removed rows 1 and 2 instead
    expect(await myAdmin(`SELECT id, x FROM ${P}_xv ORDER BY id`, 'dbw_my')).toEqual([{ id: 1, x: 1 }, { id: 2, x: 2 }]);
    // and a variable compared with itself is refused
    expect(await refusal(writer, `CREATE PROCEDURE ${P}_py(id INT) BEGIN DELETE FROM ${P}_xv WHERE id = id; END`)).toMatch(/^dbwarden: blocked by rule unscoped-write: /);
  });

  harmful.forEach(([what, body, rule, harm], k) => {
    it(`${what}: deletes or drops on the server when created and called, refused by ${rule} through the broker`, async () => {
      // the harm, directly on the server
      await myAdmin(`CREATE PROCEDURE ${P}_h${k}() ${body}`, 'dbw_my');
      await myAdmin(`CALL ${P}_h${k}()`, 'dbw_my');
      if (harm === 'rows') expect(await count()).toBe(0);
      else await expect(count()).rejects.toThrow(/doesn't exist/);
      await reset();
      // through the broker: the CREATE (with its CALL) is refused and never reaches the server
      const msg = await refusal(writer, `CREATE PROCEDURE ${P}_b${k}() ${body}; CALL ${P}_b${k}()`);
      expect(msg).toMatch(new RegExp(`^dbwarden: blocked by rule ${rule}: `));
      expect(await count()).toBe(3);
      expect(await myAdmin(`SELECT COUNT(*) AS n FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'dbw_my' AND ROUTINE_NAME = '${P}_b${k}'`)).toEqual([{ n: 0 }]);
    });
  });

  it('while columns are masked, a body moving a masked value through a variable into a table is refused', async () => {
    const body = `BEGIN DECLARE e VARCHAR(60); SELECT email INTO e FROM ${P}_people WHERE id = 1; INSERT INTO ${W} VALUES (99, e); END`;
    // on the server the value lands in a column no mask covers
    await myAdmin(`CREATE PROCEDURE ${P}_leak() ${body}; CALL ${P}_leak()`, 'dbw_my');
    expect(await myAdmin(`SELECT v FROM ${W} WHERE id = 99`, 'dbw_my')).toEqual([{ v: 'ann@example.com' }]);
    await reset();
    const masked = await startMysqlTestBroker({}, { rulesets: ['safe-defaults', 'pii-masking'] });
    try {
      const w = await masked.grant({ access: 'write', who: 'alice', databases: ['dbw_my'] });
      const c = await mysql.createConnection({ host: '127.0.0.1', port: masked.myPort, user: w.login, password: w.password, database: 'dbw_my', multipleStatements: true });
      try {
        const msg = await refusal(c, `CREATE PROCEDURE ${P}_leak2() ${body}; CALL ${P}_leak2()`);
        expect(msg).toMatch(/^dbwarden: blocked by rule mask-email: .*masked columns cannot be copied or exported/);
      } finally {
        await c.end();
      }
    } finally {
      await masked.close();
    }
    expect(await count()).toBe(3);
  });

  it('read grant: a stored function with a compound body that writes is refused, one that only reads is allowed', async () => {
    // the writing function deletes every row for a caller that may delete (shown as root); through the broker the
    // read grant's call is refused before the server's own privilege check is ever reached
    await myAdmin(`SELECT ${P}_fw()`, 'dbw_my');
    expect(await count()).toBe(0);
    await reset();
    expect(await refusal(reader, `SELECT ${P}_fw()`)).toMatch(/^dbwarden: blocked by rule read-only-writes: /);
    const [rows] = await reader.query(`SELECT ${P}_fr() AS s`);
    expect(rows).toEqual([{ s: 6 }]);
    expect(await count()).toBe(3);
  });
});

function run(cmd: string, args: string[], input: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(t);
      done({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

describe('the mariadb CLI with DELIMITER // through a live broker', () => {
  const C = `${P}_cli`;
  let b: MysqlTestBroker;
  beforeAll(async () => {
    await myAdmin(`DROP TABLE IF EXISTS ${C}; CREATE TABLE ${C} (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO ${C} VALUES (1, 'a'), (2, 'b')`, 'dbw_my');
    b = await startMysqlTestBroker();
  });
  afterAll(async () => {
    await b?.close();
    await myAdmin(`DROP PROCEDURE IF EXISTS ${P}_cli_ok; DROP PROCEDURE IF EXISTS ${P}_cli_bad; DROP TABLE IF EXISTS ${C}`, 'dbw_my').catch(() => undefined);
  });

  it('creates and calls a compound procedure; one hiding an unscoped DELETE is refused and never created', async () => {
    const cred = await b.grant({ access: 'write', databases: ['dbw_my'] });
    const script = [
      'DELIMITER //',
      `CREATE PROCEDURE ${P}_cli_ok(i INT)`,
      'BEGIN',
      '  DECLARE n INT DEFAULT 0;',
      `  SELECT COUNT(*) INTO n FROM ${C} WHERE id = i;`,
      `  IF n > 0 THEN UPDATE ${C} SET v = 'cli' WHERE id = i; END IF;`,
      'END//',
      `CREATE PROCEDURE ${P}_cli_bad()`,
      'BEGIN',
      `  IF 1 THEN DELETE FROM ${C}; END IF;`,
      'END//',
      'DELIMITER ;',
      `CALL ${P}_cli_ok(1);`,
      `SELECT id, v FROM ${C} ORDER BY id;`,
    ].join('\n');
    const r = await run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', cred.login, `-p${cred.password}`, '--skip-ssl', '--force', '--table', 'dbw_my'], script);
    expect(r.stderr).toMatch(/ERROR 1227 \(42000\) at line 8: dbwarden: blocked by rule unscoped-write: /);
    expect(r.stdout).toMatch(/\|\s+1 \| cli\s+\|/);
    expect(r.stdout).toMatch(/\|\s+2 \| b\s+\|/);
    expect(await myAdmin(`SELECT ROUTINE_NAME AS r FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'dbw_my' AND ROUTINE_NAME LIKE '${P}_cli%' ORDER BY 1`)).toEqual([{ r: `${P}_cli_ok` }]);
  });
});
