// The literal-insensitive shape cache must never let a text borrow a decision it would not get on its own.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/rules/evaluate.js';
import { loadRuleSets } from '../../../src/rules/load.js';
import type { RuleSet } from '../../../src/rules/rule-set.js';
import type { AccessLevel } from '../../../src/rules/types.js';
import { Guard } from '../../../src/session/guard.js';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import { pgLiteralShape, pgShapeKey } from '../../../src/sql/pg-shape.js';
import { POSTGRES_CASES } from '../../bypass/postgres-cases.js';

let sets: RuleSet[];
beforeAll(async () => {
  await initSql();
  const { rulesets } = loadRuleSets(resolve('rules'));
  sets = [rulesets.get('safe-defaults')!, rulesets.get('pii-masking')!];
});

const ctx = (access: AccessLevel) => ({ dialect: 'postgres' as const, access, target: 't', groups: [] });
const fresh = (sql: string, access: AccessLevel) => {
  const d = evaluate(sets, analyze('postgres', sql), ctx(access));
  return { action: d.action, rules: d.rules.map((r) => r.id) };
};

/** Every literal of `sql` replaced, in turn, by each of a few other values (same shape by construction). */
function variants(sql: string): string[] {
  const values = ['0', '1', '42', "'x'", "''", "'DROP TABLE t'", "'role'", "'search_path'", "'DELETE FROM t'"];
  const out: string[] = [];
  const literal = /'(?:[^']|'')*'|\b\d+(?:\.\d+)?\b/g;
  const spots = [...sql.matchAll(literal)];
  for (const m of spots) {
    for (const v of values) out.push(sql.slice(0, m.index) + v + sql.slice(m.index! + m[0].length));
  }
  // all literals at once, to 1 and to '1'
  out.push(sql.replace(literal, '1'), sql.replace(literal, "'1'"));
  return out.filter((v) => pgShapeKey(v) !== undefined && pgShapeKey(v) === pgShapeKey(sql));
}

describe('pgShapeKey', () => {
  it('replaces numbers and plain strings and keeps everything else', () => {
    expect(pgShapeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;')).toBe(pgShapeKey('SELECT abalance FROM pgbench_accounts WHERE aid = 7;'));
    expect(pgShapeKey("SELECT * FROM t WHERE a = 'it''s'")).toBe(pgShapeKey("SELECT * FROM t WHERE a = 'x'"));
    expect(pgShapeKey('SELECT * FROM t1 WHERE a = 1')).not.toBe(pgShapeKey('SELECT * FROM t2 WHERE a = 1'));
    expect(pgShapeKey('SELECT 1')).not.toBe(pgShapeKey('SELECT 1 FROM t'));
    // a typed constant is a constant: only a quote glued to a word (E'', U&'', B'', X'') is refused
    expect(pgShapeKey("SELECT date '2020-01-01'")).toBe(pgShapeKey("SELECT date '1999-12-31'"));
  });

  it.each([
    ['a comment', 'SELECT 1 -- x'],
    ['a block comment', 'SELECT /* x */ 1'],
    ['a dollar quote', 'SELECT $$x$$'],
    ['a parameter', 'SELECT $1'],
    ['a backslash', "SELECT 'a\\\\' "],
    ['an E string', "SELECT E'x'"],
    ['a U& identifier', 'SELECT U&"x"'],
    ['a quoted identifier', 'SELECT "a" FROM t WHERE x = 1'],
    ['adjacent strings across a newline', "SELECT 'a'\n'b'"],
    ['an exponent', 'SELECT 1e5'],
    ['hex digits glued to a number', 'SELECT 0x1F'],
    ['no literal at all', 'SELECT a FROM t'],
    ['a control character', 'SELECT \u0001 FROM t WHERE a = 1'],
  ])('gives no shape for %s', (_what, sql) => {
    expect(pgShapeKey(sql)).toBeUndefined();
  });
});

describe('shape-shared decisions are the decisions each text gets on its own', () => {
  const adversarial: [AccessLevel, string][] = [
    ['write', 'DELETE FROM t WHERE 1 = 2'],
    ['write', 'UPDATE t SET a = 1 WHERE 2 > 1'],
    ['write', "SELECT set_config('search_path', 'public', false)"],
    ['write', "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'"],
    ['write', 'WITH x AS (DELETE FROM t WHERE 1 = 2 RETURNING *) SELECT * FROM x'],
    ['write', 'EXPLAIN ANALYZE DELETE FROM t WHERE 1 = 2'],
    ['read', "SELECT * FROM t WHERE a = 1 AND b = 'x' LIMIT 10"],
    ['write', "INSERT INTO t VALUES (1, 'a'), (2, 'b')"],
    ['write', "SELECT set_config(name, 'x', false) FROM pg_settings WHERE name = 'restrict_nonsystem_relation_kind'"],
    ['write', "MERGE INTO t USING s ON 1 = 1 WHEN MATCHED THEN DELETE"],
    // whether an upsert fed from its own table is scoped is decided by folding its SELECT's WHERE
    ['write', "INSERT INTO t (a, b) SELECT a, 'x' FROM t WHERE 1 = 2 ON CONFLICT (a) DO UPDATE SET b = 'y'"],
  ];
  const corpus: [AccessLevel, string][] = [
    ...adversarial,
    ...POSTGRES_CASES.map((c) => [c.access, c.sql] as [AccessLevel, string]),
  ];

  it(`holds for every literal variant of ${corpus.length} statements (bypass corpus + adversarial)`, () => {
    let compared = 0;
    for (const [access, sql] of corpus) {
      const vs = variants(sql);
      if (!vs.length) continue;
      const guard = new Guard(ctx(access), sets, 1000);
      guard.decide(sql); // warms the shape cache with the original's decision
      for (const v of vs) {
        const got = guard.decide(v);
        expect({ sql: v, action: got.action, rules: got.rules.map((r) => r.id) }).toEqual({ sql: v, ...fresh(v, access) });
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(500);
  });

  it('a harmless DELETE cannot lend its decision to an always-true one', () => {
    const guard = new Guard(ctx('write'), sets, 100);
    expect(guard.decide('DELETE FROM t WHERE 1 = 2').action).toBe('allow');
    expect(guard.decide('DELETE FROM t WHERE 1 = 1').action).toBe('block');
    expect(guard.decide("SELECT set_config('search_path', 'x', false)").action).toBe('allow');
    expect(guard.decide("SELECT set_config('role', 'x', false)").action).toBe('block');
  });
});

describe('pgLiteralShape', () => {
  it('tells integers, other numbers and strings apart, so texts only the grammar tells apart never share a key', () => {
    expect(pgLiteralShape('select 101 from t')).toBe(pgLiteralShape('select 12345 from t'));
    expect(pgLiteralShape("select 'a' from t")).toBe(pgLiteralShape("select 'select email' from t"));
    // `x::float(5)` parses, `x::float('5')` and `FETCH 1.5` do not; an integer past int4 is a numeric constant
    expect(pgLiteralShape('select 101 from t')).not.toBe(pgLiteralShape("select '101' from t"));
    expect(pgLiteralShape('select 101 from t')).not.toBe(pgLiteralShape('select 101.5 from t'));
    expect(pgLiteralShape('select 2147483647 from t')).toBe(pgLiteralShape('select 0000000000200 from t'));
    // integers up to 100 are kept as they are: `float(0)` and `float(54)` do not parse, `float(5)` does
    expect(pgLiteralShape('select x::float(5) from t')).not.toBe(pgLiteralShape('select x::float(0) from t'));
    expect(pgLiteralShape('select x::float(5) from t')).toBe(pgLiteralShape('select x::float(005) from t'));
    expect(pgLiteralShape('select 2147483647 from t')).not.toBe(pgLiteralShape('select 2147483648 from t'));
    // the guard's key does not tell them apart (its decisions do not depend on it), this one does
    expect(pgShapeKey('select 1 from t')).toBe(pgShapeKey("select '1' from t"));
  });
  it('gives no shape where pgShapeKey gives none, nor for NUL or surrogates', () => {
    for (const t of ['select a from t', 'select $1', "select E'x'", 'select 1 -- c', 'select "a" from t where b = 1']) expect(pgLiteralShape(t)).toBeUndefined();
    expect(pgLiteralShape("select 'a\u0000' from t")).toBeUndefined();
    expect(pgLiteralShape("select '\ud83d' from t")).toBeUndefined();
  });
});

describe('the two shapes of one text', () => {
  it('differ only in their placeholders', () => {
    const shapes = (t: string) => ({ plain: pgShapeKey(t), typed: pgLiteralShape(t) });
    expect(shapes('select abalance from pgbench_accounts where aid = 17')).toEqual({ plain: 'select abalance from pgbench_accounts where aid = \u0001', typed: 'select abalance from pgbench_accounts where aid = \u000417\u0004' });
    expect(shapes("select * from t where a = 'x' and b = 2.5 and c = 12345678901").typed).toBe('select * from t where a = \u0003 and b = \u0002 and c = \u0002');
    expect(shapes('select a from t')).toEqual({ plain: undefined, typed: undefined });
    // NUL inside a string literal: the decision's shape reads it, the mask plan's refuses the text
    expect(shapes("select 'a\u0000' from t")).toEqual({ plain: 'select \u0001 from t', typed: undefined });
  });
});
