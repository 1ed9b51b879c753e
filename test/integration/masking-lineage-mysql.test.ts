// Masking paths on MariaDB decided by the core (session/mysql-mask-verdict.ts) and error redaction: each first
// shown to reveal the value on a direct connection, then refused or redacted through a live broker, over
// mysql2's text and binary protocols and the mariadb CLI.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';
import { redactErrorMessage } from '../../src/mysql/row-masker.js';

const S = `lin_${randomBytes(4).toString('hex')}`;
const T = `dbw_my.${S}_users`;
const T2 = `dbw_my.${S}_sink`;
/** shares `id` and `email` with T: a NATURAL JOIN compares the email without naming it */
const T3 = `dbw_my.${S}_nat`;
const MARK = `q${randomBytes(3).toString('hex')}x`;
const SECRET_EMAIL = `zed.${MARK}@secret.example`;
let b: MysqlTestBroker;
let read: Awaited<ReturnType<MysqlTestBroker['grant']>>;
let write: Awaited<ReturnType<MysqlTestBroker['grant']>>;

beforeAll(async () => {
  await myAdmin(`CREATE TABLE ${T} (id INT PRIMARY KEY, name VARCHAR(50), email VARCHAR(100)) DEFAULT CHARSET utf8mb4;
    INSERT INTO ${T} VALUES (1, 'Zed', '${SECRET_EMAIL}');
    CREATE TABLE ${T2} (id INT PRIMARY KEY, note VARCHAR(100));
    INSERT INTO ${T2} VALUES (1, 'plain');
    CREATE TABLE ${T3} (id INT, email VARCHAR(100));
    INSERT INTO ${T3} VALUES (1, '${SECRET_EMAIL}'), (2, 'y');
    CREATE FUNCTION dbw_my.${S}_sig(x VARCHAR(200)) RETURNS INT DETERMINISTIC READS SQL DATA
      BEGIN SIGNAL SQLSTATE '45000' SET MYSQL_ERRNO = 1062, MESSAGE_TEXT = x; RETURN 1; END;
    CREATE VIEW dbw_my.${S}_contacts AS SELECT id, email AS contact FROM ${T};`);
  b = await startMysqlTestBroker({}, { rulesets: ['safe-defaults', 'pii-masking'] });
  read = await b.grant({ access: 'read' });
  write = await b.grant({ access: 'write' });
}, 60_000);
afterAll(async () => {
  await b?.close();
  await myAdmin(`DROP TABLE IF EXISTS ${T}, ${T2}, ${T3}; DROP FUNCTION IF EXISTS dbw_my.${S}_sig; DROP VIEW IF EXISTS dbw_my.${S}_contacts`);
});

async function viaBroker(sql: string, opts: { binary?: boolean; cred?: typeof read } = {}): Promise<unknown> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: (opts.cred ?? read).login, password: (opts.cred ?? read).password, database: 'dbw_my' });
  try {
    const [rows] = opts.binary ? await c.execute(sql) : await c.query(sql);
    return rows;
  } finally {
    await c.end();
  }
}
const leaks = (x: unknown) => JSON.stringify(x instanceof Error ? { m: x.message } : x).includes(MARK);

describe('MariaDB error redaction while masks apply', () => {
  it('an ERR message quoting a value is redacted whatever its errno (XPATH, JSON, unknown names)', () => {
    expect(redactErrorMessage(`XPATH syntax error: '${SECRET_EMAIL.slice(0, 32)}'`)).toBe("XPATH syntax error: '[redacted]'");
    expect(redactErrorMessage(`Invalid JSON path expression. The error is around character position 1 in "${SECRET_EMAIL}"`)).not.toContain(MARK);
    expect(redactErrorMessage(`Unknown column '${SECRET_EMAIL}' in 'field list'`)).not.toContain(MARK);
  });
  it('SHOW WARNINGS after a conversion quoting a value is redacted through the broker', async () => {
    const sql = `SELECT CAST(email AS DECIMAL(10,2)) AS v FROM ${T}; SHOW WARNINGS`;
    const direct = await myAdmin(sql, 'dbw_my');
    expect(leaks(direct)).toBe(true);
    const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: read.login, password: read.password, database: 'dbw_my', multipleStatements: true });
    try {
      const [rows] = await c.query(sql);
      expect(JSON.stringify(rows)).toMatch(/Truncated|Incorrect|redacted/);
      expect(leaks(rows)).toBe(false);
    } finally {
      await c.end();
    }
  });
});

describe('MariaDB warnings whose value carries its own quotes (atk-mask review)', () => {
  // the server prints the value inside quotes without escaping the quotes it holds: matched one quoted span at a time,
  // the email stood outside both spans
  const cases: [string, string][] = [
    ['single quotes around the value', `SELECT CAST(CONCAT('x'' ', email, ' ''') AS DATE) AS d FROM ${T}; SHOW WARNINGS`],
    ['double quotes around the value', `SELECT CAST(CONCAT('x" ', email, ' "') AS DATE) AS d FROM ${T}; SHOW WARNINGS`],
    ['a comparison in WHERE', `SELECT 1 FROM ${T} WHERE id = CONCAT('x'' ', email, ' '''); SHOW WARNINGS`],
  ];
  it.each(cases)('%s: clear directly, redacted through the broker (text and binary)', async (_what, sql) => {
    expect(leaks(await myAdmin(sql, 'dbw_my'))).toBe(true);
    const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: read.login, password: read.password, database: 'dbw_my', multipleStatements: true });
    try {
      const [rows] = await c.query(sql);
      expect(JSON.stringify(rows)).toMatch(/Incorrect|Truncated/);
      expect(leaks(rows)).toBe(false);
      const [first, warnings] = sql.split('; ');
      await c.execute(first!);
      const [w] = await c.execute(warnings!);
      expect(JSON.stringify(w)).toMatch(/Incorrect|Truncated/);
      expect(leaks(w)).toBe(false);
    } finally {
      await c.end();
    }
  });
});

describe('MariaDB numbers computed from a masked value are scrubbed from warnings and errors', () => {
  // one character of the secret per statement: its code point comes back as a position in the warning
  const c = SECRET_EMAIL.charCodeAt(5);
  const ch = 'ASCII(SUBSTR(email, 6, 1))';
  const numeric: [string, string, string][] = [
    ['JSON text position', `SELECT JSON_EXTRACT(CONCAT(REPEAT(' ', ${ch}), 'x'), '$') AS v FROM ${T}`, `position ${c + 1}`],
    ['base64 position', `SELECT FROM_BASE64(CONCAT(REPEAT('A', ${ch}), '!')) AS v FROM ${T}`, `position ${c}`],
  ];
  it.each(numeric)('%s: SHOW WARNINGS', async (_what, sql, number) => {
    const direct = await myAdmin(`${sql}; SHOW WARNINGS`, 'dbw_my');
    expect(JSON.stringify(direct)).toContain(number);
    const conn = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: read.login, password: read.password, database: 'dbw_my' });
    try {
      await conn.query(sql);
      const [w] = (await conn.query('SHOW WARNINGS')) as [{ Message: string }[], unknown];
      expect(w.length).toBeGreaterThan(0);
      const messages = w.map((x) => x.Message).join('\n');
      expect(messages).not.toContain(String(c));
      expect(messages).not.toContain(String(c + 1));
      expect(w[0]!.Message).toMatch(/position \[redacted\]/);
    } finally {
      await conn.end();
    }
  });
  it('names keep their digits and a trailing row number stays', () => {
    expect(redactErrorMessage("Incorrect integer value: 'x' for column `db1`.`t2`.`age` at row 3")).toBe("Incorrect integer value: '[redacted]' for column `db1`.`t2`.`age` at row 3");
    expect(redactErrorMessage('Bad base64 data as position 122')).toBe('Bad base64 data as position [redacted]');
    expect(redactErrorMessage("You have an error in your SQL syntax; check the manual … near 'x' at line 2")).toMatch(/near '\[redacted\]' at line 2$/);
  });
});

describe('MariaDB mask-or-block decided by the core', () => {
  it('UPDATE … JOIN a derived table copying a renamed masked column is refused', async () => {
    const sql = `UPDATE ${T2} a JOIN (SELECT id, email AS e FROM ${T}) b ON a.id = b.id SET a.note = b.e WHERE a.id = 1`;
    const e = await viaBroker(sql, { cred: write }).then(() => undefined, (x) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e.errno).toBe(1227);
    expect(e.message).toMatch(/dbwarden: blocked by rule mask-email: .*masked columns cannot be copied or exported/);
    expect(leaks(await myAdmin(`SELECT note FROM ${T2}`, 'dbw_my'))).toBe(false);
  });

  it('an UPDATE … JOIN of named tables copying a clean column still runs', async () => {
    const r = (await viaBroker(`UPDATE ${T2} a JOIN ${T} u ON a.id = u.id SET a.note = u.name WHERE a.id = 1`, { cred: write })) as { affectedRows: number };
    expect(r.affectedRows).toBe(1);
  });

  it('statistics tables are refused while masks apply', async () => {
    await myAdmin(`ANALYZE TABLE ${T} PERSISTENT FOR ALL`, 'dbw_my');
    const direct = await myAdmin(`SELECT CONVERT(min_value USING utf8mb4) AS lo, CONVERT(max_value USING utf8mb4) AS hi FROM mysql.column_stats WHERE table_name = '${S}_users'`, 'dbw_my');
    expect(leaks(direct)).toBe(true);
    const e = await viaBroker(`SELECT min_value, max_value FROM mysql.column_stats WHERE table_name = '${S}_users'`).then(() => undefined, (x) => x);
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toMatch(/dbwarden: blocked by rule mask-.*statistics tables cannot be read/);
  });
});

describe('MariaDB server records of earlier statements', () => {
  // the optimizer reads a const table's row while planning (u.id = 1 on the primary key) and writes its values
  // into the trace of the statement: the email comes back as a constant of the join condition
  const planned = `SELECT a.id FROM ${T2} a JOIN ${T} u ON a.note = u.email WHERE u.id = 1`;
  it('the optimizer trace holds a masked value read by the optimizer (direct connection)', async () => {
    const rows = await myAdmin(`SET optimizer_trace = 'enabled=on'; ${planned}; SELECT TRACE FROM information_schema.OPTIMIZER_TRACE`, 'dbw_my');
    expect(leaks(rows)).toBe(true);
  });
  it('reading the optimizer trace is refused while masks apply, however it is named', async () => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: read.login, password: read.password, database: 'dbw_my' });
    try {
      await c.query(`SET optimizer_trace = 'enabled=on'`);
      await c.query(planned);
      for (const sql of [
        'SELECT TRACE FROM information_schema.OPTIMIZER_TRACE',
        'select * from INFORMATION_SCHEMA.`optimizer_trace`',
        'SELECT LENGTH(t.TRACE) FROM (SELECT TRACE FROM information_schema.OPTIMIZER_TRACE) t',
      ]) {
        for (const binary of [false, true]) {
          const e = await (binary ? c.execute(sql) : c.query(sql)).then(() => undefined, (x) => x);
          expect(e, sql).toBeInstanceOf(Error);
          expect(e.errno).toBe(1227);
          expect(e.message).toMatch(/dbwarden: blocked by rule mask-.*the optimizer trace cannot be read while columns are masked/);
        }
      }
    } finally {
      await c.end();
    }
  });
});

describe('MariaDB plans printed as text carry values of columns the statement does not name', () => {
  // NATURAL JOIN compares the email without naming it; u is a const table (u.id = 1), so MariaDB reads its row
  // while planning and prints `n.email = 'zed…'` in the plan's conditions
  const natural = `SELECT 1 FROM ${T} u NATURAL JOIN ${T3} n WHERE u.id = 1`;
  const forms = [`EXPLAIN FORMAT=JSON ${natural}`, `ANALYZE FORMAT=JSON ${natural}`, `EXPLAIN /*!50000 FORMAT=JSON */ ${natural}`];
  it.each(forms)('%s: clear directly, redacted through the broker (text and binary)', async (sql) => {
    expect(leaks(await myAdmin(sql, 'dbw_my'))).toBe(true);
    for (const binary of [false, true]) {
      const rows = (await viaBroker(sql, { binary })) as Record<string, unknown>[];
      expect(leaks(rows)).toBe(false);
      expect(Object.values(rows[0]!)).toEqual(['[redacted]']);
    }
  });
  it('the traditional table of the same plan is not masked (it prints no values)', async () => {
    const rows = (await viaBroker(`EXPLAIN ${natural}`)) as { table: string; type: string }[];
    expect(rows.map((r) => r.table)).toEqual(['u', 'n']);
    expect(rows[0]!.type).toBe('const');
  });
});

describe('MariaDB plans of another session are not shown on shared upstream roles', () => {
  // runs for about two seconds with the const table's email in its plan
  const slow = `SELECT SLEEP(0.5) FROM ${T} u NATURAL JOIN ${T3} n, seq_1_to_4 WHERE u.id = 1`;
  const watch = (id: number) => [`SHOW EXPLAIN FORMAT=JSON FOR ${id}`, `SHOW ANALYZE FORMAT=JSON FOR ${id}`, `show explain for ${id}`, `EXPLAIN FORMAT=JSON FOR CONNECTION ${id}`];
  it('SHOW EXPLAIN FORMAT=JSON FOR <id> shows a running statement\'s plan with the value (direct connections)', async () => {
    const a = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_my' });
    const v = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_my' });
    try {
      const running = a.query(slow);
      await new Promise((r) => setTimeout(r, 500));
      const [rows] = await v.query(`SHOW EXPLAIN FORMAT=JSON FOR ${a.threadId}`);
      expect(leaks(rows)).toBe(true);
      await running;
    } finally {
      await a.end();
      await v.end();
    }
  });
  it('through the broker another grant (and the same grant\'s other connection) is refused the plan', async () => {
    const other = await b.grant({ access: 'read', who: 'bob' });
    const conn = (g: typeof read) => mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: g.login, password: g.password, database: 'dbw_my' });
    const a = await conn(read);
    const watchers = [await conn(other), await conn(read)];
    try {
      const [[{ id }]] = (await a.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
      const running = a.query(slow);
      await new Promise((r) => setTimeout(r, 500));
      for (const v of watchers) {
        for (const sql of watch(id)) {
          const e = await v.query(sql).then((x) => x, (x) => x);
          expect(leaks(e), sql).toBe(false);
          expect(e, sql).toBeInstanceOf(Error);
          expect(e.errno).toBe(1227);
          expect(e.message).toMatch(/dbwarden: blocked by rule other-sessions-activity/);
        }
      }
      await running;
    } finally {
      await a.end();
      for (const v of watchers) await v.end();
    }
  });
});

describe('MariaDB routine code the broker cannot read may print a masked argument', () => {
  // SIGNAL picks any errno (1062 here, as if a duplicate key) and prints its MESSAGE_TEXT as it is
  const calls = [`SELECT dbw_my.${S}_sig(email) FROM ${T}`, `SELECT id FROM ${T} WHERE id = 1 AND dbw_my.${S}_sig(email) = 1`, `SELECT dbw_my.${S}_sig(contact) FROM dbw_my.${S}_contacts`];
  it.each(calls)('%s: the error text is the value directly, refused through the broker', async (sql) => {
    const d = (await myAdmin(sql, 'dbw_my').catch((x: unknown) => x)) as Error;
    expect(d).toBeInstanceOf(Error);
    expect(d.message).toBe(SECRET_EMAIL);
    const e = (await viaBroker(sql, { cred: write }).catch((x: unknown) => x)) as Error & { errno?: number };
    expect(e).toBeInstanceOf(Error);
    expect(e.errno).toBe(1227);
    expect(leaks(e)).toBe(false);
    expect(e.message).toMatch(/dbwarden: blocked by rule mask-email: .*cannot call .*_sig, whose body cannot be traced/);
  });
  it('a clean argument still reaches the routine (its own error comes back)', async () => {
    const e = (await viaBroker(`SELECT dbw_my.${S}_sig(name) FROM ${T}`, { cred: write }).catch((x: unknown) => x)) as Error;
    expect(e).toBeInstanceOf(Error);
    expect(e.message).toBe('Zed');
  });
});

describe('MariaDB reads that already follow the mask (regression: each leaks on a direct connection)', () => {
  const doors: [string, string][] = [
    ['HANDLER … READ FIRST', `HANDLER ${T} OPEN AS h1; HANDLER h1 READ FIRST; HANDLER h1 CLOSE`],
    ['HANDLER … AS alias READ index = (…)', `HANDLER ${T} OPEN AS h; HANDLER h READ \`PRIMARY\` = (1); HANDLER h CLOSE`],
    ['JSON_TABLE over a masked aggregate', `SELECT * FROM JSON_TABLE((SELECT JSON_ARRAYAGG(email) FROM ${T}), '$[*]' COLUMNS (e VARCHAR(100) PATH '$')) jt`],
    ['WITH RECURSIVE', `WITH RECURSIVE r AS (SELECT email AS e, 1 AS n FROM ${T} UNION ALL SELECT e, n + 1 FROM r WHERE n < 2) SELECT * FROM r`],
    ['LAG() OVER', `SELECT LAG(email) OVER (ORDER BY id) AS l, email FROM ${T}`],
    ['MAX()', `SELECT MAX(email) AS m FROM ${T}`],
    ['VALUES joined to the table', `SELECT * FROM (VALUES (1)) v, ${T}`],
    ['EXPLAIN FORMAT=JSON of a const-table join', `EXPLAIN FORMAT=JSON SELECT a.id FROM ${T2} a JOIN ${T} u ON a.note = u.email WHERE u.id = 1`],
    ['ANALYZE FORMAT=JSON of a const-table join', `ANALYZE FORMAT=JSON SELECT a.id FROM ${T2} a JOIN ${T} u ON a.note = u.email WHERE u.id = 1`],
    ['SELECT … INTO @v, then SELECT @v', `SELECT email FROM ${T} WHERE id = 1 INTO @v; SELECT @v AS v`],
    ['GET DIAGNOSTICS of a conversion warning', `SELECT CAST(email AS DECIMAL) FROM ${T}; GET DIAGNOSTICS CONDITION 1 @m = MESSAGE_TEXT; SELECT @m AS m`],
  ];
  it.each(doors)('%s', async (_what, sql) => {
    expect(leaks(await myAdmin(sql, 'dbw_my'))).toBe(true);
    const c = await mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: read.login, password: read.password, database: 'dbw_my', multipleStatements: true });
    try {
      const out = await c.query(sql).then(([rows]) => rows, (x) => x);
      expect(leaks(out)).toBe(false);
    } finally {
      await c.end();
    }
  });
});

describe('MariaDB ALTER TABLE forms the parser does not read (generated columns, IF NOT EXISTS, ADD (…))', () => {
  // each copies the masked email into a new or redefined column; proven on the server, then refused by the broker
  const forms = (t: string, c: string) => [
    `ALTER TABLE ${t} ADD COLUMN ${c} VARCHAR(100) AS (email) PERSISTENT`,
    `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${c} VARCHAR(100) AS (email) VIRTUAL`,
    `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS ${c} VARCHAR(100) AS (CONCAT('', \`email\`)) STORED`,
    `ALTER TABLE ${t} ADD (${c} VARCHAR(100) AS (email))`,
  ];
  it('each form copies the value on a direct connection', async () => {
    const copy = `dbw_my.${S}_copy`;
    await myAdmin(`DROP TABLE IF EXISTS ${copy}; CREATE TABLE ${copy} AS SELECT * FROM ${T}`);
    try {
      for (let i = 0; i < forms(copy, '').length; i++) {
        await myAdmin(forms(copy, `g${i}`)[i]!, 'dbw_my');
        expect(leaks(await myAdmin(`SELECT g${i} FROM ${copy}`, 'dbw_my'))).toBe(true);
      }
    } finally {
      await myAdmin(`DROP TABLE IF EXISTS ${copy}`);
    }
  });
  it('through the broker each is refused, and MODIFY turning a clean column into a copy too', async () => {
    for (const sql of [...forms(T, 'g_x'), `ALTER TABLE ${T} MODIFY name VARCHAR(100) AS (email) PERSISTENT`]) {
      const e = await viaBroker(sql, { cred: write }).then(() => undefined, (x) => x);
      expect(e, sql).toBeInstanceOf(Error);
      expect(e.message, sql).toMatch(/dbwarden: blocked by rule mask-email/);
    }
    const cols = (await myAdmin(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'dbw_my' AND table_name = '${S}_users'`)) as { c: string }[];
    expect(cols.map((r) => r.c).sort()).toEqual(['email', 'id', 'name']);
    expect(leaks(await viaBroker(`SELECT * FROM ${T}`))).toBe(false);
  });
  it('an ALTER of the same forms that names no masked column still runs', async () => {
    await viaBroker(`ALTER TABLE ${T2} ADD COLUMN IF NOT EXISTS g_len INT AS (LENGTH(note)) PERSISTENT`, { cred: write });
    const cols = (await myAdmin(`SELECT column_name AS c FROM information_schema.columns WHERE table_schema = 'dbw_my' AND table_name = '${S}_sink'`)) as { c: string }[];
    expect(cols.map((r) => r.c)).toContain('g_len');
  });
});
