// Result masking through the broker for MariaDB (rules/pii-masking.yaml): every attempt is first shown to reveal
// the value on a direct connection, then shown not to reveal it through dbwarden, over the text protocol
// (mysql2 query), the binary protocol (mysql2 execute) and the mariadb CLI tools.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MY, myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const run = promisify(execFile);
let b: MysqlTestBroker;
let read: Awaited<ReturnType<MysqlTestBroker['grant']>>;
let write: Awaited<ReturnType<MysqlTestBroker['grant']>>;
const SECRET_EMAIL = 'alice.secret@example.org';
const SECRET_PHONE = '+1-555-0100-7788';
const SECRET_SSN = '078-05-1120';

beforeAll(async () => {
  await myAdmin(`
    SET GLOBAL max_allowed_packet = 67108864;
    DROP TABLE IF EXISTS dbw_my.mask_users, dbw_my.mask_copy, dbw_my.mask_plain;
    DROP VIEW IF EXISTS dbw_my.mask_users_v;
    CREATE TABLE dbw_my.mask_users (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(100) UNIQUE, phone VARCHAR(32),
      ssn TEXT, age INT, born DATE, email_address LONGTEXT) DEFAULT CHARSET utf8mb4;
    INSERT INTO dbw_my.mask_users VALUES
      (1, 'Alice', '${SECRET_EMAIL}', '${SECRET_PHONE}', '${SECRET_SSN}', 41, '1983-04-05', NULL),
      (2, 'Bob', 'bob@example.net', '+44 20 7946 0958', '123-45-6789', 37, NULL, 'bob.other@example.net');
    CREATE TABLE dbw_my.mask_plain (id INT, note TEXT);
    INSERT INTO dbw_my.mask_plain VALUES (1, 'hello');
  `);
  b = await startMysqlTestBroker({ limits: { maxQueryBytes: 64 << 20 } }, { rulesets: ['safe-defaults', 'pii-masking'] });
  read = await b.grant({ access: 'read' });
  write = await b.grant({ access: 'write' });
});
afterAll(async () => {
  await b?.close();
});

function connect(cred = read, extra: mysql.ConnectionOptions = {}): Promise<mysql.Connection> {
  return mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my', dateStrings: true, ...extra });
}
async function viaBroker(sql: string, opts: { binary?: boolean; cred?: typeof read; params?: (string | number)[] } = {}): Promise<unknown> {
  const c = await connect(opts.cred ?? read, { multipleStatements: true });
  try {
    const [rows] = opts.binary ? await c.execute(sql, opts.params ?? []) : await c.query(sql, opts.params ?? []);
    return rows;
  } finally {
    await c.end();
  }
}
const direct = (sql: string) => myAdmin(sql, 'dbw_my');
const leaks = (rows: unknown) => {
  const s = JSON.stringify(rows);
  return s.includes(SECRET_EMAIL) || s.includes(SECRET_SSN) || s.includes('0100-77') || s.includes('alice.secret');
};

describe('masking through dbwarden (MariaDB)', () => {
  it('masks plain columns by kind and leaves the others alone (text protocol)', async () => {
    const rows = (await viaBroker('SELECT * FROM mask_users ORDER BY id')) as Record<string, unknown>[];
    expect(rows[0]).toEqual({ id: 1, name: 'Alice', email: 'a***@example.org', phone: '************7788', ssn: '[redacted]', age: 41, born: '1983-04-05', email_address: null });
    expect(rows[1]).toMatchObject({ email: 'b***@example.net', phone: '************0958', email_address: 'b***@example.net', age: 37, born: null });
  });

  it('PyMySQL reads masked values', async () => {
    const script = [
      'import json, sys, pymysql',
      'c = pymysql.connect(host="127.0.0.1", port=int(sys.argv[1]), user=sys.argv[2], password=sys.argv[3], database="dbw_my")',
      'cur = c.cursor()',
      'cur.execute("SELECT id, email, ssn FROM mask_users WHERE id = %s", (1,))',
      'print(json.dumps(cur.fetchall()))',
    ].join('\n');
    const out = await run(process.env.PYMYSQL_PYTHON ?? '/usr/bin/python3', ['-c', script, String(b.myPort), read.login, read.password]);
    expect(JSON.parse(out.stdout)).toEqual([[1, 'a***@example.org', '[redacted]']]);
  });

  it('masks in the binary protocol, for repeated executions, with NULL for masked non-string values', async () => {
    const c = await connect();
    try {
      for (let i = 0; i < 3; i++) {
        const [rows] = await c.execute('SELECT id, email, age, born, ssn FROM mask_users WHERE id = ?', [1]);
        expect(rows).toEqual([{ id: 1, email: 'a***@example.org', age: 41, born: '1983-04-05', ssn: '[redacted]' }]);
      }
      // LENGTH(email) is an INT derived from a masked column: NULL in both protocols, neighbours intact
      const [bin] = await c.execute('SELECT id, LENGTH(email) AS l, name, age FROM mask_users WHERE id = ?', [1]);
      expect(bin).toEqual([{ id: 1, l: null, name: 'Alice', age: 41 }]);
      const [text] = await c.query('SELECT id, LENGTH(email) AS l, name, age FROM mask_users WHERE id = 1');
      expect(text).toEqual([{ id: 1, l: null, name: 'Alice', age: 41 }]);
      // a statement with a subquery names origins itself: every column not proven plain is masked (fail closed),
      // DATE and DECIMAL values as NULL, strings as masked text
      const [opaque] = await c.execute("SELECT (SELECT born FROM mask_users WHERE email LIKE 'a%' LIMIT 1) AS d, 1.5 AS n, name, age FROM mask_users WHERE id = ?", [1]);
      expect(opaque).toEqual([{ d: null, n: null, name: '[redacted]', age: null }]);
      // a result without masked columns is untouched
      const [plain] = await c.execute('SELECT id, name, age FROM mask_users WHERE id = ?', [2]);
      expect(plain).toEqual([{ id: 2, name: 'Bob', age: 37 }]);
    } finally {
      await c.end();
    }
  });

  const derived: [string, string][] = [
    ['function', 'SELECT LOWER(email) AS v FROM mask_users WHERE id = 1'],
    ['CONCAT', "SELECT CONCAT('x', email) AS v FROM mask_users WHERE id = 1"],
    ['CAST', 'SELECT CAST(email AS CHAR(200)) AS v FROM mask_users WHERE id = 1'],
    ['CASE', 'SELECT CASE WHEN id = 1 THEN ssn END AS v FROM mask_users WHERE id = 1'],
    ['scalar subquery', 'SELECT (SELECT email FROM mask_users WHERE id = 1) AS v'],
    ['UNION', "SELECT email AS v FROM mask_users UNION ALL SELECT 'nobody'"],
    ['GROUP_CONCAT', 'SELECT GROUP_CONCAT(ssn) AS v FROM mask_users'],
    ['JSON_OBJECT', "SELECT JSON_OBJECT('e', email) AS v FROM mask_users"],
    ['JSON_ARRAYAGG', 'SELECT JSON_ARRAYAGG(phone) AS v FROM mask_users'],
    ['derived table named like the table', 'SELECT id FROM (SELECT email AS id FROM mask_users) mask_users'],
    ['CTE', 'WITH w AS (SELECT ssn AS name FROM mask_users) SELECT name FROM w'],
  ];
  it.each(derived)('does not leak through a %s (text and binary protocol)', async (_what, sql) => {
    expect(leaks(await direct(sql))).toBe(true);
    expect(leaks(await viaBroker(sql))).toBe(false);
    expect(leaks(await viaBroker(sql, { binary: true }))).toBe(false);
  });

  it('a view over a masked column whose definition cannot be read (no catalog role): refused on a read grant, traced on a write grant whose role sees it', async () => {
    await myAdmin('CREATE OR REPLACE VIEW dbw_my.mask_users_v AS SELECT id, email, name AS who FROM dbw_my.mask_users');
    const sql = 'SELECT id, email, who FROM mask_users_v WHERE id = 1';
    expect(leaks(await direct(sql))).toBe(true);
    // a read grant cannot know what reading the view runs (it may call a function that writes): refused once the
    // catalog snapshot lists the new view, masked whole before that; never in clear
    let refusal: unknown;
    for (let i = 0; i < 40 && !refusal; i++) {
      refusal = await viaBroker(sql).then((rows) => {
        expect(leaks(rows)).toBe(false);
        return undefined;
      }, (e: Error) => e);
      if (!refusal) await new Promise((r) => setTimeout(r, 150));
    }
    expect(String(refusal)).toMatch(/read-only-writes: .*definition cannot be read/);
    // the write grant's role may see the definition: the view is traced column by column (once the catalog
    // snapshot has caught up with the new view; until then it is masked whole)
    for (const binary of [false, true]) {
      let rows: Array<Record<string, unknown>> = [];
      for (let i = 0; i < 40; i++) {
        rows = (await viaBroker(binary ? 'SELECT id, email, who FROM mask_users_v WHERE id = ?' : sql, { cred: write, binary, params: binary ? [1] : [] })) as Array<Record<string, unknown>>;
        expect(leaks(rows)).toBe(false);
        if (rows[0]?.who === 'Alice') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows).toEqual([{ id: 1, email: 'a***@example.org', who: 'Alice' }]);
    }
  });

  it('masks every result of a multi-statement text', async () => {
    const rows = await viaBroker('SELECT email FROM mask_users WHERE id = 1; SELECT name FROM mask_users WHERE id = 1; SELECT ssn, age FROM mask_users WHERE id = 1');
    expect(rows).toEqual([[{ email: 'a***@example.org' }], [{ name: 'Alice' }], [{ ssn: '[redacted]', age: 41 }]]);
  });

  it('a value the client reshaped is redacted whole: masks that keep part of their input keep none of it', async () => {
    const reshaped: [string, string][] = [
      ["SELECT CONCAT(SUBSTRING_INDEX(email, '@', -1), '@', SUBSTRING_INDEX(email, '@', 1)) AS v FROM mask_users WHERE id = 1", 'alice.secret'],
      ["SELECT CONCAT('x@', REPLACE(email, '@', '#')) AS v FROM mask_users WHERE id = 1", 'alice.secret'],
      ['SELECT SUBSTRING(phone, 1, 10) AS v FROM mask_users WHERE id = 1', '555-010'],
    ];
    for (const [sql, part] of reshaped) {
      expect(JSON.stringify(await direct(sql)), sql).toContain(part);
      expect(await viaBroker(sql), sql).toEqual([{ v: '[redacted]' }]);
    }
  });

  it('refuses statements that copy or export masked values (mask-or-block)', async () => {
    for (const sql of [
      'INSERT INTO mask_users (id, name) SELECT id + 100, email FROM mask_users',
      'UPDATE mask_users SET name = email WHERE id = 2',
      'CREATE TABLE mask_copy AS SELECT email FROM mask_users',
      'SELECT email INTO @leak FROM mask_users WHERE id = 1',
      'SELECT @leak := email FROM mask_users WHERE id = 1',
      'SET @leak = (SELECT email FROM mask_users WHERE id = 1)',
      "PREPARE leak FROM 'SELECT LOWER(email) FROM mask_users'",
      'CREATE VIEW mask_copy AS SELECT email AS contact FROM mask_users',
    ]) {
      const err = (await viaBroker(sql, { cred: write }).catch((e) => e)) as { errno?: number; message?: string };
      expect(err.errno, sql).toBe(1227);
      expect(err.message, sql).toMatch(/^dbwarden: blocked by rule mask-\w+: .* — masked columns cannot be copied or exported$/);
    }
    // INTO OUTFILE is a file access: safe-defaults blocks it first
    const file = (await viaBroker("SELECT email FROM mask_users INTO OUTFILE '/tmp/dbw-leak.txt'", { cred: write }).catch((e) => e)) as { errno?: number; message?: string };
    expect(file.errno).toBe(1227);
    expect(file.message).toMatch(/^dbwarden: blocked by rule /);
    expect(await direct("SHOW TABLES LIKE 'mask_copy'")).toEqual([]);
    // the same prepared statement through COM_STMT_PREPARE is masked, not refused: a computed value is redacted
    // whole (the email mask would keep what follows the last @ of whatever the client made of the value)
    expect(await viaBroker('SELECT LOWER(email) AS v FROM mask_users WHERE id = ?', { binary: true, params: [1] })).toEqual([{ v: '[redacted]' }]);
  });

  it('redacts values echoed by errors and warnings', async () => {
    const dup = (await viaBroker(`INSERT INTO mask_users (id, email) VALUES (3, '${SECRET_EMAIL}')`, { cred: write }).catch((e) => e)) as { errno?: number; message?: string };
    expect(dup.errno).toBe(1062);
    expect(dup.message).toBe("Duplicate entry '[redacted]' for key 'email'");
    const cast = (await viaBroker(`INSERT INTO mask_users (id, age) VALUES (4, '${SECRET_SSN}')`, { cred: write }).catch((e) => e)) as { errno?: number; message?: string };
    expect(cast.errno).toBe(1265);
    expect(cast.message).not.toContain(SECRET_SSN);
    const badInt = (await viaBroker(`INSERT INTO mask_users (id, age) VALUES (4, 'x${SECRET_SSN}')`, { cred: write }).catch((e) => e)) as { errno?: number; message?: string };
    expect(badInt.errno).toBe(1366);
    expect(badInt.message).toMatch(/^Incorrect integer value: '\[redacted\]' for column `dbw_my`\.`mask_users`\.`age` at row 1$/);
    // a conversion warning quotes the value; SHOW WARNINGS is redacted
    const directWarn = await (async () => {
      const c = await mysql.createConnection({ ...MY, user: 'root', database: 'dbw_my' });
      await c.query('SELECT CAST(email AS SIGNED) FROM mask_users WHERE id = 1');
      const [w] = await c.query('SHOW WARNINGS');
      await c.end();
      return w;
    })();
    expect(leaks(directWarn)).toBe(true);
    const c = await connect();
    try {
      await c.query('SELECT CAST(email AS SIGNED) FROM mask_users WHERE id = 1');
      const [w] = (await c.query('SHOW WARNINGS')) as [{ Message: string }[], unknown];
      expect(w.length).toBeGreaterThan(0);
      expect(leaks(w)).toBe(false);
      expect(w[0]!.Message).toMatch(/'\[redacted\]'/);
    } finally {
      await c.end();
    }
  });

  it('masks rows of 16 MiB and more (multi-packet) and keeps the sequence ids right after them', async () => {
    const big = `${'y'.repeat(17 << 20)}@example.org`;
    await myAdmin(`UPDATE dbw_my.mask_users SET email_address = '${big}' WHERE id = 1`);
    try {
      const c = await connect(read, { multipleStatements: true });
      try {
        const [rows] = (await c.query('SELECT id, email_address FROM mask_users ORDER BY id; SELECT name FROM mask_users WHERE id = 2')) as [[{ id: number; email_address: string }[], { name: string }[]], unknown];
        expect(rows[0][0]).toEqual({ id: 1, email_address: 'y***@example.org' });
        expect(rows[0][1]).toEqual({ id: 2, email_address: 'b***@example.net' });
        expect(rows[1]).toEqual([{ name: 'Bob' }]);
        const [bin] = await c.execute('SELECT email_address, id FROM mask_users WHERE id = ?', [1]);
        expect(bin).toEqual([{ email_address: 'y***@example.org', id: 1 }]);
        // the session still works afterwards
        const [after] = await c.query('SELECT 1 AS one');
        expect(after).toEqual([{ one: 1 }]);
      } finally {
        await c.end();
      }
    } finally {
      await myAdmin('UPDATE dbw_my.mask_users SET email_address = NULL WHERE id = 1');
    }
  });

  it('the mariadb CLI shows masked values', async () => {
    const out = await run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', read.login, `-p${read.password}`, '--skip-ssl', '-BN', 'dbw_my', '-e', 'SELECT email, ssn, name FROM mask_users WHERE id = 1']);
    expect(out.stdout.trim()).toBe('a***@example.org\t[redacted]\tAlice');
  });

  it('mysqldump of a masked table gives masked rows', async () => {
    const out = await run('mysqldump', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', read.login, `-p${read.password}`, '--skip-ssl', '--skip-lock-tables', '--no-tablespaces', 'dbw_my', 'mask_users'], { maxBuffer: 64 << 20 }).catch((e) => e);
    expect(String(out.stdout)).not.toContain(SECRET_EMAIL);
    expect(String(out.stdout)).toContain("(1,'Alice','a***@example.org','************7788','[redacted]',41,'1983-04-05',NULL)");
  });

  it('a target without mask rules returns raw values', async () => {
    await using plain = await startMysqlTestBroker();
    const g = await plain.grant({ access: 'read' });
    const c = await mysql.createConnection({ host: '127.0.0.1', port: plain.myPort, user: g.login, password: g.password, database: 'dbw_my' });
    try {
      const [rows] = await c.query('SELECT email, ssn FROM mask_users WHERE id = 1');
      expect(rows).toEqual([{ email: SECRET_EMAIL, ssn: SECRET_SSN }]);
      const [bin] = await c.execute('SELECT LOWER(email) AS v FROM mask_users WHERE id = ?', [1]);
      expect(bin).toEqual([{ v: SECRET_EMAIL }]);
    } finally {
      await c.end();
    }
  });
});
