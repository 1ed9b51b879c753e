// PostgreSQL cases of issue 12 (guardrails by effect): ordinary SQL that must pass, and writes whose condition never narrows the target.
import type { AccessLevel } from '../../src/rules/types.js';
import type { BypassCase, Proof } from './bypass-case.js';

const DATA: Proof = { kind: 'data' };
const W: AccessLevel = 'write';
const R: AccessLevel = 'read';
const block = (access: AccessLevel, rule: string, sql: string, does: string, proof: Proof): BypassCase => ({ sql, access, expect: 'block', rule, does, proof });
const allow = (access: AccessLevel, sql: string, does: string): BypassCase => ({ sql, access, expect: 'allow', does });

const overBlocks: BypassCase[] = [
  allow(R, 'SET ROLE NONE', 'returns to the login role, like RESET ROLE'),
  allow(R, 'SET LOCAL ROLE none', 'returns to the login role for the transaction'),
  allow(R, "SELECT set_config('role', 'none', false)", 'set_config spelling of SET ROLE NONE'),
  allow(W, 'EXPLAIN (ANALYZE true, ANALYZE false) DELETE FROM t', 'the last ANALYZE option wins: only plans the DELETE'),
  allow(W, "MERGE INTO t USING (SELECT 1 AS id) s ON true WHEN MATCHED AND t.id = s.id THEN UPDATE SET v = 'merged'", 'the WHEN condition scopes the MERGE'),
  allow(W, "MERGE INTO t USING (SELECT 2 AS id) s ON true WHEN MATCHED AND t.id = s.id THEN DELETE WHEN NOT MATCHED THEN DO NOTHING", 'a scoped MERGE DELETE'),
  allow(W, "UPDATE t SET v = 'x' FROM accounts a WHERE t.id = a.id AND a.owner = 'ann'", 'UPDATE … FROM joined on the key'),
  allow(W, 'DELETE FROM t WHERE 1 = 0', 'a constant-false WHERE touches nothing'),
  allow(W, 'DELETE FROM t WHERE id IN (SELECT id FROM accounts WHERE owner = \'nobody\')', 'an IN set narrowed by its own WHERE'),
  allow(W, 'DELETE FROM t WHERE id = (SELECT max(id) FROM accounts)', 'a scalar subquery is one value'),
  allow(W, "DELETE FROM t USING t t2 WHERE t.id = t2.id AND t2.v = 'nothing'", 'a self-join narrowed on the second alias'),
  allow(W, "MERGE INTO t USING (SELECT id FROM t WHERE v = 'nothing') s ON t.id = s.id WHEN MATCHED THEN DELETE", 'a self-MERGE whose source is narrowed'),
];

const unscoped: BypassCase[] = [
  block(W, 'unscoped-write', 'DELETE FROM t WHERE now() IS NOT NULL', 'deletes every row: a function of no row', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE current_user IS NOT NULL", 'deletes every row: the session user', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE EXISTS (SELECT 1 FROM accounts)', 'deletes every row: an uncorrelated EXISTS', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE 'ann' IN (SELECT owner FROM accounts)", 'deletes every row: an uncorrelated IN', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = 1 OR EXISTS (SELECT 1 FROM accounts)', 'deletes every row: one unscoped disjunct', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE length('abc') = 3", 'deletes every row: a built-in function of a constant', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE 'abc' ~ '^a'", 'deletes every row: a regex on constants', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE id = id + 0", 'rewrites every row: the row compared with itself', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE t.id = \"id\"::int", 'rewrites every row: quoted, cast self-comparison', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' FROM accounts a WHERE a.id = 1", 'rewrites every row of t: only the other table is filtered', DATA),
  block(W, 'unscoped-write', "MERGE INTO t USING (SELECT 1 AS id) s ON true WHEN MATCHED AND s.id = 1 THEN DELETE", 'deletes every row: the WHEN condition is about the source only', DATA),
  block(W, 'unscoped-write', 'MERGE INTO t USING (SELECT 1 AS id) s ON s.id = 1 WHEN MATCHED THEN DELETE', 'deletes every row: ON names no target column', DATA),
  block(W, 'unscoped-write', 'EXPLAIN (ANALYZE false, ANALYZE true) DELETE FROM t', 'the last ANALYZE option wins: runs the DELETE', DATA),
  // family (e) and (a) by mechanism: sets holding every row's own value, and tests whose every side is the row
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id IN (SELECT id FROM t)', 'deletes every row: the IN set is every id of the table', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = ANY (SELECT x.id FROM (SELECT id FROM t) x)', 'deletes every row: the same set through a derived table', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id NOT IN (SELECT 1 WHERE false)', 'deletes every row: NOT IN an empty set', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id > ALL (SELECT id FROM accounts LIMIT 0)', 'deletes every row: ALL over an empty set', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE v LIKE v", 'rewrites every row with a v: LIKE of the row with itself', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE id = ANY (ARRAY[id, 0])", 'rewrites every row: the array holds the row\'s own id', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE id BETWEEN id AND id", 'rewrites every row: both bounds are the row', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = (SELECT max(t2.id) FROM t t2 WHERE t2.id = t.id)', 'deletes every row: a subquery correlated to the row', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t USING t t2 WHERE t.id = t2.id', 'deletes every row: a self-join on the key', DATA),
  block(W, 'unscoped-write', 'MERGE INTO t USING t s ON t.id = s.id WHEN MATCHED THEN DELETE', 'deletes every row: MERGE joining the table to itself', DATA),
  block(W, 'unscoped-write', "MERGE INTO t USING (SELECT id FROM t) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = 'z'", 'rewrites every row: the source is every row of the target', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id IN (WITH c AS (SELECT id FROM t) SELECT id FROM c UNION SELECT 0)', 'deletes every row: every id through a CTE and a UNION', DATA),
];

const notNullGone: Proof = { kind: 'then', check: "SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'owner'" };

/** Drops and privilege changes in disguise (postgres-facts.ts AT_Drop*, effect-catalog.ts). */
const disguised: BypassCase[] = [
  block(W, 'alter-drop', 'ALTER TABLE accounts ALTER COLUMN owner DROP NOT NULL', 'drops the NOT NULL constraint', notNullGone),
  block(W, 'privilege-changes', "UPDATE pg_catalog.pg_attribute SET attnotnull = false WHERE attrelid = 'accounts'::regclass AND attname = 'owner'", 'drops a constraint by editing the catalog', notNullGone),
  block(W, 'privilege-changes', "UPDATE pg_attribute SET attnotnull = false WHERE attrelid = 'accounts'::regclass AND attname = 'owner'", 'the same through the unqualified catalog name', notNullGone),
];

const then = (check: string): Proof => ({ kind: 'then', check });
const SCHEMA: Proof = { kind: 'schema' };

/** Effects carried by options and bindings (effect-pg-options.ts), tautologies and exact folding (pg-where-scope.ts, exact-number.ts). */
const byEffect: BypassCase[] = [
  block(W, 'privilege-changes', 'ALTER DATABASE dbw_bypass SET search_path = dbw_evil, public', 'every later session resolves names through a schema the writer picks',
    then("select exists (select 1 from pg_db_role_setting where setconfig::text like '%dbw_evil%')")),
  block(W, 'server-admin', 'ALTER DATABASE dbw_bypass SET session_replication_role = replica', 'every later session runs without triggers and foreign-key checks',
    then("select exists (select 1 from pg_db_role_setting where setconfig::text like '%session_replication_role%')")),
  block(W, 'privilege-changes', "CREATE FUNCTION dbw_def() RETURNS text LANGUAGE sql SECURITY DEFINER AS 'select current_user::text'", 'code that runs as its privileged owner for any caller',
    then("select prosecdef from pg_proc where proname = 'dbw_def'")),
  block(W, 'privilege-changes', "CREATE FUNCTION dbw_asrole() RETURNS text LANGUAGE sql SET role = 'dbw_rw' AS 'select current_user::text'", 'a function that switches role when called',
    then("select dbw_asrole() = 'dbw_rw'")),
  block(W, 'privilege-changes', 'ALTER TABLE rls_t DISABLE ROW LEVEL SECURITY', "other roles' rows become visible", then("select not relrowsecurity from pg_class where relname = 'rls_t'")),
  block(W, 'privilege-changes', 'ALTER TABLE rls_t NO FORCE ROW LEVEL SECURITY', 'the owner reads past the policies again', then("select not relforcerowsecurity from pg_class where relname = 'rls_t'")),
  block(W, 'privilege-changes', 'CREATE POLICY dbw_all ON rls_t USING (true)', 'a permissive policy shows every row to everyone', SCHEMA),
  block(W, 'privilege-changes', 'ALTER POLICY own_rows ON rls_t USING (true)', 'the policy now shows every row', then("select pg_get_expr(polqual, polrelid) = 'true' from pg_policy where polname = 'own_rows'")),
  allow(W, "CREATE POLICY dbw_narrow ON rls_t AS RESTRICTIVE USING (owner = current_user)", 'a restrictive policy only narrows'),
  block(W, 'privilege-changes', 'ALTER ROLE dbw_ro RENAME TO dbw_ro_renamed', 'grants and logins naming the role now name nothing', { kind: 'privileges' }),
  block(W, 'alter-drop', "ALTER TABLE accounts ALTER COLUMN note TYPE text USING 'gone'", 'replaces every value of the column', DATA),
  allow(W, 'ALTER TABLE accounts ALTER COLUMN note TYPE varchar(40) USING note::varchar(40)', 'a type change that keeps the values'),
  block(W, 'unscoped-write', "INSERT INTO t (id, v) SELECT id, 'overwritten' FROM t ON CONFLICT (id) DO UPDATE SET v = excluded.v", 'rewrites every row: an upsert fed from its own table', DATA),
  allow(W, "INSERT INTO t (id, v) SELECT id, 'x' FROM t WHERE id = 1 ON CONFLICT (id) DO UPDATE SET v = excluded.v", 'an upsert fed from one row of its own table'),
  block(W, 'server-admin', 'CREATE EXTENSION pg_surgery', 'functions that kill or freeze tuples below every check', SCHEMA),
  block(W, 'file-access', 'CREATE EXTENSION adminpack', 'functions that write and delete server files', SCHEMA),
  block(W, 'dynamic-sql', 'CREATE EXTENSION refint', 'trigger functions that run SQL built from text', SCHEMA),
  block(W, 'file-access', "CREATE EXTENSION file_fdw; CREATE SERVER dbw_files FOREIGN DATA WRAPPER file_fdw; CREATE FOREIGN TABLE dbw_pw (line text) SERVER dbw_files OPTIONS (filename '/etc/passwd'); SELECT * FROM dbw_pw",
    'reads a server file through a foreign table', { kind: 'returns', match: /root:/ }),
  block(W, 'file-access', "CREATE OPERATOR @@@ (RIGHTARG = text, FUNCTION = pg_read_file); SELECT @@@ '/etc/passwd'", 'an operator bound to pg_read_file reads a server file', { kind: 'returns', match: /root:/ }),
  block(W, 'dynamic-sql', "SELECT ts_rewrite('a'::tsquery, 'SELECT ''a''::tsquery, setval(''s'', 99)::text::tsquery')", 'runs the SQL text it is given: the sequence moves', DATA),
  block(W, 'dynamic-sql', "CREATE EXTENSION tablefunc; SELECT * FROM crosstab('select 1::text, 1::text, setval(''s'', 77)::text') AS ct(r text, c text)", 'crosstab runs its source query text', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE v IS NULL OR v IS NOT NULL', 'deletes every row: a condition and its negation', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id < 3 OR id >= 3', 'deletes every row: x < k OR x >= k', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE (id = 1) IS NOT NULL', 'deletes every row: a null test of a condition', DATA),
  // a NOT NULL column's null test: offline (no catalog) not proven scoped; live, the catalog shows the column NOT NULL
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id IS NOT NULL', 'deletes every row: a primary key column is never null', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE NOT (t.id IS NULL)', 'deletes every row: NOT (pk IS NULL)', DATA),
  block(W, 'unscoped-write', 'UPDATE accounts SET note = NULL WHERE owner IS DISTINCT FROM NULL', 'updates every row: owner is declared NOT NULL', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE v LIKE '%'", "deletes every non-null row: LIKE '%'", DATA),
  block(W, 'unscoped-write', 'DELETE FROM accounts WHERE (balance > 0) IN (true, false)', 'deletes every row: a boolean is true or false', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE 0.1 + 0.2 = 0.3', 'deletes every row: exact decimals are equal on the server', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE 'a  '::char(3) = 'a'", 'deletes every row: char(n) ignores trailing spaces', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE 'abcd'::varchar(2) = 'ab'", 'deletes every row: an explicit varchar(n) cast cuts', DATA),
  allow(W, 'DELETE FROM t WHERE 9007199254740993 = 9007199254740992', 'two different bigints: touches no row'),
  allow(W, "DELETE FROM t WHERE v LIKE 'row 1%'", 'a LIKE with a prefix is scoped'),
  allow(W, 'DELETE FROM t WHERE id = 1 OR id = 2', 'two scoped disjuncts'),
];

/** Doors found by the doors2 hunt: conditions that read the row but answer the same for every row. */
const doors2: BypassCase[] = [
  block(W, 'unscoped-write', 'DELETE FROM t WHERE CASE WHEN id > 0 THEN true ELSE true END', 'deletes every row: both branches are true', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'x' WHERE CASE v WHEN 'a' THEN true ELSE true END", 'rewrites every row: a simple CASE with equal branches', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE id <> ALL('{}')", 'deletes every row: ALL over an empty array is true', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id <> ALL(ARRAY[]::int[])', 'deletes every row: ALL over an empty ARRAY[]', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE tableoid > 0', 'deletes every row: tableoid is the same in every row', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'x' WHERE t.tableoid = 't'::regclass", 'rewrites every row: the row is in its own table', DATA),
  allow(W, "DELETE FROM t WHERE tableoid = 't'::regclass AND id = 1", 'tableoid beside a real condition'),
  allow(W, "DELETE FROM t WHERE CASE WHEN id > 1 THEN true ELSE false END AND v = 'nothing'", 'a CASE whose branches differ, narrowed'),
  allow(W, 'DELETE FROM t WHERE id = ANY(ARRAY[1, 2])', 'ANY over a real array'),
  // null tests that wrap the column or the row
  block(W, 'unscoped-write', "DELETE FROM t WHERE coalesce(v, 'x') IS NOT NULL", 'deletes every row: COALESCE with a constant is never NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE to_jsonb(t) IS NOT NULL', 'deletes every row: a function of the row value is never NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE t::text IS NOT NULL', 'deletes every row: the row cast to text', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id::text IS NOT NULL', 'deletes every row: a cast of the primary key is never NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM accounts WHERE ROW(accounts.*) IS NOT NULL',
    'deletes every row whose columns are all set (a table of NOT NULL columns loses every row)', DATA),
  allow(W, "DELETE FROM t WHERE v::text IS NULL AND id = 1", 'a null test through a cast, narrowed'),
  // ARRAY(subquery) under ANY / ALL is the IN / ALL subquery spelled as an array
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = ANY(ARRAY(SELECT id FROM t))', 'deletes every row: every id of the table, as an array', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id <> ALL(ARRAY(SELECT 1 WHERE false))', 'deletes every row: ALL over an empty array subquery', DATA),
  allow(W, "DELETE FROM t WHERE id = ANY(ARRAY(SELECT id FROM t WHERE v = 'nothing'))", 'an array subquery narrowed by its own WHERE'),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE (id, v) IN (SELECT id, v FROM t)', 'deletes every row whose columns are set: a row IN its own table', DATA),
  allow(W, "DELETE FROM t WHERE (id, v) IN (SELECT id, v FROM t WHERE v = 'nothing')", 'a row IN a narrowed set of its own table'),
];

/**
 * Rows leaving a table without a DELETE, and triggers or rules switched off (postgres-facts.ts DROPS_IN_DISGUISE and
 * RuleStmt): each makes later statements lose data or skip what protected it.
 */
const quietLosses: BypassCase[] = [
  block(W, 'alter-drop', 'CREATE TABLE dbw_pp (id int) PARTITION BY LIST (id); CREATE TABLE dbw_pp1 PARTITION OF dbw_pp FOR VALUES IN (1); INSERT INTO dbw_pp VALUES (1); ALTER TABLE dbw_pp DETACH PARTITION dbw_pp1',
    'every row of the partition leaves the table, no DELETE and no row count', then('select count(*) = 0 from dbw_pp')),
  block(W, 'alter-drop', 'CREATE TABLE dbw_par (id int); CREATE TABLE dbw_chi () INHERITS (dbw_par); INSERT INTO dbw_chi VALUES (1); ALTER TABLE dbw_chi NO INHERIT dbw_par',
    "the child's rows vanish from the parent", then('select count(*) = 0 from dbw_par')),
  block(W, 'alter-drop', 'CREATE TRIGGER dbw_tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger(); ALTER TABLE t DISABLE TRIGGER ALL',
    "the table's triggers (and foreign-key checks) stop firing", then("select tgenabled = 'D' from pg_trigger where tgname = 'dbw_tr'")),
  block(W, 'alter-drop', 'CREATE TRIGGER dbw_tr BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger(); ALTER TABLE t ENABLE REPLICA TRIGGER dbw_tr',
    'the trigger fires only in replica sessions: never for ordinary ones', then("select tgenabled = 'R' from pg_trigger where tgname = 'dbw_tr'")),
  block(W, 'alter-drop', "CREATE RULE dbw_swallow AS ON INSERT TO t DO INSTEAD NOTHING; INSERT INTO t (id, v) VALUES (999, 'lost')",
    'every later INSERT into the table silently does nothing', then('select not exists (select 1 from t where id = 999)')),
  allow(W, 'CREATE RULE dbw_also AS ON INSERT TO t DO ALSO NOTHING', 'an ALSO rule with no action changes nothing'),
  // null tests through functions and operators (pg-where-scope.ts nullness): the column's own test, or always true
  block(W, 'unscoped-write', 'DELETE FROM accounts WHERE lower(owner) IS NOT NULL', 'deletes every row: owner is NOT NULL and lower() is NULL only for NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id + 0 IS NOT NULL', 'deletes every row: arithmetic on the primary key', DATA),
  block(W, 'unscoped-write', 'UPDATE accounts SET note = NULL WHERE NOT (length(owner || note) IS NULL) OR true IS NOT NULL', 'updates every row: one disjunct is a constant', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE concat(v) IS NOT NULL', 'deletes every row: concat() is never NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE (v || NULL) IS NULL', 'deletes every row: a NULL operand makes the value NULL', DATA),
  allow(W, "DELETE FROM t WHERE (to_jsonb(v) ->> 'k') IS NOT NULL", 'a JSON key test narrows by value'),
  allow(W, 'ALTER TABLE t ENABLE TRIGGER ALL', 'turning triggers on'),
];

/** Doors found by the doors3 probe: arithmetic that reads the row but answers the same, bounds outside a value's range. */
const doors3: BypassCase[] = [
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id - id = 0', 'deletes every row: x - x is 0', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id * 0 = 0', 'deletes every row: x * 0 is 0', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE abs(id) >= 0', 'deletes every row: abs() is never negative', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE -1 < length(v)', 'deletes every row with a value: length() is never negative', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE ctid >= '(0,0)'", 'deletes every row: no ctid is below (0,1)', DATA),
  allow(W, 'DELETE FROM t WHERE length(v) > 30', 'length() compared with a bound in its range'),
  block(W, 'unscoped-write', "DELETE FROM t WHERE v LIKE concat('%', '')", "deletes every row with a value: concat() of constants is the pattern '%'", DATA),
  allow(W, 'DELETE FROM t WHERE id % 2 = 0', 'a remainder narrows'),
];

export const POSTGRES_EFFECT_CASES: BypassCase[] = [...overBlocks, ...unscoped, ...disguised, ...byEffect, ...doors2, ...quietLosses, ...doors3];
