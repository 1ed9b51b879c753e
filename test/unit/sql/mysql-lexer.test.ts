// MySQL lexer: executable and version-gated comments per server, comments, quoting modes, statement split.
import { describe, expect, it } from 'vitest';
import { lexMysql, versionGates, type LexOptions, type ServerModel } from '../../../src/sql/mysql-lexer.js';

const MARIADB_10_11: ServerModel = { mariadb: true, version: 101119 };
const MYSQL_8_0: ServerModel = { mariadb: false, version: 80036 };
const MYSQL_5_6: ServerModel = { mariadb: false, version: 50640 };

function texts(sql: string, opts: Partial<LexOptions> = {}): string[] {
  const r = lexMysql(sql, { server: MARIADB_10_11, ...opts });
  if (!r.ok) throw new Error(`lex failed: ${r.error}`);
  return r.statements.map((s) => s.text.replace(/\s+/g, ' '));
}

function fails(sql: string, opts: Partial<LexOptions> = {}): { error: string; rejected: boolean } {
  const r = lexMysql(sql, { server: MARIADB_10_11, ...opts });
  if (r.ok) throw new Error(`expected a lex failure for ${sql}`);
  return { error: r.error, rejected: r.rejected };
}

describe('executable comments by server', () => {
  // [text, server, expected canonical text ('' = nothing runs)]
  const cases: Array<[string, ServerModel, string]> = [
    ['/*! DROP TABLE t */', MARIADB_10_11, 'DROP TABLE t'],
    ['/*! DROP TABLE t */', MYSQL_8_0, 'DROP TABLE t'],
    ['/*!40101 SET NAMES utf8 */', MARIADB_10_11, 'SET NAMES utf8'],
    ['/*!40101 SET NAMES utf8 */', MYSQL_5_6, 'SET NAMES utf8'],
    ['/*!10000 DROP TABLE t*/', MARIADB_10_11, 'DROP TABLE t'],
    ['/*!99999 DROP TABLE t */', MARIADB_10_11, ''],
    ['/*!99999 DROP TABLE t */', MYSQL_8_0, ''],
    ['/*!80000 DROP TABLE t */', MYSQL_8_0, 'DROP TABLE t'],
    ['/*!80037 DROP TABLE t */', MYSQL_8_0, ''],
    ['/*!80000 DROP TABLE t */', MARIADB_10_11, ''], // MariaDB skips MySQL 5.7+ gates
    ['/*!50700 DROP TABLE t */', MARIADB_10_11, ''],
    ['/*!50699 DROP TABLE t */', MARIADB_10_11, 'DROP TABLE t'],
    ['/*!50700 DROP TABLE t */', MYSQL_8_0, 'DROP TABLE t'],
    ['/*!50700 DROP TABLE t */', MYSQL_5_6, ''],
    ['/*!100000 DROP TABLE t */', MARIADB_10_11, 'DROP TABLE t'], // six digits on MariaDB
    ['/*!101119 DROP TABLE t */', MARIADB_10_11, 'DROP TABLE t'],
    ['/*!101120 DROP TABLE t */', MARIADB_10_11, ''],
    ['/*!1234567 DROP */', MARIADB_10_11, ''], // version 123456, content "7 DROP"
    ['/*M! DROP TABLE t */', MARIADB_10_11, 'DROP TABLE t'],
    ['/*M! DROP TABLE t */', MYSQL_8_0, ''], // MySQL reads /*M! as a plain comment
    ['/*M!100616 SET NOTE_VERBOSITY=0 */', MARIADB_10_11, 'SET NOTE_VERBOSITY=0'],
    ['/*M!100616 SET NOTE_VERBOSITY=0 */', { mariadb: true, version: 100615 }, ''],
    ['/*M!50700 DROP TABLE t */', MARIADB_10_11, 'DROP TABLE t'], // /*M! is not subject to the 5.7 skip
    ['/*M!999999 DROP TABLE t */', MARIADB_10_11, ''],
    ['/*M!100000 DROP TABLE t */', MYSQL_8_0, ''],
    ['SELECT 1 /*!4 +1 */', MARIADB_10_11, 'SELECT 1 4 +1'], // fewer than five digits: all code
    ['CREATE DATABASE /*!32312 IF NOT EXISTS*/ `app`', MYSQL_8_0, 'CREATE DATABASE IF NOT EXISTS `app`'],
    ['SELECT 1 /*!99999 , (SELECT 2) */ FROM t', MARIADB_10_11, 'SELECT 1 FROM t'],
  ];
  it.each(cases)('%s on %o → %s', (sql, server, expected) => {
    const out = texts(sql, { server });
    expect(out.join(' | ').trim()).toBe(expected);
  });

  it('keeps the content of a run executable comment apart from its neighbours', () => {
    expect(texts('SELECT/*!*/1')).toEqual(['SELECT 1']);
    expect(texts('SELECT 1 /*! , 2 */ , 3')).toEqual(['SELECT 1 , 2 , 3']);
  });

  it('reads strings inside executable comments as strings', () => {
    expect(texts("/*! SELECT '*/' */")).toEqual(["SELECT '*/'"]);
  });

  it('ends a skipped version comment at the first */ even inside quotes, as the server does', () => {
    const r = lexMysql("SELECT 1 /*!99999 '*/' */", { server: MARIADB_10_11 });
    expect(r.ok).toBe(false);
  });

  it('refuses forms it cannot be sure about', () => {
    expect(fails('SELECT 1 /*! +1 /*! +1 */ */').rejected).toBe(false);
    expect(fails('SELECT 1 /*!99999 /* x */ +1 */').error).toMatch(/nested/);
    expect(fails('SELECT 1 /*! +1 # x */ */').error).toMatch(/line comment/);
    expect(fails('/*! SELECT 1; SELECT 2 */').error).toMatch(/separator/);
    expect(fails('/*!100000 SELECT 1 */', { server: MYSQL_8_0 }).error).toMatch(/six-digit/);
    expect(fails('SELECT 1\0').error).toMatch(/NUL/);
  });

  it('marks unclosed comments and strings as server-side syntax errors', () => {
    expect(fails('SELECT 1 /* open')).toEqual({ error: 'unterminated comment', rejected: true });
    expect(fails('SELECT 1 /*! +1').rejected).toBe(true);
    expect(fails("SELECT 'open").rejected).toBe(true);
    expect(fails('SELECT `open').rejected).toBe(true);
  });

  it('lists the version gates written in a text', () => {
    expect(versionGates('/*!40101 a */ /*M!100616 b */ /*! c */').sort((x, y) => x - y)).toEqual([10061, 40101, 100616]);
  });
});

describe('comments', () => {
  it('drops # and -- comments to the end of the line', () => {
    expect(texts('SELECT 1 # DROP TABLE t\n, 2')).toEqual(['SELECT 1 , 2']);
    expect(texts('SELECT 1 -- DROP TABLE t\n, 2')).toEqual(['SELECT 1 , 2']);
    expect(texts('SELECT 1 --\t; DROP TABLE t')).toEqual(['SELECT 1']);
    expect(texts('SELECT 1 --')).toEqual(['SELECT 1']);
  });

  it('reads -- without a following space as two minus signs', () => {
    expect(texts('SELECT 1--1; DROP TABLE t')).toEqual(['SELECT 1- -1', 'DROP TABLE t']);
  });

  it('drops plain comments, which do not nest', () => {
    expect(texts('SELECT /* a /* b */ 1')).toEqual(['SELECT 1']);
    expect(texts('SELECT /*+ BKA(t) */ 1')).toEqual(['SELECT 1']);
  });

  it('gives nothing for text that is only comments', () => {
    expect(texts('/* just a comment */ -- and more\n# and more')).toEqual([]);
  });
});

describe('strings and names', () => {
  it('re-quotes strings canonically with backslash escapes', () => {
    expect(texts("SELECT 'a\\'b', \"c\\\"d\", 'e''f', 'g\\\\h', 'i\\%j'")).toEqual(["SELECT 'a''b', 'c\"d', 'e''f', 'g\\\\h', 'i\\\\%j'"]);
  });

  it('keeps a backslash literal under NO_BACKSLASH_ESCAPES', () => {
    expect(texts("SELECT 'a\\'; DROP TABLE t; -- '", { noBackslashEscapes: true })).toEqual(["SELECT 'a\\\\'", 'DROP TABLE t']);
    expect(texts("SELECT 'a\\'; DROP TABLE t; -- '", { noBackslashEscapes: false })).toEqual(["SELECT 'a''; DROP TABLE t; -- '"]);
  });

  it('reads double quotes as names under ANSI_QUOTES', () => {
    expect(texts('SELECT "a""b" FROM t', { ansiQuotes: true })).toEqual(['SELECT `a"b` FROM t']);
    expect(texts('SELECT "a""b" FROM t', { ansiQuotes: false })).toEqual(["SELECT 'a\"b' FROM t"]);
  });

  it('keeps backtick names, including doubled backticks and semicolons', () => {
    expect(texts('SELECT `a``;b` FROM t; SELECT 2')).toEqual(['SELECT `a``;b` FROM t', 'SELECT 2']);
  });
});

describe('statement split', () => {
  it('splits on ; outside strings, names and comments', () => {
    expect(texts("SELECT ';'; /* ; */ SELECT 2 ; ;")).toEqual(["SELECT ';'", 'SELECT 2']);
  });

  it('keeps each statement as the client wrote it for audit', () => {
    const r = lexMysql('SELECT 1 /* c */ ;  /*!40101 SET NAMES utf8 */', { server: MARIADB_10_11 });
    expect(r.ok && r.statements.map((s) => s.source)).toEqual(['SELECT 1 /* c */', '/*!40101 SET NAMES utf8 */']);
  });

  it('treats DELIMITER as text (the server never sees the client command)', () => {
    expect(texts('DELIMITER $$')).toEqual(['DELIMITER $$']);
  });
});
