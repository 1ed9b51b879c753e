// PostgreSQL statement facts: kinds, effects, tables, columns, functions, where/limit, nesting, positions.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import type { Effect, StatementFacts } from '../../../src/sql/facts.js';

beforeAll(async () => {
  await initSql();
});

const pg = (sql: string, opts = {}) => analyze('postgres', sql, opts);
const one = (sql: string): StatementFacts => {
  const facts = pg(sql);
  expect(facts.length, `facts for ${sql}`).toBeGreaterThan(0);
  return facts[0]!;
};

describe('kinds', () => {
  const cases: Array<[string, StatementFacts['kind'], string?]> = [
    ['SELECT 1', 'select'],
    ['INSERT INTO t VALUES (1)', 'insert'],
    ['UPDATE t SET a = 1 WHERE id = 1', 'update'],
    ['DELETE FROM t WHERE id = 1', 'delete'],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'merge'],
    ['COPY t TO STDOUT', 'copy'],
    ['TRUNCATE t', 'truncate', 'table'],
    ['BEGIN', 'transaction'],
    ['COMMIT', 'transaction'],
    ['ROLLBACK', 'transaction'],
    ['SET search_path TO public', 'set'],
    ['RESET ALL', 'set'],
    ['SHOW work_mem', 'show'],
    ['DO $$ BEGIN END $$', 'do'],
    ['EXECUTE p(1)', 'execute'],
    ['PREPARE p AS SELECT 1', 'prepare'],
    ['EXPLAIN SELECT 1', 'explain'],
    ['CALL p(1)', 'call'],
    ['DROP TABLE t', 'drop', 'table'],
    ['DROP INDEX i', 'drop', 'index'],
    ['DROP VIEW v', 'drop', 'view'],
    ['DROP MATERIALIZED VIEW mv', 'drop', 'materialized-view'],
    ['DROP SCHEMA s CASCADE', 'drop', 'schema'],
    ['DROP FUNCTION f(int)', 'drop', 'function'],
    ['DROP DATABASE d', 'drop', 'database'],
    ['DROP ROLE r', 'drop', 'role'],
    ['CREATE TABLE t (id int)', 'create', 'table'],
    ['CREATE INDEX i ON t (a)', 'create', 'index'],
    ['CREATE VIEW v AS SELECT 1', 'create', 'view'],
    ['CREATE SCHEMA s', 'create', 'schema'],
    ['CREATE DATABASE d', 'create', 'database'],
    ['CREATE SEQUENCE s', 'create', 'sequence'],
    ['CREATE EXTENSION hstore', 'create', 'extension'],
    ['CREATE ROLE x', 'create', 'role'],
    ['CREATE USER x', 'create', 'user'],
    ['CREATE TABLE n AS SELECT * FROM t', 'create', 'table'],
    ['CREATE MATERIALIZED VIEW mv AS SELECT * FROM t', 'create', 'materialized-view'],
    ['CREATE PROCEDURE p() LANGUAGE sql AS $$ SELECT 1 $$', 'create', 'procedure'],
    ['ALTER TABLE t ADD COLUMN c int', 'alter', 'table'],
    ['ALTER TABLE t RENAME TO u', 'alter', 'table'],
    ['ALTER ROLE x NOLOGIN', 'alter', 'role'],
    ['ALTER SYSTEM SET work_mem = 1', 'alter', 'system'],
    ['ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x', 'alter', 'default-privileges'],
    ['GRANT ALL ON t TO x', 'grant', 'table'],
    ['REVOKE SELECT ON t FROM x', 'revoke', 'table'],
    ['GRANT r TO u', 'grant', 'role'],
    ['REVOKE r FROM u', 'revoke', 'role'],
    ['LOAD \'auto_explain\'', 'load'],
    ['LISTEN ch', 'other'],
    ['VACUUM t', 'other'],
    ['CHECKPOINT', 'other'],
  ];
  it.each(cases)('%s → %s', (sql, kind, object) => {
    const f = one(sql);
    expect(f.kind).toBe(kind);
    if (object !== undefined) expect(f.object).toBe(object);
    expect(f.nested).toBe(false);
  });
});

describe('effects', () => {
  const cases: Array<[string, Effect[], Effect[]?]> = [
    // [sql, effects that must be present, effects that must be absent]
    ['SELECT * FROM t', ['read'], ['write']],
    ['SELECT * FROM t FOR UPDATE', ['read', 'write']],
    ['SELECT * FROM t FOR SHARE SKIP LOCKED', ['write']],
    ['SELECT a INTO newt FROM t', ['write', 'ddl']],
    ["SELECT nextval('s')", ['write']],
    ["SELECT pg_catalog.setval('s', 1)", ['write']],
    ['INSERT INTO t SELECT * FROM u', ['write', 'read']],
    ['COPY t FROM STDIN', ['write'], ['file']],
    ['COPY t TO STDOUT', ['read'], ['file', 'write']],
    ["COPY t TO '/tmp/x'", ['file']],
    ["COPY t FROM PROGRAM 'curl x'", ['file', 'write']],
    ["COPY t TO PROGRAM 'x'", ['file']],
    ['CREATE TABLE t (id int)', ['ddl']],
    ['GRANT ALL ON t TO x', ['dcl']],
    ['CREATE ROLE x', ['dcl']],
    ['SET ROLE admin', ['dcl', 'session']],
    ['SET SESSION AUTHORIZATION postgres', ['dcl']],
    ['ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x', ['dcl']],
    ["ALTER SYSTEM SET work_mem = '1MB'", ['admin']],
    ['SELECT pg_terminate_backend(1)', ['admin']],
    ['SELECT pg_cancel_backend(pid) FROM pg_stat_activity', ['admin', 'read']],
    ['SELECT pg_reload_conf()', ['admin']],
    ['SELECT pg_rotate_logfile()', ['admin']],
    ["SELECT set_config('role', 'postgres', false)", ['admin', 'dcl']],
    ["SELECT set_config('search_path', 'x', false)", ['session'], ['admin']],
    ['CHECKPOINT', ['admin']],
    ['DO $$ BEGIN END $$', [], ['dynamic']],
    ["DO $$ BEGIN EXECUTE 'SELECT 1'; END $$", ['dynamic']],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$", ['ddl'], ['dynamic']],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'SELECT 1'; RETURN 1; END $$", ['dynamic', 'ddl']],
    ["CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1'", ['ddl'], ['dynamic']],
    ["SELECT * FROM dblink('host=x', 'delete from t') AS r(a int)", ['dynamic']],
    ["SELECT dblink_exec('delete from t')", ['dynamic']],
    ["SELECT query_to_xml('select 1', true, false, '')", ['dynamic']],
    ["SELECT pg_read_file('/etc/passwd')", ['file']],
    ["SELECT pg_read_binary_file('x')", ['file']],
    ["SELECT pg_ls_dir('.')", ['file']],
    ["SELECT pg_stat_file('x')", ['file']],
    ["SELECT lo_import('/etc/passwd')", ['file']],
    ["SELECT lo_export(1, '/tmp/x')", ['file']],
    ["LOAD 'plugin'", ['admin', 'file']],
    ['SET search_path TO public', ['session'], ['dcl']],
    ['RESET work_mem', ['session']],
    ['DISCARD ALL', ['session']],
    ['LISTEN ch', ['session']],
    ['UNLISTEN *', ['session']],
    ['EXECUTE p(1)', [], ['dynamic']],
    ['BEGIN', [], ['write', 'ddl', 'dcl']],
    // plain EXPLAIN runs nothing: no effects beyond read, even for a write or an admin function
    ['EXPLAIN DELETE FROM t', ['read'], ['write']],
    ['EXPLAIN SELECT pg_terminate_backend(1)', ['read'], ['admin']],
    ['EXPLAIN ANALYZE SELECT pg_terminate_backend(1)', ['admin']],
  ];
  it.each(cases)('%s', (sql, present, absent = []) => {
    const f = one(sql);
    for (const e of present) expect(f.effects, `${sql} has ${e}`).toContain(e);
    for (const e of absent) expect(f.effects, `${sql} lacks ${e}`).not.toContain(e);
  });
});

describe('where and limit', () => {
  const cases: Array<[string, StatementFacts['where']]> = [
    ['DELETE FROM t', 'absent'],
    ['UPDATE t SET a = 1', 'absent'],
    ['DELETE FROM t WHERE id = 5', 'present'],
    ['DELETE FROM t WHERE id = $1', 'present'],
    ['DELETE FROM t WHERE 1=1', 'always-true'],
    ['DELETE FROM t WHERE true', 'always-true'],
    ["DELETE FROM t WHERE 'a'='a'", 'always-true'],
    ['DELETE FROM t WHERE id=id', 'always-true'],
    ['DELETE FROM t WHERE CURRENT OF c', 'present'],
    ['UPDATE t SET a=1 WHERE true OR id=5', 'always-true'],
    ['UPDATE t SET a=1 WHERE id = 5 AND true', 'present'],
    ['MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE', 'present'],
    ['MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE', 'always-true'],
  ];
  it.each(cases)('%s → where %s', (sql, where) => {
    expect(one(sql).where).toBe(where);
  });

  it('is null for statements that are not update/delete/merge', () => {
    expect(one('SELECT * FROM t').where).toBeNull();
    expect(one('INSERT INTO t VALUES (1)').where).toBeNull();
  });

  it('reports limit for select, update and delete only', () => {
    expect(one('SELECT * FROM t LIMIT 10').limit).toBe('present');
    expect(one('SELECT * FROM t FETCH FIRST 3 ROWS ONLY').limit).toBe('present');
    expect(one('SELECT * FROM t').limit).toBe('absent');
    expect(one('DELETE FROM t WHERE id = 1').limit).toBe('absent');
    expect(one('INSERT INTO t VALUES (1)').limit).toBeNull();
  });
});

describe('tables, columns and functions', () => {
  it('names tables with their schema and the operation on them', () => {
    const f = one('INSERT INTO app.orders (id) SELECT id FROM staging.orders o JOIN users u ON u.id = o.uid');
    expect(f.tables).toEqual(expect.arrayContaining([
      { name: 'app.orders', op: 'write' },
      { name: 'staging.orders', op: 'read' },
      { name: 'users', op: 'read' },
    ]));
  });

  it('resolves aliases and qualifies bare columns when one table is in play', () => {
    expect(one('SELECT u.email, name FROM public.users u WHERE u.id = $1').columns.sort()).toEqual(
      ['public.users.email', 'public.users.id', 'public.users.name'],
    );
    const multi = one('SELECT u.email, name FROM users u JOIN orders o ON o.uid = u.id');
    expect(multi.columns).toEqual(expect.arrayContaining(['users.email', 'name', 'orders.uid', 'users.id']));
  });

  it('records SELECT * as table.*', () => {
    expect(one('SELECT * FROM users').columns).toEqual(['users.*']);
  });

  it('does not list CTE names as tables', () => {
    const f = one('WITH recent AS (SELECT * FROM orders) SELECT * FROM recent');
    expect(f.tables.map((t) => t.name)).toEqual(['orders']);
  });

  it('lists every function call, lower-case, schema kept', () => {
    const f = one("SELECT lower(x), pg_catalog.now(), COALESCE(upper(y), 'z') FROM t WHERE length(x) > 3");
    expect(f.functions.sort()).toEqual(['length', 'lower', 'pg_catalog.now', 'upper']);
  });

  it('sees functions in FROM, in CALL and in subqueries', () => {
    expect(one('SELECT * FROM generate_series(1, 3)').functions).toContain('generate_series');
    expect(one('CALL app.do_it(1)').functions).toEqual(['app.do_it']);
    expect(one('SELECT (SELECT max(id) FROM t)').functions).toEqual(['max']);
  });

  it('lists tables of DROP and TRUNCATE', () => {
    expect(one('DROP TABLE a, s.b').tables).toEqual([{ name: 'a', op: 'ddl' }, { name: 's.b', op: 'ddl' }]);
    expect(one('TRUNCATE a, b').tables.map((t) => t.op)).toEqual(['write', 'write']);
  });

  it('still lists the tables under a plain EXPLAIN', () => {
    const f = one('EXPLAIN DELETE FROM t WHERE id IN (SELECT id FROM u)');
    expect(f.tables.map((t) => t.name).sort()).toEqual(['t', 'u']);
    expect(pg('EXPLAIN DELETE FROM t')).toHaveLength(1);
  });
});

describe('nested and multiple statements', () => {
  it('gives every top-level statement its own fact, index and text', () => {
    const facts = pg('SELECT 1; DELETE FROM t;\n  UPDATE u SET a = 1 WHERE id = 2');
    expect(facts.map((f) => [f.kind, f.index, f.multiStatement, f.text])).toEqual([
      ['select', 0, true, 'SELECT 1'],
      ['delete', 1, true, 'DELETE FROM t'],
      ['update', 2, true, 'UPDATE u SET a = 1 WHERE id = 2'],
    ]);
  });

  it('cuts statement text by byte positions even with multi-byte characters', () => {
    const facts = pg("SELECT 'héllo ✓'; DELETE FROM t");
    expect(facts.map((f) => f.text)).toEqual(["SELECT 'héllo ✓'", 'DELETE FROM t']);
  });

  it('drops comments before the statement from its text', () => {
    expect(one('/* c */ DELETE FROM t').text).toBe('DELETE FROM t');
  });

  const nestedCases: Array<[string, string, StatementFacts['kind'], StatementFacts['where']]> = [
    ['writable CTE', 'WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', 'delete', 'absent'],
    ['CTE in a DML', 'WITH x AS (UPDATE t SET a = 1 RETURNING id) DELETE FROM u WHERE id IN (SELECT id FROM x)', 'update', 'absent'],
    ['EXPLAIN ANALYZE', 'EXPLAIN ANALYZE DELETE FROM t', 'delete', 'absent'],
    ['EXPLAIN (ANALYZE)', 'EXPLAIN (ANALYZE, BUFFERS) UPDATE t SET a = 1 WHERE 1 = 1', 'update', 'always-true'],
    ['PREPARE', 'PREPARE p AS DELETE FROM t', 'delete', 'absent'],
    ['PREPARE with params', 'PREPARE p (int) AS UPDATE t SET a = $1', 'update', 'absent'],
    ['CREATE RULE', 'CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u', 'delete', 'absent'],
    ['COPY (query)', 'COPY (DELETE FROM t RETURNING *) TO STDOUT', 'delete', 'absent'],
    ['SQL function body', "CREATE FUNCTION f() RETURNS void LANGUAGE sql AS 'DELETE FROM t'", 'delete', 'absent'],
    ['BEGIN ATOMIC body', 'CREATE FUNCTION f() RETURNS int BEGIN ATOMIC DELETE FROM t; SELECT 1; END', 'delete', 'absent'],
  ];
  it.each(nestedCases)('%s: %s', (_label, sql, kind, where) => {
    const facts = pg(sql);
    const inner = facts.find((f) => f.nested && f.kind === kind);
    expect(inner, JSON.stringify(facts)).toBeDefined();
    expect(inner!.where).toBe(where);
    expect(inner!.index).toBe(0);
    expect(facts[0]!.nested).toBe(false);
    // the outer statement carries the inner one's write
    expect(facts[0]!.effects).toContain('write');
  });

  it('nests the query of CREATE TABLE AS and SELECT INTO style statements', () => {
    const facts = pg('CREATE TABLE n AS SELECT * FROM t');
    expect(facts.map((f) => [f.kind, f.nested])).toEqual([['create', false], ['select', true]]);
    expect(facts[0]!.tables).toEqual(expect.arrayContaining([{ name: 'n', op: 'ddl' }, { name: 't', op: 'read' }]));
  });

  it('keeps the index of the top-level statement on nested facts', () => {
    const facts = pg('SELECT 1; WITH x AS (DELETE FROM t RETURNING 1) SELECT * FROM x');
    expect(facts.map((f) => [f.kind, f.index, f.nested])).toEqual([
      ['select', 0, false], ['select', 1, false], ['delete', 1, true],
    ]);
  });

  it('does not nest EXPLAIN without ANALYZE or with ANALYZE off', () => {
    expect(pg('EXPLAIN DELETE FROM t')).toHaveLength(1);
    expect(pg('EXPLAIN (ANALYZE false) DELETE FROM t')).toHaveLength(1);
    expect(pg('EXPLAIN (ANALYZE off) DELETE FROM t')).toHaveLength(1);
  });

  it('marks ALTER … DROP COLUMN / CONSTRAINT with drops', () => {
    expect(one('ALTER TABLE t DROP COLUMN c').drops).toBe(true);
    expect(one('ALTER TABLE t ADD COLUMN d int, DROP CONSTRAINT c').drops).toBe(true);
    expect(one('ALTER TABLE t ADD COLUMN d int').drops).toBeUndefined();
    // constraints dropped in disguise (issue 12, class 2)
    expect(one('ALTER TABLE t ALTER COLUMN d DROP DEFAULT').drops).toBe(true);
    expect(one('ALTER TABLE t ALTER COLUMN d DROP NOT NULL').drops).toBe(true);
    expect(one('ALTER TABLE t ALTER COLUMN d DROP IDENTITY IF EXISTS').drops).toBe(true);
    expect(one('ALTER TABLE t ALTER COLUMN d DROP EXPRESSION').drops).toBe(true);
    expect(one("ALTER TABLE t ALTER COLUMN d SET DEFAULT 'x'").drops).toBeUndefined();
  });
});

describe('unparsed, empty and fail-closed input', () => {
  it('returns one unparsed fact with the parser error', () => {
    const facts = pg('selec 1');
    expect(facts).toHaveLength(1);
    expect(facts[0]).toMatchObject({ kind: 'unparsed', effects: [], tables: [] });
    expect(facts[0]!.error).toMatch(/syntax error/);
  });

  it('treats a half-valid multi-statement text as unparsed as a whole', () => {
    const facts = pg('SELECT 1; DELETE FROM');
    expect(facts.map((f) => f.kind)).toEqual(['unparsed']);
  });

  it.each(['', '   ', '\n\t', '-- only a comment', '/* block */', ';', ' ; ; '])('empty text %j gives no facts', (sql) => {
    expect(pg(sql)).toEqual([]);
  });

  it('refuses NUL bytes (the C parser would stop reading there)', () => {
    expect(pg('SELECT 1\0; DELETE FROM t')[0]!.kind).toBe('unparsed');
  });

  it('refuses backslashes when standard_conforming_strings is off', () => {
    // with scs off the server ends the literal early and runs the DELETE
    const sql = "SELECT '\\''; DELETE FROM t; --'";
    expect(pg(sql).map((f) => f.kind)).toEqual(['select']);
    expect(pg(sql, { standardConformingStrings: false })[0]!.kind).toBe('unparsed');
    expect(pg('SELECT 1', { standardConformingStrings: false })[0]!.kind).toBe('select');
  });

  it('does not read keywords inside literals, identifiers or comments', () => {
    expect(pg("SELECT 'DELETE FROM t'").map((f) => f.kind)).toEqual(['select']);
    expect(pg('SELECT 1 -- DROP TABLE t').map((f) => f.kind)).toEqual(['select']);
    expect(pg('SELECT $$; DROP TABLE t; $$').map((f) => f.kind)).toEqual(['select']);
    expect(pg('SELECT 1 AS "DELETE FROM t"').map((f) => f.kind)).toEqual(['select']);
  });

  it('reads an unknown dialect as unparsed (fail closed)', () => {
    expect(analyze('oracle' as never, 'SELECT 1')).toMatchObject([{ kind: 'unparsed' }]);
  });
});

describe('cost', () => {
  it('logs the time of one analyze() for a short OLTP statement and a ~5 KB ORM query', () => {
    const oltp = 'SELECT id, name, email FROM users WHERE id = $1';
    const cols = Array.from({ length: 90 }, (_, i) => `"t${i % 6}"."column_name_${i}" AS "t${i % 6}__column_name_${i}"`).join(', ');
    const joins = Array.from({ length: 5 }, (_, i) => `LEFT OUTER JOIN "app"."table_${i + 1}" AS "t${i + 1}" ON "t${i + 1}"."parent_id" = "t${i}"."id"`).join(' ');
    const orm = `SELECT ${cols} FROM "app"."table_0" AS "t0" ${joins} WHERE "t0"."tenant_id" = $1 AND "t0"."status" IN ($2, $3, $4) AND "t1"."created_at" > $5 ORDER BY "t0"."created_at" DESC LIMIT 50 OFFSET $6`;
    expect(orm.length).toBeGreaterThan(4000);
    const time = (sql: string): number => {
      // the WASM parser gets several times faster once V8 tiers it up: warm up for a while first
      const until = Date.now() + 400;
      while (Date.now() < until) pg(sql);
      const n = 500;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) pg(sql);
      return Number(process.hrtime.bigint() - t0) / n / 1e3;
    };
    const a = time(oltp);
    const b = time(orm);
    console.log(`analyze(): OLTP ${oltp.length} B ${a.toFixed(1)} µs; ORM ${orm.length} B ${b.toFixed(1)} µs`);
    expect(one(orm).tables).toHaveLength(6);
  });
});
