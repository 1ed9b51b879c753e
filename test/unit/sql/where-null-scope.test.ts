// Issue 12 family (c): a WHERE that tests the target's columns only for NULL narrows nothing when they are NOT NULL.
// Offline the facts say "not proven scoped" and carry the column sets whose nullability would scope it
// (StatementFacts.scopeIfNullable); the session consults the catalog (test/bypass/null-scope.test.ts, live).
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import { NullableColumns } from '../../../src/session/nullable-columns.js';

const first = (d: 'postgres' | 'mysql', sql: string) => analyze(d, sql)[0]!;

describe('null tests as the only scope', () => {
  beforeAll(() => initSql());
  for (const [d, sql, sets] of [
    ['postgres', 'DELETE FROM t WHERE id IS NOT NULL', [['id']]],
    ['postgres', 'DELETE FROM t x WHERE NOT (x.id IS NULL)', [['id']]],
    ['postgres', 'DELETE FROM t WHERE id IS DISTINCT FROM NULL', [['id']]],
    ['postgres', 'DELETE FROM t WHERE (id IS NULL) = false', [['id']]],
    ['postgres', 'DELETE FROM t WHERE a IS NOT NULL OR b IS NOT NULL', [['a', 'b']]],
    ['postgres', 'DELETE FROM t WHERE a IS NOT NULL AND b IS NOT NULL', [['a'], ['b']]],
    ['mysql', 'DELETE FROM t WHERE id IS NOT NULL', [['id']]],
    ['mysql', 'DELETE FROM t WHERE NOT id IS NULL', [['id']]],
    ['mysql', 'DELETE FROM t WHERE !ISNULL(id)', [['id']]],
    ['mysql', 'DELETE FROM t WHERE NOT (t.id <=> NULL)', [['id']]],
    ['mysql', 'DELETE FROM t WHERE ISNULL(id) = 0', [['id']]],
    ['mysql', 'UPDATE t SET v = 1 WHERE a IS NOT NULL OR b IS NOT NULL', [['a', 'b']]],
  ] as const) {
    it(`${d}: ${sql} is not proven scoped without the catalog`, () => {
      const f = first(d, sql);
      expect(f.where).toBe('always-true');
      expect(f.whereReason).toMatch(/tested only for NULL/);
      expect(f.scopeIfNullable).toEqual(sets);
    });
  }
  for (const [d, sql] of [
    ['postgres', 'DELETE FROM t WHERE id IS NULL'], ['postgres', 'DELETE FROM t WHERE a IS NOT NULL AND b = 1'],
    ['mysql', 'DELETE FROM t WHERE id IS NULL'], ['mysql', 'DELETE FROM t WHERE ISNULL(id)'], ['mysql', 'DELETE FROM t WHERE a IS NOT NULL AND b = 1'],
  ] as const) {
    it(`${d}: ${sql} stays scoped`, () => {
      const f = first(d, sql);
      expect(f.where).toBe('present');
      expect(f.scopeIfNullable).toBeUndefined();
    });
  }
  it('a tautology stays unscoped whatever the catalog says', () => {
    expect(first('postgres', 'DELETE FROM t WHERE a IS NULL OR a IS NOT NULL').scopeIfNullable).toBeUndefined();
    expect(first('mysql', 'DELETE FROM t WHERE a IS NULL OR a IS NOT NULL').scopeIfNullable).toBeUndefined();
  });
});

describe('NullableColumns', () => {
  const pg = new NullableColumns([['public', 't', 'v'], ['app', 't', 'v'], ['app', 'u', 'w']]);
  it('knows a column nullable only when every table the name may mean says so', () => {
    expect(pg.nullable('public.t', 'v')).toBe(true);
    expect(pg.nullable('t', 'v')).toBe(true);
    expect(pg.nullable('u', 'w')).toBe(true);
    expect(pg.nullable('t', 'id')).toBe(false);
    expect(pg.nullable('nope', 'v')).toBe(false);
    expect(pg.nullable('public.t', 'V')).toBe(false);
    const partly = new NullableColumns([['a', 't', 'v'], ['b', 't', 'x']]);
    expect(partly.nullable('t', 'v')).toBe(false);
  });
  it('MySQL compares without case', () => {
    const my = new NullableColumns([['db', 'T', 'Col']], true);
    expect(my.nullable('`db`.`t`', 'col')).toBe(true);
    expect(my.nullable('t', 'COL')).toBe(true);
  });
});
