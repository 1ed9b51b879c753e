// WHERE constant folding: conditions that select every row must fold to 'always-true', real ones must not.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';

beforeAll(async () => {
  await initSql();
});

const whereOf = (cond: string) => {
  const facts = analyze('postgres', `DELETE FROM t WHERE ${cond}`);
  expect(facts[0]?.kind, cond).toBe('delete');
  return facts[0]!.where;
};

describe('always-true conditions', () => {
  it.each([
    'true', 'TRUE', '1=1', "'a'='a'", 'id=id', 't.id = t.id', 'lower(x) = lower(x)', "'t'", "'true'", "'yes'", "'on'",
    '1::bool', "'1'::boolean", 'NOT false', 'NOT NOT true', 'x OR true', 'true OR x = 5', 'true AND true',
    '1 IN (1)', '1 IN (3, 2, 1)', 'id IN (id)', '2>1', '1<2', '1<>2', '1 != 2', '2 >= 2', 'NULL IS NULL',
    'x IS NOT NULL OR true', '(true)', '((1 = 1))', '(1=1) AND (2=2)', 'true::bool', "'1'::int = 1", '1 = 1.0',
    "'a' || 'b' = 'ab'", '1 + 1 = 2', '-1 < 0', '2 * 3 = 6', 'x = 1 OR NOT (x = 1)', '1 BETWEEN 0 AND 2',
    "'abc' LIKE 'a%'", 'EXISTS (SELECT 1)', '(SELECT true)', 'true IS TRUE', 'false IS NOT TRUE', 'NULL IS UNKNOWN',
    '1 IS NOT DISTINCT FROM 1', 'x IS NOT DISTINCT FROM x', 'NULL IS NOT DISTINCT FROM NULL', 'COALESCE(NULL, true)',
    "'yes'::text = 'yes'", '5 NOT IN (1, 2)', 'id >= id',
    // both sides from the same row, whatever the operator; subqueries correlated to the row are the row
    'x LIKE y', 'name ILIKE name', 'id = ANY(ARRAY[id])', 'id BETWEEN id AND id', 'id IN (5, id)', 'id = (SELECT t.id)',
    'id = (SELECT id)', 'id = (SELECT max(id) FROM t t2 WHERE t2.id = t.id)', 'id IN (SELECT t.id FROM u)',
    // sets that contain every row's value, or no value at all
    'id IN (SELECT id FROM t)', 'id = ANY (SELECT id FROM t)', 'id IN (SELECT id FROM t WHERE 1 = 1)',
    'id IN (SELECT * FROM (SELECT id FROM t) x)', 'id NOT IN (SELECT 1 WHERE false)', 'id NOT IN (SELECT 1 FROM u LIMIT 0)',
    // every branch the same constant; ALL over an empty array or no row; tableoid is the same in every row
    'CASE WHEN id > 0 THEN true ELSE true END', "CASE x WHEN 'a' THEN true ELSE true END", "id <> ALL('{}')",
    'id <> ALL(ARRAY[]::int[])', "id <> ALL('{}'::int[])", 'id <> ALL (SELECT 1 WHERE false)', 'tableoid > 0',
    "t.tableoid = 't'::regclass", "coalesce(x, 'a') IS NOT NULL", 'to_jsonb(t) IS NOT NULL', 't::text IS NOT NULL',
    '(t.*)::text IS NOT NULL', 'row_to_json(t) IS NOT NULL', 'id::text IS NOT NULL', 'ROW(t.*) IS NOT NULL', 'id = ANY(ARRAY(SELECT id FROM t))', 'id <> ALL(ARRAY(SELECT 1 WHERE false))', '(id, x) IN (SELECT id, x FROM t)',
    'id > ALL (SELECT 1 WHERE false)', 'id IN (SELECT id FROM t UNION SELECT 1)', 'id IN (WITH c AS (SELECT id FROM t) SELECT id FROM c)',
  ])('%s', (cond) => {
    expect(whereOf(cond)).toBe('always-true');
  });
});

describe('conditions that stay present', () => {
  it.each([
    'id = 5', 'id = $1', 'id > 0', 'x IS NULL', 'false', '1=2', "'a'='b'", 'NOT true', 'x OR false',
    'true AND x', 'id IN (1, 2)', '1 IN (2)', 'NULL = NULL', 'NULL', 'id <> id', 'id < id',
    "'abc' LIKE 'b%'", "x LIKE 'a%'",
    'now() > now()', "'maybe'", 'NULL IS NOT NULL', 'x = 1 OR NOT (y = 1)',
    '3 BETWEEN 0 AND 2', 'CURRENT OF c',
    'id BETWEEN id AND 3', 'id IN (SELECT id FROM t WHERE x = 5)', 'id IN (SELECT tid FROM o WHERE o.x = 1)',
    'id = (SELECT max(id) FROM t)', 'id IN (SELECT 5)', 'CASE WHEN id > 0 THEN true ELSE false END', 'id = ANY(ARRAY[1, 2])',
    "id <> ALL('{1}')", "tableoid = 't'::regclass AND id = 1", 'x::text IS NULL', "id = ANY(ARRAY(SELECT id FROM t WHERE x = 'a'))", "(id, x) IN (SELECT id, x FROM t WHERE x = 'a')", '(x, id) IN (SELECT id, x FROM t)', 'lower(x) IS NULL', 'to_jsonb(t) IS NULL', 'id IN (SELECT id FROM t INTERSECT SELECT 1)', 'id NOT IN (SELECT tid FROM o)', 'id IN (SELECT t2.id FROM t t2 WHERE t2.x = 1)',
  ])('%s', (cond) => {
    expect(whereOf(cond)).toBe('present');
  });
});

describe('conditions not proven scoped (no column of the target, or the row compared with itself)', () => {
  it.each([
    'random() = random()', '1 IN (SELECT 1)', 'EXISTS (SELECT 1 FROM u)', 'EXISTS (SELECT 1 WHERE false)', '1 / 0 = 1',
    'id = id + 0', '(SELECT x FROM u) = (SELECT x FROM u)', 'now() IS NOT NULL', "current_user = 'app'", 'id = 1 OR EXISTS (SELECT 1 FROM u)',
    't.a < a', 'u.id = 1',
    // only a null test of the target's column: true for every row of a NOT NULL column, so scoped only when the
    // catalog shows the column nullable (the session decides that; offline it is not proven)
    'x IS NOT NULL',
  ])('%s', (cond) => {
    expect(whereOf(cond)).toBe('always-true');
    expect(analyze('postgres', `DELETE FROM t WHERE ${cond}`)[0]!.whereReason).toBeTruthy();
  });
});

describe('the shape of the statement', () => {
  it('is absent without WHERE and set for UPDATE too', () => {
    expect(analyze('postgres', 'DELETE FROM t')[0]!.where).toBe('absent');
    expect(analyze('postgres', 'UPDATE t SET a = 1 FROM u')[0]!.where).toBe('absent');
    expect(analyze('postgres', 'UPDATE t SET a = 1 WHERE 1 = 1')[0]!.where).toBe('always-true');
    expect(analyze('postgres', 'UPDATE t SET a = 1 FROM u WHERE t.id = u.id')[0]!.where).toBe('present');
  });

  it('folds multi-line conditions with comments', () => {
    expect(analyze('postgres', 'DELETE FROM t\nWHERE /* everything */ 1 = 1 -- oops\n')[0]!.where).toBe('always-true');
  });
});
