// MySQL cases of issue 12 (guardrails by effect): ordinary syntax that must pass, and writes whose WHERE never narrows the target.
import type { AccessLevel } from '../../src/rules/types.js';
import type { BypassCase, Proof } from './bypass-case.js';
import { MY_BYPASS_DB } from './mysql-fixture.js';

const DATA: Proof = { kind: 'data' };
const W: AccessLevel = 'write';
const R: AccessLevel = 'read';
const block = (access: AccessLevel, rule: string, sql: string, does: string, proof: Proof): BypassCase => ({ sql, access, expect: 'block', rule, does, proof });
const allow = (access: AccessLevel, sql: string, does: string): BypassCase => ({ sql, access, expect: 'allow', does });

/** MySQL syntax sqlparser-rs lacks, read through mysql-rewrites.ts (used to be refused as unparsed). */
const syntax: BypassCase[] = [
  allow(R, 'SELECT 7 MOD 3, MOD(7, 3)', 'MOD as operator and as function'),
  allow(R, 'SELECT !0, !(1 = 2), NOT 1', 'the ! operator'),
  allow(R, 'SELECT @dbw_x := 5', ':= in a SELECT'),
  allow(R, 'SET @dbw_x := 5', ':= in a SET'),
  allow(R, "SELECT 'Robert' SOUNDS LIKE 'Rupert'", 'SOUNDS LIKE'),
  allow(R, 'SELECT CHAR(77, 121 USING utf8mb4)', 'CHAR(… USING charset)'),
  allow(R, "SELECT CAST('test plain returns' AS CHAR(60) CHARACTER SET utf8mb4) COLLATE utf8mb4_bin AS anon_1", "SQLAlchemy's CAST probe on connect"),
  allow(R, "SELECT CAST('test collated returns' AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin AS anon_1", "SQLAlchemy's collation probe"),
  allow(R, 'SELECT id FROM t WHERE id = 1 INTO @dbw_v', 'SELECT … INTO @v at the end'),
  allow(R, 'SELECT id, v FROM t WHERE id = 2 INTO @dbw_a, @dbw_b', 'SELECT … INTO two variables at the end'),
  allow(W, 'SELECT NEXT VALUE FOR seq_t', 'MariaDB sequence, standard spelling'),
  allow(W, 'SELECT PREVIOUS VALUE FOR seq_t', 'the last value of a sequence in this session'),
  allow(R, "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci,  @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483",
    "Rails' mysql2 adapter on every connect"),
  allow(R, "SET NAMES utf8mb4,  @@SESSION.sql_mode = CONCAT(REPLACE(REPLACE(REPLACE(@@sql_mode, 'STRICT_TRANS_TABLES', ''), 'STRICT_ALL_TABLES', ''), 'TRADITIONAL', ''), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483",
    "Rails' mysql2 adapter with strict: false"),
  allow(R, 'SET @dbw_a = 1, CHARACTER SET utf8mb4', 'a character set among other assignments'),
  allow(W, "UPDATE t SET v = 'x' WHERE id = 1 || id = 2", 'a scoped WHERE with || (OR)'),
  allow(W, "UPDATE t SET v = 'x' WHERE id DIV 2 = 1", 'a scoped WHERE with DIV'),
  allow(W, "UPDATE t SET v = 'x' WHERE id MOD 2 = 0", 'a scoped WHERE with MOD'),
  allow(W, "UPDATE t SET v = 'x' WHERE !(id <> 3)", 'a scoped WHERE with !'),
  allow(W, "UPDATE t, accounts SET t.v = accounts.owner WHERE t.id = accounts.id AND accounts.id = 2", 'a scoped comma-join UPDATE'),
  allow(W, "UPDATE t JOIN accounts USING (id) SET t.v = 'u' WHERE accounts.owner = 'cat'", 'scoped through USING and the other table'),
  allow(W, "DELETE t FROM t LEFT JOIN orders ON orders.account_id = t.id WHERE orders.id IS NULL AND t.id = 5", 'an anti-join DELETE narrowed on the target'),
  allow(W, 'CREATE TEMPORARY TABLE dbw_zf (a INT(5) UNSIGNED ZEROFILL NOT NULL)', 'ZEROFILL in DDL'),
  allow(W, "PREPARE dbw_s FROM 'SELECT id FROM t WHERE id = ?'", 'PREPARE from a literal the rules allow'),
  allow(W, "ALTER PROCEDURE dbw_p COMMENT 'renamed nothing'", 'ALTER PROCEDURE only changes characteristics'),
];

/** Writes with a WHERE that cannot narrow the written table: not proven scoped (mysql-where-scope.ts). */
const unscoped: BypassCase[] = [
  block(W, 'unscoped-write', 'DELETE FROM t WHERE 7 DIV 2 = 3', 'deletes every row: an integer division of constants, true', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE FLOOR(1.5) = 1', 'deletes every row: a built-in function of a constant', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE 'Robert' SOUNDS LIKE 'Rupert'", 'deletes every row: two names that sound alike', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE EXISTS (SELECT 1 FROM accounts)', 'deletes every row: an uncorrelated EXISTS', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE 'ann' IN (SELECT owner FROM accounts)", 'deletes every row: an uncorrelated IN', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE @@autocommit IS NOT NULL', 'deletes every row: a system variable', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE DATABASE() IS NOT NULL', 'deletes every row: a session function', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = 1 OR EXISTS (SELECT 1 FROM accounts)', 'deletes every row: one unscoped disjunct', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = 1 || CONCAT(1) = 1', 'deletes every row: a || of a constant expression', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE v = v", 'rewrites every non-null row: a self-comparison', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE t.id = `ID`", 'rewrites every row: a self-comparison spelled two ways', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE id < id + 1", 'rewrites every row: a comparison of the row with itself', DATA),
  block(W, 'unscoped-write', "UPDATE t, accounts SET t.v = 'z' WHERE accounts.id = 1", 'rewrites every row of t: only the other table is filtered', DATA),
  block(W, 'unscoped-write', "DELETE t FROM t JOIN accounts WHERE accounts.owner = 'ann'", 'deletes every row of t: the join has no key', DATA),
  block(W, 'unscoped-write', "DELETE t FROM t LEFT JOIN accounts ON t.id = accounts.id AND accounts.id = 1 WHERE 1 = 1 OR t.id = 1", 'deletes every row of t: an outer join filter does not narrow', DATA),
  // family (e) and (a) by mechanism: sets holding every row's own value, and tests whose every side is the row
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id IN (SELECT * FROM (SELECT id FROM t) x)', 'deletes every row: the IN set is every id of the table', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = ANY (SELECT x.id FROM (SELECT id FROM t) x)', 'deletes every row: = ANY over every id', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id NOT IN (SELECT 1 FROM dual WHERE false)', 'deletes every row: NOT IN an empty set', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id > ALL (SELECT id FROM accounts WHERE 1 = 0)', 'deletes every row: ALL over an empty set', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE v LIKE v", 'rewrites every row with a v: LIKE of the row with itself', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE id BETWEEN id AND id", 'rewrites every row: both bounds are the row', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'z' WHERE id IN (0, id)", 'rewrites every row: the IN list holds the row\'s own id', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = (SELECT t.id)', 'deletes every row: a subquery correlated to the row', DATA),
  allow(W, "DELETE FROM t WHERE id IN (SELECT id FROM accounts WHERE owner = 'nobody')", 'an IN set narrowed by its own WHERE'),
  allow(W, 'DELETE FROM t WHERE id = (SELECT MAX(id) FROM accounts)', 'a scalar subquery is one value'),
];

/** DROP in disguise: CREATE OR REPLACE drops what it replaces (mysql-facts.ts replaceIsDrop). */
const disguised: BypassCase[] = [
  block(W, 'drop', 'CREATE OR REPLACE VIEW v_t AS SELECT 1 AS one', 'drops the view v_t and makes another', { kind: 'schema' }),
];

/** Effects through options and shapes (effect-mysql.ts), the EXPLAIN optimiser, and exact folding/tautologies. */
const NOTXN = { txn: false } as const;
const byEffect: BypassCase[] = [
  block(W, 'unscoped-write', "INSERT INTO t (id, v) SELECT id, 'overwritten' FROM t ON DUPLICATE KEY UPDATE v = VALUES(v)", 'rewrites every row: an upsert fed from its own table', DATA),
  block(W, 'unscoped-write', "REPLACE INTO t (id, v) SELECT id, 'replaced' FROM t", 'deletes and rewrites every row: REPLACE fed from its own table', DATA),
  allow(W, "INSERT INTO t (id, v) SELECT id, 'x' FROM t WHERE id = 1 ON DUPLICATE KEY UPDATE v = VALUES(v)", 'an upsert fed from one row of its own table'),
  allow(W, "INSERT INTO t (id, v) VALUES (1, 'x') ON DUPLICATE KEY UPDATE v = VALUES(v)", 'an ordinary upsert'),
  { ...block(W, 'alter-drop', 'ALTER IGNORE TABLE t ADD UNIQUE (v(3))', 'deletes every row whose first three characters repeat', DATA), ...NOTXN },
  { ...block(W, 'alter-drop', "SET STATEMENT sql_mode='' FOR ALTER TABLE t MODIFY v CHAR(2)", 'cuts every value to two characters without an error', DATA), ...NOTXN },
  { ...block(W, 'alter-drop', "SET SESSION sql_mode = ''; ALTER TABLE t MODIFY v CHAR(2)", 'in a relaxed session the narrower type cuts every value', DATA), ...NOTXN },
  { ...allow(W, 'ALTER TABLE t MODIFY v VARCHAR(60)', 'a column change in a strict session (the server refuses values that do not fit)'), ...NOTXN },
  { ...block(W, 'privilege-changes', 'CREATE DEFINER=`root`@`localhost` VIEW dbw_def_v AS SELECT CURRENT_USER() AS u', 'a view that runs as root for whoever reads it', { kind: 'schema' }), ...NOTXN },
  block(W, 'dynamic-sql', `CALL sys.execute_prepared_stmt('DELETE FROM ${MY_BYPASS_DB}.t')`, 'a system procedure runs the DELETE given as text', DATA),
  block(R, 'read-only-writes', 'EXPLAIN SELECT * FROM (SELECT NEXTVAL(seq_t) AS x) d', 'the optimiser materialises the derived table: the sequence advances', { kind: 'changes', expr: 'SELECT next_not_cached_value FROM seq_t' }),
  block(R, 'file-access', "SHOW DATABASES WHERE (SELECT LOAD_FILE('/etc/passwd')) LIKE '%root:%'", "SHOW … WHERE evaluates its condition like a SELECT: lists databases only when the server file reads",
    { kind: 'returns', match: /dbw_bypass_my/ }),
  allow(R, "SHOW TABLES WHERE Tables_in_dbw_bypass_my LIKE 'acc%'", 'SHOW … WHERE on its own columns'),
  allow(R, 'EXPLAIN SELECT id FROM t WHERE id IN (1, 2)', 'a plain EXPLAIN without subqueries'),
  allow(R, 'EXPLAIN SELECT id FROM t WHERE id IN (SELECT id FROM accounts)', 'a plain EXPLAIN whose subquery only reads'),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE v IS NULL OR v IS NOT NULL', 'deletes every row: a condition and its negation', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id = 1 OR id <> 1', 'deletes every row: x = k OR x <> k', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE (id = 1) IS NOT NULL', 'deletes every row: a null test of a condition', DATA),
  // a NOT NULL column's null test: offline (no catalog) not proven scoped; live, the catalog shows the column NOT NULL
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id IS NOT NULL', 'deletes every row: a primary key column is never null', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE NOT ISNULL(id)', 'deletes every row: NOT ISNULL(pk)', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE NOT (t.id <=> NULL)', 'deletes every row: NOT (pk <=> NULL)', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE v LIKE '%'", "deletes every non-null row: LIKE '%'", DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE 0.1 + 0.2 = 0.3', 'deletes every row: exact decimals are equal on the server', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE 0x31 = '1'", 'deletes every row: a hex literal is the string 1', DATA),
  allow(W, "DELETE FROM t WHERE v LIKE 'row 1%'", 'a LIKE with a prefix is scoped'),
];

/**
 * Doors found by the doors2 hunt: a server-admin variable set for one statement, tables rebuilt in engines that
 * keep no rows, and conditions that read the row but answer the same for every row.
 */
const doors2: BypassCase[] = [
  // SET STATEMENT: the same session variables a plain SET changes, for one statement (the server refuses to change
  // sql_log_bin inside a transaction, so these run outside one)
  { ...block(W, 'server-admin', "SET STATEMENT sql_log_bin = 0 FOR SELECT IF(@@sql_log_bin = 0, 'binlog-off', 'binlog-on') AS s",
    'turns the binary log off for the statement: its writes never reach replicas or binlog audits', { kind: 'returns', match: /binlog-off/ }), ...NOTXN },
  { ...block(W, 'server-admin', "SET STATEMENT max_statement_time = 10, server_id = 4242 FOR SELECT IF(@@server_id = 4242, 'as-server-4242', 'own') AS s",
    "writes the statement's binlog events as another server's, behind a harmless first assignment", { kind: 'returns', match: /as-server-4242/ }), ...NOTXN },
  { ...allow(W, 'SET STATEMENT max_statement_time = 10 FOR SELECT id FROM t WHERE id = 1', 'a per-statement time limit'), ...NOTXN },
  // storage engines that do not keep the rows here (effect-mysql.ts, ROW_KEEPING_ENGINES is the allow-list)
  { ...block(W, 'alter-drop', 'ALTER TABLE t ENGINE = MRG_MyISAM', 'rebuilds t as a MERGE table over no tables: every row is gone', DATA), ...NOTXN },
  { ...block(W, 'alter-drop', "ALTER TABLE t COMMENT 'archived', ENGINE MRG_MyISAM", 'the same behind another table option, without =', DATA), ...NOTXN },
  { ...block(W, 'alter-drop', "ALTER TABLE t ENGINE = 'MRG_MyISAM'", 'the same with the engine name as a string', DATA), ...NOTXN },
  { ...allow(W, 'ALTER TABLE t ENGINE = InnoDB', 'rebuilds t in an engine that keeps its rows'), ...NOTXN },
  // null tests through functions and operators (mysql-where-scope.ts mysqlNullness)
  block(W, 'unscoped-write', 'DELETE FROM accounts WHERE LOWER(owner) IS NOT NULL', 'deletes every row: owner is NOT NULL and LOWER() is NULL only for NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE NOT ISNULL(id + 0)', 'deletes every row: arithmetic on the primary key', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE CONCAT_WS('', v) IS NOT NULL", 'deletes every row: CONCAT_WS skips NULLs and is never NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE CONCAT(v, NULL) IS NULL', 'deletes every row: CONCAT with a NULL is NULL', DATA),
  // rows leaving the table without a DELETE (mysql-fallback.ts: EXCHANGE beside DROP / TRUNCATE / DISCARD)
  { ...block(W, 'alter-drop', 'ALTER TABLE pt EXCHANGE PARTITION p0 WITH TABLE pt_x',
    "the partition's rows move out to another table (and that table's rows in), no DELETE and no row count",
    { kind: 'then', check: `SELECT COUNT(*) = 1 FROM ${MY_BYPASS_DB}.pt` }), ...NOTXN },
  // every branch the same constant
  block(W, 'unscoped-write', 'DELETE FROM t WHERE CASE WHEN id > 0 THEN 1 ELSE 1 END', 'deletes every row: both branches are true', DATA),
  block(W, 'unscoped-write', "UPDATE t SET v = 'x' WHERE IF(v IS NULL, 1, 1)", 'rewrites every row: IF with equal branches', DATA),
  // null tests of a cast (the column's own test) and of never-NULL calls
  block(W, 'unscoped-write', 'DELETE FROM t WHERE CAST(id AS CHAR) IS NOT NULL', 'deletes every row: a cast of the primary key is never NULL', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE COALESCE(v, 'x') IS NOT NULL", 'deletes every row: COALESCE with a constant is never NULL', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE IFNULL(v, 1) IS NOT NULL', 'deletes every row: IFNULL with a constant', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE NOT ISNULL(CONCAT_WS('', v))", 'deletes every row: CONCAT_WS skips NULLs', DATA),
  allow(W, "DELETE FROM t WHERE COALESCE(v, 'x') IS NULL", 'a null test that is never true touches nothing'),
  // a row of the table's own columns IN those columns of every row (through a derived table: MariaDB refuses the
  // written table directly in the subquery)
  block(W, 'unscoped-write', 'DELETE FROM t WHERE (id, v) IN (SELECT id, v FROM (SELECT id, v FROM t) x)', 'deletes every row whose columns are set', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE ROW(id, v) IN (SELECT * FROM (SELECT id, v FROM t) x)', 'the same with ROW() and a star over the derived table', DATA),
  allow(W, "DELETE FROM t WHERE (id, v) IN (SELECT id, v FROM (SELECT id, v FROM t WHERE v = 'nothing') x)", 'a row IN a narrowed set of its own table'),
  allow(W, "DELETE FROM t WHERE CASE WHEN id > 1 THEN 1 ELSE 0 END AND v = 'nothing'", 'a CASE whose branches differ, narrowed'),
  allow(W, "DELETE FROM t WHERE id NOT IN (SELECT id FROM accounts) AND v = 'nothing'", 'NOT IN over a real subquery, narrowed'),
];

/**
 * Doors found by the doors3 hunt: conditions true for every non-NULL value that the folder did not see (a REGEXP
 * that matches the empty string, COALESCE/IFNULL/IF with a constant answer, XOR of a comparison and its negation,
 * which the parser also groups wrongly), and DELETE … USING, whose FROM names aliases of USING's tables.
 */
const doors3: BypassCase[] = [
  block(W, 'unscoped-write', "DELETE FROM t WHERE v REGEXP ''", 'deletes every non-null row: an empty pattern matches anywhere', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE v RLIKE '^'", 'the same with an anchor alone', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE v REGEXP 'x*'", 'the same with a pattern that can match nothing', DATA),
  allow(W, "DELETE FROM t WHERE v REGEXP '^row 1$'", 'a REGEXP that narrows'),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE COALESCE(1, id)', 'deletes every row: COALESCE answers its first constant', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE IFNULL(NULL, 1)', 'deletes every row: IFNULL of NULL and a constant', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE IF(1, 1, id = 3)', 'deletes every row: IF with a constant condition', DATA),
  allow(W, 'DELETE FROM t WHERE COALESCE(id, 1) = 3', 'COALESCE of the column first narrows'),
  block(W, 'unscoped-write', "UPDATE t SET v = 'x' WHERE (id = 1) XOR (id <> 1)", 'rewrites every row: a comparison XOR its negation', DATA),
  block(W, 'unparsed', "UPDATE t SET v = 'x' WHERE id = 1 XOR id <> 1", 'the same without parentheses: the parser reads id = (1 XOR id) <> 1', DATA),
  block(W, 'unscoped-write', "DELETE FROM t WHERE id < 5 OR 5 <= id", 'deletes every row: a comparison and its mirrored negation', DATA),
  block(W, 'unscoped-write', 'DELETE FROM a USING t a, orders b WHERE a.id = b.account_id', 'deletes every row of t with an order: the join link is not a condition on t', DATA),
  allow(W, 'DELETE FROM a USING t a JOIN orders b ON a.id = b.account_id WHERE b.id = 10', 'a DELETE … USING narrowed through the joined table'),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id - id = 0', 'deletes every row: x - x is 0', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE id * 0 = 0', 'deletes every row: x * 0 is 0', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE ABS(id) >= 0', 'deletes every row: ABS() is never negative', DATA),
  block(W, 'unscoped-write', 'DELETE FROM t WHERE -1 < CHAR_LENGTH(v)', 'deletes every row with a value: CHAR_LENGTH() is never negative', DATA),
  allow(W, 'DELETE FROM t WHERE LENGTH(v) > 30', 'LENGTH() compared with a bound in its range'),
  block(W, 'unscoped-write', "DELETE FROM t WHERE v LIKE CONCAT('%', '')", "deletes every row with a value: CONCAT of constants is the pattern '%'", DATA),
];

export const MYSQL_EFFECT_CASES: BypassCase[] = [...syntax, ...unscoped, ...disguised, ...byEffect, ...doors2, ...doors3];
