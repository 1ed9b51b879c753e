// The shipped rule sets against the statements they exist for: what must be blocked, what must pass.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SHIPPED_RULES_DIR, checkSql } from '../../../src/rules/check.js';
import { loadRuleSets } from '../../../src/rules/load.js';
import type { AccessLevel } from '../../../src/rules/types.js';

const { rulesets, errors } = loadRuleSets(SHIPPED_RULES_DIR);
const safe = [rulesets.get('safe-defaults')!];
const both = [...rulesets.values()];

const check = (sql: string, access: AccessLevel = 'write', sets = safe) =>
  checkSql({ sql, dialect: 'postgres', access, target: 'app', groups: [], rulesets: sets });

describe('shipped rule files', () => {
  it('load without errors', () => {
    expect(errors).toEqual([]);
    expect([...rulesets.keys()].sort()).toEqual(['pii-masking', 'safe-defaults']);
  });
});

describe('safe-defaults blocks', () => {
  const cases: Array<[string, string, AccessLevel?]> = [
    ['DELETE FROM t', 'unscoped-write'],
    ['/* c */ DELETE FROM t', 'unscoped-write'],
    ['delete from t;', 'unscoped-write'],
    ['SELECT 1; DELETE FROM t', 'unscoped-write'],
    ['WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x', 'unscoped-write'],
    ['DELETE FROM t WHERE 1=1', 'unscoped-write'],
    ["DELETE FROM t WHERE 'a' = 'a'", 'unscoped-write'],
    ['UPDATE t SET a=1 WHERE true OR id=5', 'unscoped-write'],
    ['UPDATE t SET a=1 WHERE id=id', 'unscoped-write'],
    ['UPDATE t SET a = 1', 'unscoped-write'],
    ['MERGE INTO t USING s ON true WHEN MATCHED THEN DELETE', 'unscoped-write'],
    ['EXPLAIN ANALYZE DELETE FROM t', 'unscoped-write'],
    ['PREPARE p AS DELETE FROM t', 'unscoped-write'],
    ['COPY (DELETE FROM t RETURNING *) TO STDOUT', 'unscoped-write'],
    ['CREATE RULE r AS ON INSERT TO t DO ALSO DELETE FROM u', 'unscoped-write'],
    ['DROP TABLE t', 'drop'],
    ['drop table if exists t cascade', 'drop'],
    ['DROP SCHEMA app CASCADE', 'drop'],
    ['DROP DATABASE app', 'drop'],
    ['SELECT 1; DROP TABLE t', 'drop'],
    ['TRUNCATE t', 'truncate'],
    ['TRUNCATE TABLE a, b RESTART IDENTITY', 'truncate'],
    ['ALTER TABLE t DROP COLUMN c', 'alter-drop'],
    ['ALTER TABLE t DROP CONSTRAINT t_pkey', 'alter-drop'],
    ['ALTER TABLE t ADD COLUMN x int, DROP COLUMN c', 'alter-drop'],
    ['GRANT ALL ON t TO x', 'privilege-changes'],
    ['REVOKE SELECT ON t FROM x', 'privilege-changes'],
    ['GRANT admin TO me', 'privilege-changes'],
    ['CREATE ROLE x SUPERUSER', 'privilege-changes'],
    ['ALTER ROLE me SUPERUSER', 'privilege-changes'],
    ['SET ROLE postgres', 'privilege-changes'],
    ['SET SESSION AUTHORIZATION postgres', 'privilege-changes'],
    ['ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO x', 'privilege-changes'],
    ["COPY t TO PROGRAM 'x'", 'file-access'],
    ["COPY t FROM '/etc/passwd'", 'file-access'],
    ["SELECT pg_read_file('/etc/passwd')", 'file-access'],
    ["SELECT lo_import('/etc/passwd')", 'file-access'],
    ['select pg_terminate_backend(1)', 'server-admin'],
    ['SELECT pg_cancel_backend(pid) FROM pg_stat_activity', 'server-admin'],
    ['SELECT pg_catalog.pg_reload_conf()', 'server-admin'],
    ["ALTER SYSTEM SET log_statement = 'none'", 'server-admin'],
    ["SELECT set_config('role', 'postgres', false)", 'server-admin'],
    ['SET session_replication_role = replica', 'server-admin'],
    ['CHECKPOINT', 'server-admin'],
    ["DO $$ BEGIN EXECUTE 'SELECT 1'; END $$", 'dynamic-sql'],
    ["DO LANGUAGE plpgsql $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", 'dynamic-sql'],
    ["CREATE FUNCTION f() RETURNS void LANGUAGE plpgsql AS $$ BEGIN EXECUTE 'x'; END $$", 'dynamic-sql'],
    ["SELECT dblink_exec('dbname=app', 'DROP TABLE t')", 'dynamic-sql'],
    ['selec 1', 'unparsed'],
    ['SELECT 1; DELET FROM t', 'unparsed'],
    ['INSERT INTO t VALUES (1)', 'read-only-writes', 'read'],
    ['UPDATE t SET a = 1 WHERE id = 1', 'read-only-writes', 'read'],
    ['select * from t for update', 'read-only-writes', 'read'],
    ["select nextval('s')", 'read-only-writes', 'read'],
    ['CREATE TABLE x (id int)', 'read-only-writes', 'read'],
    ['SELECT * INTO copy_t FROM t', 'read-only-writes', 'read'],
    ['EXPLAIN ANALYZE INSERT INTO t VALUES (1)', 'read-only-writes', 'read'],
    ['WITH x AS (INSERT INTO t VALUES (1) RETURNING *) SELECT * FROM x', 'read-only-writes', 'read'],
    ['COPY t FROM STDIN', 'read-only-writes', 'read'],
    ['CALL do_things()', 'read-only-writes', 'read'],
  ];
  it.each(cases)('%s → %s', (sql, rule, access = 'write') => {
    const r = check(sql, access);
    expect(r.action, JSON.stringify(r)).toBe('block');
    expect(r.rules.map((m) => m.id)).toContain(rule);
  });

  it('exempts break-glass admin grants from the mistake guards only; containment rules still block them', () => {
    for (const sql of ['DROP TABLE t', 'DELETE FROM t', 'TRUNCATE t']) expect(check(sql, 'admin').action, sql).toBe('allow');
    for (const sql of ['select pg_terminate_backend(1)', "DO $$ BEGIN EXECUTE 'SELECT 1'; END $$", 'GRANT ALL ON t TO public', "COPY t TO '/tmp/x'"]) {
      expect(check(sql, 'admin').action, sql).toBe('block');
    }
  });

  it('reports the deciding rule first and every match', () => {
    const r = check('SELECT 1; DELETE FROM t; DROP TABLE u', 'read');
    expect(r.rules[0]!.id).toBe('unscoped-write');
    expect(r.rules.map((m) => m.id).sort()).toEqual(['drop', 'read-only-writes', 'read-only-writes', 'unscoped-write']);
    expect(r.rules.find((m) => m.id === 'drop')!.statement).toBe(2);
  });
});

describe('safe-defaults allows', () => {
  const cases: Array<[string, AccessLevel?]> = [
    ['DELETE FROM t WHERE id = 5'],
    ['DELETE FROM orders\nWHERE customer_id = 42\n  AND created_at < now() - interval \'1 year\''],
    ["SELECT 'DELETE FROM t'", 'read'],
    ['SELECT 1 -- DROP TABLE t', 'read'],
    ['/* DROP TABLE t */ SELECT 1', 'read'],
    ['BEGIN', 'read'],
    ['COMMIT', 'read'],
    ['ROLLBACK', 'read'],
    ['START TRANSACTION ISOLATION LEVEL REPEATABLE READ', 'read'],
    ['SET search_path TO public', 'read'],
    ["SET application_name = 'psql'", 'read'],
    ['SET TRANSACTION READ ONLY', 'read'],
    ['RESET ALL', 'read'],
    ['RESET ROLE', 'read'],
    ['SHOW work_mem', 'read'],
    ['EXPLAIN SELECT 1', 'read'],
    ['EXPLAIN DELETE FROM t', 'read'],
    ['SELECT * FROM t WHERE x = $1', 'read'],
    ['SELECT count(*) FROM t JOIN u ON u.id = t.uid GROUP BY 1 ORDER BY 1 LIMIT 5', 'read'],
    ['WITH x AS (SELECT * FROM t) SELECT * FROM x', 'read'],
    ['INSERT INTO t VALUES (1)'],
    ['INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO UPDATE SET b = excluded.b'],
    ['UPDATE t SET a = 1 WHERE id = $1 RETURNING *'],
    ["SELECT nextval('s')"],
    ['select * from t for update'],
    ['CREATE TABLE x (id int)'],
    ['ALTER TABLE t ADD COLUMN c int'],
    ['CREATE INDEX CONCURRENTLY i ON t (a)'],
    ['COPY t TO STDOUT', 'read'],
    ['COPY t FROM STDIN'],
    ['PREPARE p AS SELECT * FROM t WHERE id = $1', 'read'],
    ['EXECUTE p(1)', 'read'],
    ['DEALLOCATE p', 'read'],
    ['DISCARD ALL', 'read'],
    ['LISTEN ch', 'read'],
    ["SELECT set_config('search_path', 'app', false)", 'read'],
    ['SELECT now(), current_user, version()', 'read'],
    ["CREATE FUNCTION add(a int, b int) RETURNS int LANGUAGE sql AS 'SELECT a + b'"],
  ];
  it.each(cases)('%s', (sql, access = 'write') => {
    const r = check(sql, access);
    expect(r.action, JSON.stringify(r.rules)).toBe('allow');
  });

  it('allows an empty text (EmptyQueryResponse)', () => {
    expect(check('', 'read')).toEqual({ action: 'allow', rules: [], statements: [] });
    expect(check('-- nothing', 'read').action).toBe('allow');
  });
});

describe("psql's catalog queries (captured with psql -E)", () => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/psql-15-catalog-queries.json', import.meta.url), 'utf8')) as {
    queries: Array<{ command: string; sql: string }>;
  };

  it('covers the usual meta-commands', () => {
    const commands = new Set(fixture.queries.map((q) => q.command));
    for (const c of ['\\d', '\\dt', '\\dn', '\\df', '\\l', '\\du', '\\d+ users']) expect(commands).toContain(c);
    expect(fixture.queries.length).toBeGreaterThan(30);
  });

  it.each(fixture.queries.map((q, i) => [`${q.command} #${i}`, q.sql]))('%s is allowed under access read', (_label, sql) => {
    const r = check(sql, 'read', both);
    expect(['allow', 'mask'], JSON.stringify(r.rules)).toContain(r.action);
    expect(r.statements.every((s) => s.kind === 'select'), JSON.stringify(r.statements.map((s) => s.kind))).toBe(true);
    expect(r.statements[0]!.tables.some((t) => t.name.startsWith('pg_catalog.'))).toBe(true);
  });
});

describe('pii-masking', () => {
  const pii = [rulesets.get('pii-masking')!];
  it.each([
    ['SELECT email FROM users', 'mask-email', 'email'],
    ['SELECT u.phone FROM app.users u', 'mask-phone', 'partial'],
    ['SELECT ssn, name FROM people', 'mask-national-id', 'redact'],
    ['SELECT * FROM payments', 'mask-email', 'email'],
    ['SELECT card_number FROM a JOIN b ON a.id = b.id', 'mask-card', 'partial'],
  ])('%s → %s', (sql, rule) => {
    const r = check(sql, 'read', pii);
    expect(r.action).toBe('mask');
    expect(r.rules.map((m) => m.id)).toContain(rule);
  });

  it('leaves other columns alone', () => {
    expect(check('SELECT id, name FROM users', 'read', pii).action).toBe('allow');
  });

  it('is overridden by a block in safe-defaults', () => {
    const r = check('SELECT email FROM users; DROP TABLE users', 'read', both);
    expect(r.action).toBe('block');
    expect(r.rules.map((m) => m.action)).toContain('mask');
  });
});
