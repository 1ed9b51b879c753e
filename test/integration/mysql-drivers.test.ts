// Driver transparency on MySQL (issue 14), real drivers against the local MariaDB through the broker: OK packets
// whose last insert id is 2^53 or more (negative AUTO_INCREMENT ids, Snowflake ids), thread ids that agree for
// KILL wherever it stands, ZEROFILL DDL, LOAD DATA LOCAL refused with the broker's own error, the database scope
// error naming the grant's databases.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MY, myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

let b: MysqlTestBroker;
/** the same target with no rule set: what the broker itself refuses, with no rule in the way */
let bare: MysqlTestBroker;
const suffix = randomBytes(4).toString('hex');
const T = `drivers_big_${suffix}`;
const Z = `drivers_zf_${suffix}`;
const L = `drivers_load_${suffix}`;

beforeAll(async () => {
  b = await startMysqlTestBroker();
  bare = await startMysqlTestBroker({}, { rulesets: [] });
  await myAdmin(`CREATE TABLE dbw_my.${T} (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT); CREATE TABLE dbw_my.${L} (a INT)`);
});
afterAll(async () => {
  await b?.close();
  await bare?.close();
  await myAdmin(`DROP TABLE IF EXISTS dbw_my.${T}; DROP TABLE IF EXISTS dbw_my.${Z}; DROP TABLE IF EXISTS dbw_my.${L}`);
});

type Cred = Awaited<ReturnType<MysqlTestBroker['grant']>>;
const connect = (g: Cred, extra: mysql.ConnectionOptions = {}, broker = b) =>
  mysql.createConnection({ host: '127.0.0.1', port: broker.myPort, user: g.login, password: g.password, database: 'dbw_my', supportBigNumbers: true, bigNumberStrings: true, ...extra });

function run(cmd: string, args: string[], input = ''): Promise<{ code: number; out: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(t);
      done({ code: code ?? -1, out });
    });
    child.stdin.end(input);
  });
}

async function until(f: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await f()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return f();
}

async function running(marker: string): Promise<number> {
  const rows = (await myAdmin(`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE '%${marker}%' AND ID <> CONNECTION_ID()`)) as { n: number }[];
  return Number(rows[0]!.n);
}

describe('OK packets with 64-bit counters', () => {
  it('mysql2 text and binary protocol: negative and Snowflake ids come back as the server sent them and the session goes on', async () => {
    const g = await b.grant();
    const c = await connect(g);
    const direct = await mysql.createConnection({ ...MY, user: 'root', database: 'dbw_my', supportBigNumbers: true, bigNumberStrings: true });
    try {
      const [neg] = await c.query(`INSERT INTO ${T} (id, v) VALUES (-5, 1)`);
      expect((neg as mysql.ResultSetHeader).insertId).toBe('-5');
      const [snow] = await c.execute(`INSERT INTO ${T} (id, v) VALUES (?, 2)`, ['1234567890123456789']);
      expect((snow as mysql.ResultSetHeader).insertId).toBe('1234567890123456789');
      // the next generated id is above 2^53 too: an AUTO_INCREMENT insert, text then binary
      const [gen] = await c.query(`INSERT INTO ${T} (v) VALUES (3)`);
      expect((gen as mysql.ResultSetHeader).insertId).toBe('1234567890123456790');
      const [gen2] = await c.execute(`INSERT INTO ${T} (v) VALUES (?)`, [4]);
      expect((gen2 as mysql.ResultSetHeader).insertId).toBe('1234567890123456791');
      // a multi-result answer whose first OK carries a big id keeps its MORE_RESULTS flag
      const multi = await connect(g, { multipleStatements: true });
      const [both] = await multi.query(`INSERT INTO ${T} (id, v) VALUES (-9, 5); SELECT COUNT(*) AS n FROM ${T}`);
      expect((both as [mysql.ResultSetHeader, { n: string }[]])[0].insertId).toBe('-9');
      expect((both as [mysql.ResultSetHeader, { n: string }[]])[1]).toEqual([{ n: '5' }]);
      await multi.end();
      // same answers as a direct connection reading the rows the broker session wrote
      const [rows] = await direct.query(`SELECT id FROM ${T} ORDER BY v`);
      expect((rows as { id: string }[]).map((r) => r.id)).toEqual(['-5', '1234567890123456789', '1234567890123456790', '1234567890123456791', '-9']);
      const [alive] = await c.query('SELECT LAST_INSERT_ID() AS id');
      expect(alive).toEqual([{ id: '1234567890123456791' }]);
    } finally {
      await c.end();
      await direct.end();
    }
  });

  it('mariadb CLI: an INSERT with a negative id and the statements after it run in one session', async () => {
    const g = await b.grant();
    const r = await run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', g.login, `-p${g.password}`, '--skip-ssl', '-N', 'dbw_my'],
      `INSERT INTO ${T} (id, v) VALUES (-77, 6);\nSELECT ROW_COUNT();\nSELECT v FROM ${T} WHERE id = -77;\n`);
    expect(r.out).not.toMatch(/malformed|ERROR/i);
    expect(r.code).toBe(0);
    expect(r.out.trim().split('\n')).toEqual(['1', '6']);
  });
});

describe('thread ids and KILL', () => {
  it('KILL QUERY <CONNECTION_ID() of another session of the grant> interrupts it; of another grant is refused', async () => {
    const g = await b.grant();
    const busy = await connect(g);
    const killer = await connect(g);
    const [[{ id }]] = (await busy.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: string }]];
    // the greeting's id and CONNECTION_ID() differ, and KILL takes either
    expect(String(busy.threadId)).not.toBe(id);
    const marker = `dbw_drv_kill_${suffix}_a`;
    const sleeping = busy.query(`SELECT SLEEP(20) AS s, '${marker}' AS m`).then(([r]) => r, (e) => e);
    expect(await until(async () => (await running(marker)) === 1, 3000)).toBe(true);
    const stranger = await connect(await b.grant());
    const e = await stranger.query(`KILL QUERY ${id}`).catch((x) => x);
    expect(e.errno).toBe(1094);
    expect(await running(marker)).toBe(1);
    await killer.query(`KILL QUERY ${id}`);
    const outcome = await sleeping;
    if (outcome instanceof Error) expect((outcome as Error & { errno?: number }).errno).toBe(1317);
    else expect(outcome).toEqual([{ s: '1', m: marker }]);
    expect((await busy.query('SELECT 1 AS n'))[0]).toEqual([{ n: 1 }]);
    await Promise.all([busy.end(), killer.end(), stranger.end()]);
  });

  it('KILL inside a multi-statement text is translated: the greeting id reaches the right upstream thread, in its place', async () => {
    const g = await b.grant();
    const busy = await connect(g);
    const killer = await connect(g, { multipleStatements: true });
    const marker = `dbw_drv_kill_${suffix}_b`;
    const sleeping = busy.query(`SELECT SLEEP(20) AS s, '${marker}' AS m`).then(([r]) => r, (e) => e);
    expect(await until(async () => (await running(marker)) === 1, 3000)).toBe(true);
    const t0 = Date.now();
    const [res] = await killer.query(`SELECT 1 AS a; KILL QUERY ${busy.threadId}; SELECT 2 AS b`);
    expect((res as unknown[]).length).toBe(3);
    await sleeping;
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await running(marker)).toBe(0);
    // another grant's greeting id or CONNECTION_ID() inside a multi-statement text: nothing of the text runs
    const [[{ id }]] = (await busy.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: string }]];
    const stranger = await connect(await b.grant(), { multipleStatements: true });
    for (const target of [String(busy.threadId), id]) {
      const e = await stranger.query(`INSERT INTO ${T} (id, v) VALUES (-1000, 1); KILL ${target}`).catch((x) => x);
      expect(e.errno).toBe(1094);
    }
    expect((await busy.query(`SELECT COUNT(*) AS n FROM ${T} WHERE id = -1000`))[0]).toEqual([{ n: '0' }]);
    // a KILL whose thread the broker cannot check before the server acts: an admin effect for the rules, and
    // refused by the broker itself where no rule refuses it
    const dyn = await killer.query(`SET @t = ${id}; KILL @t`).catch((x) => x);
    expect(dyn.errno).toBe(1227);
    expect(dyn.message).toMatch(/^dbwarden: blocked by rule server-admin/);
    const bareKiller = await connect(await bare.grant(), { multipleStatements: true }, bare);
    const dyn2 = await bareKiller.query(`SET @t = ${id}; KILL @t`).catch((x) => x);
    expect(dyn2.errno).toBe(1235);
    expect(dyn2.message).toMatch(/^dbwarden: KILL needs a literal thread id/);
    expect((await busy.query('SELECT 5 AS n'))[0]).toEqual([{ n: 5 }]);
    await Promise.all([busy.end(), killer.end(), stranger.end(), bareKiller.end()]);
  });

  it('KILL <own greeting id> inside a multi-statement text ends the session like the server would', async () => {
    const g = await b.grant();
    const c = await connect(g, { multipleStatements: true });
    c.on('error', () => undefined);
    const e = await c.query(`SELECT 1; KILL ${c.threadId}`).catch((x) => x);
    expect(e).toBeInstanceOf(Error);
    const again = await c.query('SELECT 1').catch((x) => x);
    expect(again).toBeInstanceOf(Error);
  });
});

describe('DDL and statements drivers send', () => {
  it('MariaDB DDL with ZEROFILL is accepted and behaves as on the server', async () => {
    const g = await b.grant();
    const c = await connect(g);
    await c.query(`CREATE TABLE ${Z} (a INT(5) ZEROFILL, b INT UNSIGNED ZEROFILL, c DECIMAL(8,2) ZEROFILL NOT NULL)`);
    await c.query(`ALTER TABLE ${Z} MODIFY a INT(6) ZEROFILL`);
    await c.query(`INSERT INTO ${Z} VALUES (42, 7, 1.5)`);
    const [rows] = await c.query(`SELECT CAST(a AS CHAR) AS a, CAST(c AS CHAR) AS c FROM ${Z}`);
    expect(rows).toEqual([{ a: '000042', c: '000001.50' }]);
    await c.end();
  });

  it('LOAD DATA LOCAL INFILE is refused with the broker\'s own error saying why (mysql2 and the mariadb CLI)', async () => {
    const { Readable } = await import('node:stream');
    // safe-defaults refuses it first as file access, naming the rule
    const ruled = await connect(await b.grant());
    const e0 = await ruled.query({ sql: `LOAD DATA LOCAL INFILE 'rows.csv' INTO TABLE ${L}`, infileStreamFactory: () => Readable.from(['1\n2\n']) }).catch((x) => x);
    expect(e0.errno).toBe(1227);
    expect(e0.message).toMatch(/^dbwarden: blocked by rule /);
    await ruled.end();
    // with no rule in the way, the broker's own refusal
    const g = await bare.grant();
    const c = await connect(g, {}, bare);
    const e = await c.query({ sql: `LOAD DATA LOCAL INFILE 'rows.csv' INTO TABLE ${L}`, infileStreamFactory: () => Readable.from(['1\n2\n']) }).catch((x) => x);
    expect(e.errno).toBe(1148);
    expect(e.sqlState).toBe('42000');
    expect(e.message).toMatch(/^dbwarden: LOAD DATA LOCAL INFILE is not supported through the broker/);
    expect((await c.query(`SELECT COUNT(*) AS n FROM ${L}`))[0]).toEqual([{ n: '0' }]);
    await c.end();
    const r = await run('mariadb', ['-h', '127.0.0.1', '-P', String(bare.myPort), '-u', g.login, `-p${g.password}`, '--skip-ssl', '--local-infile=1', 'dbw_my'],
      `LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE ${L};\n`);
    expect(r.out).toMatch(/ERROR 1148 \(42000\).*dbwarden: LOAD DATA LOCAL INFILE is not supported/);
  });

  it('a connect database outside the grant is refused with the grant\'s databases named', async () => {
    const g = await b.grant({ databases: ['dbw_my', 'dbw_my_other'] });
    const e = await connect(g, { database: 'mysql' }).catch((x) => x);
    expect(e.errno).toBe(1044);
    expect(e.message).toMatch(/to database 'mysql' \(dbwarden: this grant covers dbw_my, dbw_my_other\)/);
    const c = await connect(g);
    const e2 = await c.query('USE mysql').catch((x) => x);
    expect(e2.errno).toBe(1044);
    expect(e2.message).toMatch(/this grant covers dbw_my, dbw_my_other/);
    const e3 = await c.changeUser({ database: 'mysql' }).catch((x) => x);
    expect(e3).toBeInstanceOf(Error);
    await c.end().catch(() => undefined);
  });
});

describe('client character sets drivers use', () => {
  /** the same query directly on the server as root, for the answer the broker must not change */
  const direct = async (sql: string, charset: string) => {
    const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_my', charset, multipleStatements: true });
    try {
      return (await c.query(sql))[0];
    } finally {
      await c.end();
    }
  };

  it('mysql2 on a utf8mb3 connection sends a character outside the BMP as CESU-8 surrogates; the broker reads it as the server does', async () => {
    // mysql2's suite, test-non-bmp-chars: refused as "not valid UTF-8" before the fix
    const sql = 'SELECT "\u{1F4A9}" AS p, HEX("\u{1F4A9}") AS h';
    const want = await direct(sql, 'UTF8_GENERAL_CI');
    expect(want).toEqual([{ p: '\u{1F4A9}', h: 'EDA0BDEDB2A9' }]);
    for (const broker of [bare, b]) {
      const c = await connect(await broker.grant(), { charset: 'UTF8_GENERAL_CI' }, broker);
      expect((await c.query(sql))[0]).toEqual(want);
      await c.end();
    }
  });

  it('a KILL inside a multi-statement text is translated in the client\'s bytes: the rest of a latin1 or CESU-8 text reaches the server unchanged', async () => {
    for (const [charset, sql, want] of [
      ['LATIN1_SWEDISH_CI', "SELECT 'caf\u00e9' AS w, HEX('caf\u00e9') AS h", [{ w: 'caf\u00e9', h: '636166E9' }]],
      ['UTF8_GENERAL_CI', 'SELECT "\u{1F4A9}" AS w, HEX("\u{1F4A9}") AS h', [{ w: '\u{1F4A9}', h: 'EDA0BDEDB2A9' }]],
    ] as const) {
      expect(await direct(sql, charset)).toEqual(want);
      const g = await b.grant();
      const idle = await connect(g);
      const c = await connect(g, { charset, multipleStatements: true });
      // before the fix the text was re-encoded as UTF-8 from the broker's reading: é became C3A9, the surrogates F09F92A9
      const [res] = (await c.query(`${sql}; KILL QUERY ${idle.threadId}; ${sql}`)) as unknown as [unknown[]];
      expect(res[0]).toEqual(want);
      expect(res[2]).toEqual(want);
      expect((await idle.query('SELECT 1 AS n'))[0]).toEqual([{ n: 1 }]);
      await Promise.all([c.end(), idle.end()]);
    }
  });
});
