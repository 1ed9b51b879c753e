// Reading MySQL/MariaDB text exactly as the server does: client character sets (the unsafe list derived from the
// server's own tables; gbk smuggling refused), reading barriers inside multi-statement texts, SET STATEMENT, NUL
// bytes, and the server's own syntax errors (SELEC 1 → 1064). Attacks are shown harmful on a direct connection first.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MYSQL_UNSAFE_CHARSETS } from '../../src/wire/charsets.js';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';
import { run } from '../helpers/raw-pg.js';

const T = `reading_${randomBytes(4).toString('hex')}`;
/** `さ\` in UTF-8 is E3 81 95 5C; in gbk (sjis, cp932) E3 81 and 95 5C are characters: the backslash is gone */
const attack = () => Buffer.concat([Buffer.from(`DELETE FROM ${T} WHERE v = '`), Buffer.from('さ\\'), Buffer.from(`' OR 1=1 -- '\n`)]);

let b: MysqlTestBroker;
let write: Awaited<ReturnType<MysqlTestBroker['grant']>>;

const direct = () => mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_my', multipleStatements: true });
const viaBroker = (extra: mysql.ConnectionOptions = {}) =>
  mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: write.login, password: write.password, database: 'dbw_my', ...extra });
async function rows(): Promise<number> {
  const c = await direct();
  const [r] = await c.query(`SELECT COUNT(*) AS n FROM ${T}`);
  await c.end();
  return Number((r as { n: number }[])[0]!.n);
}
const refill = () => myAdmin(`DROP TABLE IF EXISTS dbw_my.${T}; CREATE TABLE dbw_my.${T} (id INT PRIMARY KEY, v TEXT); INSERT INTO dbw_my.${T} VALUES (1,'a'),(2,'b'),(3,'c'); GRANT ALL ON dbw_my.${T} TO dbw_my_rw`);

beforeAll(async () => {
  b = await startMysqlTestBroker();
  write = await b.grant({ access: 'write' });
  await refill();
});
afterAll(async () => {
  await myAdmin(`DROP TABLE IF EXISTS dbw_my.${T}`).catch(() => undefined);
  await b?.close();
});

describe('client character sets', () => {
  it('the unsafe list is what the server says: every multibyte client charset in which an ASCII byte can end a character', async () => {
    const c = await direct();
    const [sets] = await c.query('SELECT CHARACTER_SET_NAME AS cs FROM information_schema.CHARACTER_SETS WHERE MAXLEN > 1');
    const derived: string[] = [];
    for (const { cs } of sets as { cs: string }[]) {
      // a charset the server refuses as a client charset (ucs2, utf16, utf32) never reaches the reader
      const probe = await direct();
      probe.on('error', () => undefined);
      const usable = await probe.query(`SET character_set_client = ${cs}`).then(() => true, (e: { errno?: number }) => e.errno === undefined);
      probe.destroy();
      if (!usable) continue;
      // a two-byte character whose second byte is ASCII (backslash, quote, double quote, backtick): CHAR_LENGTH 1
      const [r] = await c.query(`SELECT SUM(CHAR_LENGTH(CONVERT(UNHEX(CONCAT(HEX(seq), t.b)) USING ${cs})) = 1) AS n
        FROM seq_128_to_255, (SELECT '5C' AS b UNION SELECT '27' UNION SELECT '22' UNION SELECT '60') t`);
      if (Number((r as { n: number }[])[0]!.n) > 0) derived.push(cs);
    }
    await c.end();
    expect(derived.length).toBeGreaterThanOrEqual(4);
    const known = new Set((sets as { cs: string }[]).map((s) => s.cs));
    expect(derived.sort()).toEqual(MYSQL_UNSAFE_CHARSETS.filter((cs) => known.has(cs)).sort());
  });

  it('proof: under gbk the bytes of a scoped DELETE delete every row on the real server (mariadb CLI)', async () => {
    await refill();
    const r = await run('mariadb', ['-h127.0.0.1', '-uroot', 'dbw_my', '--default-character-set=gbk'], attack());
    expect(r.status, r.out).toBe(0);
    expect(await rows()).toBe(0);
    await refill();
  });

  it('a gbk session is refused at login naming the charset (mariadb CLI, mysql2); SET NAMES gbk is refused in every spelling', async () => {
    const cli = await run('mariadb', ['-h127.0.0.1', `-P${b.myPort}`, `-u${write.login}`, `-p${write.password}`, 'dbw_my', '--default-character-set=gbk'], attack());
    expect(cli.status).not.toBe(0);
    expect(cli.out).toMatch(/client character set gbk is not supported.*use utf8mb4/);
    await expect(viaBroker({ charset: 'SJIS_JAPANESE_CI' })).rejects.toThrow(/client character set sjis is not supported/);
    const c = await viaBroker();
    for (const sql of [
      'SET NAMES gbk', "SET NAMES 'big5' COLLATE big5_bin", 'SET CHARACTER SET cp932', 'SET CHARSET sjis', 'SET character_set_client = gbk',
      'SET SESSION character_set_client = gbk', 'SET @@session.character_set_client = gbk', 'SET @@character_set_client := gbk',
      'SET autocommit = 1, NAMES gbk', 'SET character_set_client = @cs',
    ]) {
      const e = await c.query(sql).catch((x) => x);
      expect(e.errno, sql).toBe(1227);
      expect(e.message, sql).toMatch(/client character set \w+ is not supported|literal name/);
    }
    const [[cs]] = (await c.query('SELECT @@character_set_client AS cs')) as unknown as [[{ cs: string }]];
    expect(cs.cs).toMatch(/^utf8/);
    await c.end();
    // the CLI's \C gbk (SET NAMES) is refused and the smuggled DELETE never runs
    const cli2 = await run('mariadb', ['-h127.0.0.1', `-P${b.myPort}`, `-u${write.login}`, `-p${write.password}`, 'dbw_my', '--force'], Buffer.concat([Buffer.from('SET NAMES gbk;\n'), attack()]));
    expect(cli2.out).toMatch(/gbk is not supported/);
    expect(await rows()).toBe(3);
  });

  it('a latin1 session reads non-ASCII text the way the server does instead of refusing it', async () => {
    const c = await viaBroker({ charset: 'LATIN1_SWEDISH_CI' });
    const [r] = await c.query("SELECT 'café' AS w, CHAR_LENGTH('café') AS n");
    expect(r).toEqual([{ w: 'café', n: 4 }]);
    await expect(c.query(`DELETE FROM ${T} /* é */`)).rejects.toThrow(/blocked by rule unscoped-write/);
    await c.end();
  });
});

describe('reading barriers', () => {
  const multi = () => `SET sql_mode = 'NO_BACKSLASH_ESCAPES'; DELETE FROM ${T} WHERE v = 'a\\' OR 1=1 -- '`;

  it('proof: a multi-statement SET sql_mode changes how the next statement of the same text is read (every row deleted)', async () => {
    await refill();
    const c = await direct();
    await c.query(multi());
    await c.end();
    expect(await rows()).toBe(0);
    await refill();
  });

  it('through the broker the statements after the SET are read under the new mode (refused); an unmodelled or unknown mode asks for the SET on its own', async () => {
    const c = await viaBroker({ multipleStatements: true });
    const e = await c.query(multi()).catch((x) => x);
    expect(e.errno).toBe(1227);
    expect(e.message).toMatch(/blocked by rule unscoped-write/);
    expect(await rows()).toBe(3);
    for (const sql of [`SET sql_mode = 'ORACLE'; SELECT "v" FROM ${T}`, `SET sql_mode = @m; SELECT "v" FROM ${T}`, `SET NAMES latin1; SELECT 'é'`]) {
      const e3 = await c.query(sql).catch((x) => x);
      expect(e3.message, sql).toMatch(/must be sent on its own/);
    }
    // ASCII without quotes or backslashes after it reads the same under every mode: allowed
    await c.query("SET sql_mode = 'ANSI_QUOTES'; SELECT 1");
    // sent on its own, the SET applies and the next text is read under the new mode
    await c.query("SET sql_mode = 'NO_BACKSLASH_ESCAPES'");
    const [r] = await c.query("SELECT 'a\\' AS v");
    expect(r).toEqual([{ v: 'a\\' }]);
    const e2 = await c.query(`DELETE FROM ${T} WHERE v = 'a\\' OR 1=1 -- '`).catch((x) => x);
    expect(e2.message).toMatch(/blocked by rule unscoped-write/);
    expect(await rows()).toBe(3);
    await c.end();
  });

  it('SET STATEMENT sql_mode=… FOR stmt: the server reads stmt under the session mode, and so does the broker', async () => {
    const d = await direct();
    const [r] = await d.query(`SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT "a" AS v`);
    expect(r).toEqual([{ v: 'a' }]); // a string, not a column: read under the session's (non-ANSI) mode
    await d.end();
    const c = await viaBroker();
    const [r2] = await c.query(`SET STATEMENT sql_mode = 'ANSI_QUOTES' FOR SELECT "a" AS v`);
    expect(r2).toEqual([{ v: 'a' }]);
    await c.end();
  });
});

describe('sql_mode flags the reader does not follow (PIPES_AS_CONCAT, ANSI, ORACLE, EMPTY_STRING_IS_NULL, HIGH_NOT_PRECEDENCE)', () => {
  // the broker reads `id = 1 OR id = 0` (one row); under PIPES_AS_CONCAT the server reads (id = CONCAT(1, id)) = 0: every row
  const pipes = () => `DELETE FROM ${T} WHERE id = 1 || id = 0`;

  it('proof: after SET sql_mode = PIPES_AS_CONCAT (or ANSI, ORACLE) a DELETE scoped under the default reading deletes every row', async () => {
    for (const mode of ['PIPES_AS_CONCAT', 'ANSI', 'ORACLE']) {
      await refill();
      const c = await direct();
      await c.query(`SET sql_mode = '${mode}'`);
      await c.query(pipes());
      await c.end();
      expect(await rows(), mode).toBe(0);
    }
    await refill();
    const c = await direct();
    await c.query("SET sql_mode = 'EMPTY_STRING_IS_NULL'");
    await c.query(`DELETE FROM ${T} WHERE id = 1 OR '' IS NULL`);
    await c.end();
    expect(await rows()).toBe(0);
    await refill();
  });

  it('through the broker a literal SET of such a mode is refused in every spelling and the session keeps reading as the server does', async () => {
    await refill();
    const c = await viaBroker();
    for (const sql of [
      "SET sql_mode = 'PIPES_AS_CONCAT'", "SET SESSION sql_mode = 'ANSI'", "SET @@session.sql_mode = 'ORACLE'", "SET @@sql_mode := 'STRICT_TRANS_TABLES,EMPTY_STRING_IS_NULL'",
      "SET sql_mode = 'HIGH_NOT_PRECEDENCE'", "SET LOCAL sql_mode = 'postgresql'", "/*!100000 SET sql_mode = 'MSSQL' */",
    ]) {
      const e = await c.query(sql).catch((x) => x);
      expect(e.errno, sql).toBe(1227);
      expect(e.message, sql).toMatch(/sql_mode \w+.* is not supported through the broker/);
    }
    const [[m]] = (await c.query('SELECT @@sql_mode AS m')) as unknown as [[{ m: string }]];
    expect(m.m).not.toMatch(/PIPES|ORACLE|EMPTY_STRING|HIGH_NOT/);
    await c.query(pipes()); // read alike by both: id = 1 OR id = 0
    expect(await rows()).toBe(2);
    await c.end();
    await refill();
  });

  it('a SET whose value the broker cannot know (CONCAT, a variable) that lands in such a mode ends the session before the next text is read', async () => {
    await refill();
    for (const set of ["SET sql_mode = CONCAT(@@sql_mode, ',PIPES_AS_CONCAT')", "SET @m = 'ANSI'; SET sql_mode = @m"]) {
      const c = await viaBroker({ multipleStatements: true });
      c.on('error', () => undefined);
      const first = await c.query(set).then(() => null, (x) => x);
      const e = first ?? (await c.query(pipes()).catch((x) => x));
      expect(String(e?.message), set).toMatch(/is not supported through the broker|closed|ended/);
      c.destroy();
      expect(await rows(), set).toBe(3);
    }
  });
});

describe('a reading barrier prepared with COM_STMT_PREPARE and executed later', () => {
  // default mode: v = 'v' (no row); under ANSI_QUOTES: v = v, every row
  const quoted = () => `DELETE FROM ${T} WHERE v = "v"`;

  it('proof: SET sql_mode = ANSI_QUOTES run by COM_STMT_EXECUTE makes a scoped-looking DELETE delete every row', async () => {
    await refill();
    const c = await direct();
    await c.execute("SET sql_mode = 'ANSI_QUOTES'");
    await c.query(quoted());
    await c.end();
    expect(await rows()).toBe(0);
    await refill();
  });

  it('through the broker the prepare is refused and the DELETE is read as the server reads it', async () => {
    await refill();
    const c = await viaBroker();
    const e = await c.execute("SET sql_mode = 'ANSI_QUOTES'").catch((x) => x);
    await c.query(quoted()).catch(() => undefined);
    expect(await rows()).toBe(3);
    expect(String(e?.message)).toMatch(/cannot be prepared through the broker/);
    const [[m]] = (await c.query('SELECT @@sql_mode AS m')) as unknown as [[{ m: string }]];
    expect(m.m).not.toMatch(/ANSI_QUOTES/);
    for (const sql of ['SET NAMES latin1', "SET @@session.sql_mode = 'NO_BACKSLASH_ESCAPES'", "SET character_set_client = 'utf8mb4'"]) {
      const e2 = await c.execute(sql).catch((x) => x);
      expect(e2.message, sql).toMatch(/cannot be prepared through the broker/);
    }
    // a plain query SET is followed: the same DELETE is then refused (it compares the row with itself)
    await c.query("SET sql_mode = 'ANSI_QUOTES'");
    await expect(c.query(quoted())).rejects.toThrow(/blocked by rule unscoped-write/);
    await c.end();
    expect(await rows()).toBe(3);
  });
});

describe('SET STATEMENT … FOR SET: the inner SET stays', () => {
  const quoted = () => `DELETE FROM ${T} WHERE v = "v"`;
  const outer = 'SET STATEMENT max_statement_time = 100 FOR ';

  it('proof: SET STATEMENT … FOR SET sql_mode = ANSI_QUOTES leaves the session in ANSI_QUOTES (every row deleted)', async () => {
    await refill();
    const c = await direct();
    await c.query(`${outer}SET sql_mode = 'ANSI_QUOTES'`);
    await c.query(quoted());
    await c.end();
    expect(await rows()).toBe(0);
    await refill();
  });

  it('through the broker the inner SET is a reading barrier: followed, or refused like the same SET on its own', async () => {
    await refill();
    const c = await viaBroker();
    await c.query(`${outer}SET sql_mode = 'ANSI_QUOTES'`);
    await expect(c.query(quoted())).rejects.toThrow(/blocked by rule unscoped-write/);
    expect(await rows()).toBe(3);
    for (const sql of [`${outer}SET NAMES gbk`, `SET STATEMENT sql_mode = '' FOR SET sql_mode = 'PIPES_AS_CONCAT'`]) {
      const e = await c.query(sql).catch((x) => x);
      expect(e.errno, sql).toBe(1227);
      expect(e.message, sql).toMatch(/gbk is not supported|PIPES_AS_CONCAT .* not supported/);
    }
    const [[cs]] = (await c.query('SELECT @@character_set_client AS cs')) as unknown as [[{ cs: string }]];
    expect(cs.cs).toMatch(/^utf8/);
    await c.end();
  });
});

describe('SET of a reading setting named in any spelling the server takes', () => {
  const quoted = () => `DELETE FROM ${T} WHERE v = "v"`;
  const spellings = ['SET `sql_mode` = \'ANSI_QUOTES\'', 'SET SESSION `sql_mode` = \'ANSI_QUOTES\'', 'SET @@SESSION.`sql_mode` = \'ANSI_QUOTES\'', "SET @@SESSION . sql_mode = 'ANSI_QUOTES'"];

  it('proof: a backtick-quoted or spaced sql_mode name sets ANSI_QUOTES on the server (every row deleted)', async () => {
    for (const set of spellings) {
      await refill();
      const c = await direct();
      await c.query(set);
      await c.query(quoted());
      await c.end();
      expect(await rows(), set).toBe(0);
    }
    await refill();
  });

  it('through the broker each spelling is a reading barrier: the DELETE is read under ANSI_QUOTES (refused); gbk is refused', async () => {
    await refill();
    for (const set of spellings) {
      const c = await viaBroker();
      await c.query(set);
      await expect(c.query(quoted()), set).rejects.toThrow(/blocked by rule unscoped-write/);
      await c.end();
    }
    expect(await rows()).toBe(3);
    const c = await viaBroker();
    const e = await c.query("SET @@session.`character_set_client` = 'gbk'").catch((x) => x);
    expect(e.message).toMatch(/gbk is not supported/);
    await c.end();
  });
});

describe('EXECUTE IMMEDIATE of a reading barrier', () => {
  const quoted = () => `DELETE FROM ${T} WHERE v = "v"`;
  const imm = "EXECUTE IMMEDIATE 'SET sql_mode = ''ANSI_QUOTES'''";

  it('proof: EXECUTE IMMEDIATE of SET sql_mode = ANSI_QUOTES changes the session (every row deleted)', async () => {
    await refill();
    const c = await direct();
    await c.query(imm);
    await c.query(quoted());
    await c.end();
    expect(await rows()).toBe(0);
    await refill();
  });

  it("through the broker it is the SET's barrier: the DELETE is read under ANSI_QUOTES (refused); NAMES gbk is refused", async () => {
    await refill();
    const c = await viaBroker();
    await c.query(imm);
    await expect(c.query(quoted())).rejects.toThrow(/blocked by rule unscoped-write/);
    const e = await c.query("EXECUTE IMMEDIATE 'SET NAMES gbk'").catch((x) => x);
    expect(e.message).toMatch(/gbk is not supported/);
    await c.end();
    expect(await rows()).toBe(3);
  });
  it('PREPARE s FROM a SET sql_mode, then EXECUTE s and a DELETE in one text: deletes every row on the server, refused through the broker', async () => {
    const prep = "PREPARE s FROM 'SET sql_mode = ''ANSI_QUOTES'''";
    await refill();
    const d = await direct();
    await d.query(prep);
    await d.query(`EXECUTE s; ${quoted()}`);
    await d.end();
    expect(await rows()).toBe(0);
    await refill();
    const c = await viaBroker({ multipleStatements: true });
    await c.query(prep);
    const e = await c.query(`EXECUTE s; ${quoted()}`).catch((x) => x);
    expect(e.message).toMatch(/blocked by rule unparsed/);
    expect(await rows()).toBe(3);
    // EXECUTE s on its own is followed: the DELETE after it is read under ANSI_QUOTES (refused)
    await c.query('EXECUTE s');
    await expect(c.query(quoted())).rejects.toThrow(/blocked by rule unscoped-write/);
    await c.end();
    expect(await rows()).toBe(3);
  });
});

describe('NUL bytes and syntax errors', () => {
  it('a NUL inside a COM_QUERY text is refused, never forwarded', async () => {
    const c = await viaBroker({ multipleStatements: true });
    const e = await c.query(`SELECT 1\0; DELETE FROM ${T}`).catch((x) => x);
    expect(e.errno).toBe(1227);
    expect(e.message).toMatch(/NUL/);
    expect(await rows()).toBe(3);
    await c.end();
  });

  it("mysql2's recovery path: SELEC 1 gets the server's 1064, the next query works, and the audit records it", async () => {
    const d = await direct();
    const direct1064 = await d.query('SELEC 1').catch((x) => x);
    await d.end();
    const c = await viaBroker();
    const e = await c.query('SELEC 1').catch((x) => x);
    expect([e.errno, e.sqlState, e.message]).toEqual([1064, direct1064.sqlState, direct1064.message]);
    const [r] = await c.query('SELECT 2 AS n');
    expect(r).toEqual([{ n: 2 }]);
    // a text the broker cannot read but the server can parse is still refused, as unparsed
    const e2 = await c.query('SELECT 1 FROM DUAL WHERE 1 SOUNDS LIKE 1').catch((x) => x);
    if (e2 instanceof Error) expect((e2 as { errno?: number }).errno).toBe(1227);
    await c.end();
  });

  it("the same through COM_STMT_PREPARE (mysql2's execute, its suite's test-errors): the server's 1064, no statement left open", async () => {
    const d = await direct();
    const direct1064 = await d.execute('SELEC 1').catch((x) => x);
    await d.end();
    expect(direct1064.errno).toBe(1064);
    const c = await viaBroker();
    const e = await c.execute('SELEC 1').catch((x) => x);
    // before the fix: 1227 "blocked by rule unparsed" for the prepare, while the same text as a query got 1064
    expect([e.errno, e.sqlState, e.message]).toEqual([1064, direct1064.sqlState, direct1064.message]);
    const [r] = await c.execute('SELECT ? AS n', [2]);
    expect(r).toEqual([{ n: 2 }]);
    // text the server can prepare but the broker cannot read: refused, and the server's statement is closed
    const [[before]] = (await c.query("SHOW SESSION STATUS LIKE 'Com_stmt_close'")) as unknown as [[{ Value: string }]];
    const e2 = await c.execute('SELECT 1 PROCEDURE ANALYSE()').catch((x) => x);
    expect(e2.errno).toBe(1227);
    expect(e2.message).toMatch(/^dbwarden: blocked by rule unparsed: /);
    const [[after]] = (await c.query("SHOW SESSION STATUS LIKE 'Com_stmt_close'")) as unknown as [[{ Value: string }]];
    expect(Number(after.Value) - Number(before.Value)).toBe(1);
    await c.end();
  });
});
