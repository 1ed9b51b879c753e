// The MySQL literal-insensitive shape cache must never let a text borrow a decision it would not get on its own:
// a differential test over the bypass corpus, the parser corpus and adversarial texts, like pg-shape.test.ts.
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/rules/evaluate.js';
import { loadRuleSets } from '../../../src/rules/load.js';
import type { RuleSet } from '../../../src/rules/rule-set.js';
import type { AccessLevel } from '../../../src/rules/types.js';
import { Guard } from '../../../src/session/guard.js';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import type { ReadOptions } from '../../../src/sql/facts.js';
import { mysqlShapeKey } from '../../../src/sql/mysql-shape.js';
import { MYSQL_CASES } from '../../bypass/mysql-cases.js';

let sets: RuleSet[];
beforeAll(async () => {
  await initSql();
  const { rulesets } = loadRuleSets(resolve('rules'));
  sets = [rulesets.get('safe-defaults')!, rulesets.get('pii-masking')!];
});

const OPTS: ReadOptions = { mariadb: true, serverVersion: 101119, ansiQuotes: false, noBackslashEscapes: false };
const ctx = (access: AccessLevel) => ({ dialect: 'mysql' as const, access, target: 't', groups: [] });
const fresh = (sql: string, access: AccessLevel) => {
  const d = evaluate(sets, analyze('mysql', sql, OPTS), ctx(access));
  return { action: d.action, rules: d.rules.map((r) => r.id), kinds: d.statements.map((s) => s.kind), effects: d.statements.map((s) => s.effects) };
};

/** Every literal of `sql` replaced, in turn, by each of a few other values; kept only when the shape is the same. */
function variants(sql: string): string[] {
  const values = ['0', '1', '42', '-1', '3.5', "'x'", "''", "'DROP TABLE t'", "'mysql'", "'sql_mode'", "'ANSI_QUOTES'", "'1=1'", "'%'", "'/etc/passwd'"];
  const out: string[] = [];
  const literal = /'(?:[^'\\]|'')*'|\b\d+(?:\.\d+)?\b/g;
  const spots = [...sql.matchAll(literal)];
  for (const m of spots) {
    for (const v of values) out.push(sql.slice(0, m.index) + v + sql.slice(m.index! + m[0].length));
  }
  out.push(sql.replace(literal, '1'), sql.replace(literal, "'1'"), sql.replace(literal, '0'));
  const key = mysqlShapeKey(sql);
  return out.filter((v) => key !== undefined && mysqlShapeKey(v) === key);
}

function corpus(): [AccessLevel, string][] {
  const dir = resolve('bench/corpus/mysql');
  const lines = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
    .filter((l) => l.trim() !== '' && !l.startsWith('##'));
  const adversarial = [
    'SELECT c FROM sbtest1 WHERE id=5023',
    "SELECT * FROM t WHERE a = 1 AND b = 'x' LIMIT 10",
    'DELETE FROM t WHERE 1 = 2',
    // whether an upsert or REPLACE fed from its own table is scoped is decided by folding its SELECT's WHERE
    "INSERT INTO t (id, v) SELECT id, 'x' FROM t WHERE 1 = 2 ON DUPLICATE KEY UPDATE v = 'y'",
    'REPLACE INTO t SELECT * FROM t WHERE 1 = 2',
    'UPDATE t SET a = 1 WHERE 2 > 1',
    "SET STATEMENT sql_mode='ANSI_QUOTES' FOR SELECT 1",
    "SET sql_mode = 'NO_BACKSLASH_ESCAPES'",
    "SET NAMES 'utf8mb4'",
    "PREPARE s FROM 'SELECT 1'",
    "EXECUTE IMMEDIATE 'SELECT 1'",
    'KILL 12',
    "SELECT * FROM t INTO OUTFILE '/tmp/x'",
    "SELECT LOAD_FILE('/etc/passwd')",
    "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t",
    "INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    "INSERT INTO mysql.user (User) VALUES ('x')",
    "SELECT GET_LOCK('x', 10)",
    "SHOW VARIABLES LIKE 'sql_mode'",
    "GRANT ALL ON *.* TO 'u'@'%'",
    "CREATE USER 'u'@'localhost' IDENTIFIED BY 'pw'",
    "DO SLEEP(1)",
    "SELECT 1; DELETE FROM t WHERE 1 = 2",
    "SELECT 'a'; SET sql_mode = 'ANSI'",
    "CALL p(1, 'x')",
    "HANDLER t READ FIRST WHERE a = 1",
  ];
  const accesses: AccessLevel[] = ['read', 'write'];
  return [
    ...MYSQL_CASES.map((c) => [c.access, c.sql] as [AccessLevel, string]),
    ...lines.flatMap((l) => accesses.map((a) => [a, l] as [AccessLevel, string])),
    ...adversarial.flatMap((l) => accesses.map((a) => [a, l] as [AccessLevel, string])),
  ];
}

describe('mysqlShapeKey', () => {
  it('replaces numbers and plain strings and keeps everything else', () => {
    expect(mysqlShapeKey('SELECT c FROM sbtest1 WHERE id=5023')).toBe(mysqlShapeKey('SELECT c FROM sbtest1 WHERE id=17'));
    expect(mysqlShapeKey("SELECT * FROM t WHERE a = 'it''s'")).toBe(mysqlShapeKey("SELECT * FROM t WHERE a = 'x'"));
    expect(mysqlShapeKey('SELECT * FROM t1 WHERE a = 1')).not.toBe(mysqlShapeKey('SELECT * FROM t2 WHERE a = 1'));
    expect(mysqlShapeKey('SELECT 1')).not.toBe(mysqlShapeKey('SELECT 1 FROM t'));
    expect(mysqlShapeKey("SELECT CAST(a AS CHAR(3))")).not.toBe(mysqlShapeKey("SELECT CAST(a AS CHAR(3.5))"));
    expect(mysqlShapeKey("SELECT 1")).not.toBe(mysqlShapeKey("SELECT '1'"));
    expect(mysqlShapeKey("SELECT 1234567890")).toBeUndefined();
    expect(mysqlShapeKey('SELECT c FROM t WHERE id BETWEEN 4991 AND 5090')).toBe(mysqlShapeKey('SELECT c FROM t WHERE id BETWEEN 1 AND 2'));
  });

  it.each([
    ['a # comment', 'SELECT 1 # x'],
    ['a -- comment', 'SELECT 1 -- x'],
    ['a block comment', 'SELECT /* x */ 1'],
    ['an executable comment', 'SELECT /*! 1 */ 2'],
    ['a backslash in a string', "SELECT 'a\\' , 1"],
    ['a double-quoted string or identifier', 'SELECT "a" FROM t WHERE x = 1'],
    ['a backquoted identifier', 'SELECT `a` FROM t WHERE x = 1'],
    ['a charset introducer', "SELECT _latin1'x'"],
    ['a charset introducer and a space', "SELECT _latin1 'x'"],
    ['an N string', "SELECT N'x'"],
    ['a hex string', "SELECT X'41'"],
    ['adjacent strings', "SELECT 'a' 'b'"],
    ['a quoted user variable', "SELECT @'a' = 1"],
    ['a user@host', "SELECT 'u'@'h', 1"],
    ['an exponent', 'SELECT 1e5'],
    ['a hex number', 'SELECT 0x1F'],
    ['an identifier starting with digits', 'SELECT 1abc FROM t WHERE a = 1'],
    ['a qualified name with digits', 'SELECT t.1a FROM t WHERE a = 1'],
    ['non-ASCII', "SELECT 'é' FROM t"],
    ['a control character', 'SELECT \u0001 FROM t WHERE a = 1'],
    ['no literal at all', 'SELECT a FROM t'],
    ['an unterminated string', "SELECT 'a"],
  ])('gives no shape for %s', (_what, sql) => {
    expect(mysqlShapeKey(sql)).toBeUndefined();
  });
});

describe('MySQL shape-shared decisions are the decisions each text gets on its own', () => {
  it('holds for every literal variant of the bypass corpus, the parser corpus and adversarial texts', () => {
    let compared = 0;
    for (const [access, sql] of corpus()) {
      const vs = variants(sql);
      if (!vs.length) continue;
      const guard = new Guard(ctx(access), sets, 1000);
      guard.decide(sql, OPTS); // warms the shape cache with the original's decision
      for (const v of vs) {
        const got = guard.decide(v, OPTS);
        const want = fresh(v, access);
        expect({ sql: v, action: got.action, rules: got.rules.map((r) => r.id), kinds: got.statements.map((s) => s.kind), effects: got.statements.map((s) => s.effects) }).toEqual({ sql: v, ...want });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(1000);
  });

  it('sysbench text mode shares one decision per statement shape', () => {
    const guard = new Guard(ctx('read'), sets, 1000);
    const a = guard.decide('SELECT c FROM sbtest1 WHERE id=5023', OPTS);
    const b = guard.decide('SELECT c FROM sbtest1 WHERE id=17', OPTS);
    expect(b).toBe(a);
    expect(a.action).toBe('allow');
    // another reading setting never borrows the decision
    const c = guard.decide('SELECT c FROM sbtest1 WHERE id=18', { ...OPTS, ansiQuotes: true });
    expect(c).not.toBe(a);
  });

  it('a harmless statement cannot lend its decision to a dangerous one of the same shape', () => {
    const guard = new Guard(ctx('write'), sets, 100);
    expect(guard.decide('DELETE FROM t WHERE 1 = 2', OPTS).action).toBe('allow');
    expect(guard.decide('DELETE FROM t WHERE 1 = 1', OPTS).action).toBe('block');
  });
});
