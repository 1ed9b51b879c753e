// MySQL / MariaDB guardrail-bypass cases against the shipped rules (rules/): what each text does, and what the broker decides.
// Fixture (mysql-fixture.ts): database dbw_bypass_my with tables t(id, v), accounts(id, owner, balance, note), notes(body),
// orders(id, account_id, total; index orders_account) and view v_t; account dbw_bypass_u0 exists for privilege cases.
// The local server is MariaDB 10.11.19 (version number 101119): /*!NNNNN … */ runs when NNNNN ≤ 101119.
import type { AccessLevel } from '../../src/rules/types.js';
import type { BypassCase, Proof } from './bypass-case.js';
import { MYSQL_EFFECT_CASES } from './mysql-effect-cases.js';
import { MYSQL_LINEAGE_CASES } from './mysql-lineage-cases.js';
import { MYSQL_COMPOUND_CASES } from './mysql-compound-cases.js';

const DATA: Proof = { kind: 'data' };
const SCHEMA: Proof = { kind: 'schema' };
const PRIVILEGES: Proof = { kind: 'privileges' };
const then = (check: string, cleanup?: string): Proof => (cleanup ? { kind: 'then', check, cleanup } : { kind: 'then', check });
const returns = (match: RegExp): Proof => ({ kind: 'returns', match });
const fileWritten = (path: string): Proof => then(`SELECT LOAD_FILE('${path}') IS NOT NULL`);
const globalSet = (name: string, value: number, restore: number | string): Proof =>
  then(`SELECT @@GLOBAL.${name} = ${value}`, `SET GLOBAL ${name} = ${restore}`);

type Extra = Pick<BypassCase, 'txn' | 'knownGap' | 'refusedBy'>;
const block = (access: AccessLevel, rule: string, sql: string, does: string, proof: Proof, extra: Extra = {}): BypassCase =>
  ({ sql, access, expect: 'block', rule, does, proof, ...extra });
const allow = (access: AccessLevel, sql: string, does: string, extra: Extra = {}): BypassCase => ({ sql, access, expect: 'allow', does, ...extra });

const W: AccessLevel = 'write';
const R: AccessLevel = 'read';
const A: AccessLevel = 'admin';
const UNSCOPED = 'unscoped-write';
const RO = 'read-only-writes';
const DCL = 'privilege-changes';
const FILE = 'file-access';
const ADMIN = 'server-admin';
const DYN = 'dynamic-sql';
/** Text the mysql analyzer does not parse is refused whole: a correct (fail-closed) block, decided by this rule. */
const UNPARSED = 'unparsed';

/** Writes that touch every row: spelled, quoted, commented, limited and conditioned so a text filter would miss them. */
const unscopedWrites: BypassCase[] = [
  block(W, UNSCOPED, 'DELETE FROM t', 'deletes every row of t', DATA),
  block(W, UNSCOPED, 'delete from t;', 'deletes every row of t (trailing semicolon)', DATA),
  block(W, UNSCOPED, 'DeLeTe FrOm t', 'deletes every row: keywords are case-insensitive', DATA),
  block(W, UNSCOPED, 'DELETE FROM `t`', 'deletes every row of t named by a backtick identifier', DATA),
  block(W, UNSCOPED, 'DELETE FROM dbw_bypass_my.t', 'deletes every row of the database-qualified table', DATA),
  block(W, UNSCOPED, 'DELETE FROM `dbw_bypass_my`.`t`', 'deletes every row; database and table in backticks', DATA),
  block(W, UNSCOPED, '/* harmless */ DELETE FROM t', 'deletes every row; a leading block comment hides the keyword from prefix filters', DATA),
  block(W, UNSCOPED, '# just a comment\nDELETE FROM t', 'deletes every row; a # line comment precedes it', DATA),
  block(W, UNSCOPED, '-- just a comment\nDELETE FROM t', 'deletes every row; a -- line comment precedes it', DATA),
  block(W, UNSCOPED, 'DELETE/**/FROM/**/t', 'deletes every row; comments instead of spaces', DATA),
  block(W, UNSCOPED, 'DELETE\tFROM\n\tt', 'deletes every row; tabs and newlines as separators', DATA),
  block(W, UNPARSED, 'DELETE LOW_PRIORITY QUICK IGNORE FROM t', 'deletes every row; MySQL modifiers before FROM', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE 1=1', 'deletes every row: WHERE 1=1', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE true', 'deletes every row: WHERE true', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE id=id', 'deletes every row: a non-null column equals itself', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE 1', 'deletes every row: a bare non-zero number is true', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE -1', 'deletes every row: any non-zero number is true', DATA),
  block(W, UNSCOPED, "DELETE FROM t WHERE 'a'='a'", 'deletes every row: equal string constants', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE id = 2 OR 1', 'deletes every row: OR 1 makes the condition true', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE id > 0 OR 1=1', 'deletes every row: a true disjunct', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE NOT 0', 'deletes every row: NOT 0', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE 1 IN (1)', 'deletes every row: a constant IN a list containing it', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE 2 > 1', 'deletes every row: a true comparison of constants', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE 1 <=> 1', 'deletes every row: the null-safe equality of constants', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE NULL IS NULL', 'deletes every row: NULL IS NULL', DATA),
  block(W, UNSCOPED, "DELETE FROM t WHERE 'abc' LIKE '%'", "deletes every row: LIKE '%' matches any string", DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE 1 BETWEEN 0 AND 2', 'deletes every row: constant BETWEEN', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE (((1)))', 'deletes every row: parenthesised 1', DATA),
  block(W, UNSCOPED, 'DELETE FROM t WHERE 1 || 0', 'deletes every row: || is OR under the default sql_mode', DATA),
  block(W, UNSCOPED, 'DELETE FROM t LIMIT 3', 'deletes three arbitrary rows: LIMIT without WHERE', DATA),
  block(W, UNSCOPED, 'DELETE FROM t ORDER BY id LIMIT 1', 'deletes a row picked by ORDER BY/LIMIT, no WHERE', DATA),
  block(W, UNSCOPED, "UPDATE t SET v = 'x' LIMIT 2", 'rewrites two arbitrary rows: LIMIT without WHERE', DATA),
  block(W, UNSCOPED, "UPDATE t SET v = 'x'", 'rewrites v in every row', DATA),
  block(W, UNSCOPED, 'UPDATE t SET v = v', 'matches and locks every row (InnoDB row locks) though the values stay', DATA),
  block(W, UNSCOPED, 'UPDATE accounts SET balance = 0 WHERE 1', 'zeroes every balance: WHERE 1', DATA),
  block(W, UNSCOPED, 'UPDATE `accounts` SET `balance` = 0 WHERE TRUE', 'zeroes every balance; backticks, WHERE TRUE', DATA),
  block(W, UNPARSED, 'UPDATE LOW_PRIORITY IGNORE accounts SET balance = 0', 'zeroes every balance; modifiers before the table', DATA),
  block(W, UNSCOPED, 'DELETE t FROM t JOIN accounts ON 1', 'multi-table DELETE: a join on 1 and no WHERE deletes every row of t', DATA),
  block(W, UNSCOPED, 'DELETE t, orders FROM t, orders', 'multi-table DELETE with no WHERE empties both tables', DATA),
  block(W, UNSCOPED, 'DELETE FROM t USING t, accounts', 'multi-table DELETE … USING without WHERE deletes every row of t', DATA),
  block(W, UNSCOPED, "UPDATE t, accounts SET t.v = 'x', accounts.balance = 0", 'multi-table UPDATE without WHERE rewrites both tables', DATA),
  block(W, UNSCOPED, "UPDATE t JOIN accounts ON 1=1 SET t.v = 'j'", 'multi-table UPDATE joined on 1=1, no WHERE', DATA),
  block(R, UNSCOPED, 'DELETE FROM t', 'deletes every row (read grant: refused as unscoped before read-only)', DATA),
];

/** Executable comments: text every generic SQL tool treats as a comment, which MySQL and MariaDB run. */
const executableComments: BypassCase[] = [
  block(W, 'drop', '/*! DROP TABLE t */', 'an executable comment: MySQL and MariaDB run the DROP', SCHEMA),
  block(W, 'drop', '/*!50000 DROP TABLE t */', 'versioned executable comment: 50000 ≤ the server version, so the DROP runs', SCHEMA),
  block(W, UNPARSED, '/*!101100 DROP TABLE t */', 'six-digit version 10.11.0 ≤ 10.11.19: the DROP runs', SCHEMA),
  block(W, 'drop', '/*M! DROP TABLE t */', 'MariaDB-only executable comment runs the DROP', SCHEMA),
  block(W, 'drop', '/*M!100000 DROP TABLE t */', 'MariaDB versioned executable comment runs the DROP', SCHEMA),
  block(W, UNSCOPED, '/*!DELETE FROM t*/', 'an executable comment without spaces deletes every row', DATA),
  block(W, UNSCOPED, 'SELECT 1; /*! DELETE FROM t */', 'a SELECT, then an executable-comment DELETE', DATA),
  block(W, UNPARSED, '/*!99999 SELECT 1; */ DELETE FROM t', 'the version-gated part is skipped (99999 > server), the DELETE after it runs', DATA),
  block(W, UNSCOPED, 'DELETE FROM t /*!99999 WHERE id = 1 */', 'the WHERE sits in a comment the server skips (this MariaDB runs /*!101119 but not /*!99999), so every row goes', DATA),
  block(W, UNSCOPED, 'DELETE FROM t /*! WHERE 1=1 */', 'the always-true WHERE hidden in an executable comment', DATA),
  block(W, UNSCOPED, "UPDATE t SET v = 'x' /*M! WHERE 1 */", 'MariaDB-only comment adds WHERE 1: every row rewritten', DATA),
  block(W, 'truncate', '/*! TRUNCATE t */', 'TRUNCATE inside an executable comment', DATA),
  block(W, 'alter-drop', '/*!50000 ALTER TABLE accounts DROP COLUMN note */', 'ALTER … DROP COLUMN inside a versioned executable comment', SCHEMA),
  block(R, RO, "/*! INSERT INTO notes VALUES ('x') */", 'an INSERT in an executable comment on a read grant', DATA),
  block(W, DCL, "/*!50000 GRANT SELECT ON dbw_bypass_my.* TO dbw_bypass_u0 */", 'a GRANT inside a versioned executable comment', PRIVILEGES),
  allow(W, 'DELETE FROM t /*!50000 WHERE id = 1 */', 'the WHERE in a runnable executable comment scopes the DELETE to one row'),
  allow(R, 'SELECT 1 /*!99999 ; DROP TABLE t */', 'the DROP sits in a comment gated above the server version: it never runs',
    { knownGap: 'a version-gated executable comment is refused as unparsed (fail-closed over-block, not a bypass)' }),
  allow(R, 'SELECT id /*! , v */ FROM t', 'an executable comment that only adds a column to a read'),
];

/** A second statement smuggled after a harmless one, behind quotes, escapes, comments or transaction control. */
const smuggled: BypassCase[] = [
  block(W, UNSCOPED, 'SELECT 1; DELETE FROM t', 'a harmless SELECT, then an unscoped DELETE', DATA),
  block(W, UNSCOPED, 'SELECT 1;DELETE FROM t', 'same without a space', DATA),
  block(W, UNSCOPED, "SELECT 'a;b'; DELETE FROM t", 'a semicolon inside a string literal, then a real one', DATA),
  block(W, UNSCOPED, 'SELECT "a;b"; DELETE FROM t', 'a double-quoted string (not an identifier by default) with a semicolon, then the DELETE', DATA),
  block(W, UNSCOPED, String.raw`SELECT 'it\'s'; DELETE FROM t`, String.raw`a backslash-escaped quote inside the literal, then the DELETE`, DATA),
  block(W, UNSCOPED, String.raw`SELECT '\\'; DELETE FROM t`, 'a literal holding one backslash, then the DELETE', DATA),
  block(W, UNSCOPED, "SELECT 'it''s'; DELETE FROM t", 'a doubled quote inside the literal, then the DELETE', DATA),
  block(W, UNSCOPED, 'SELECT 1 # ;\n; DELETE FROM t', 'a semicolon in a # comment, then a real one', DATA),
  block(W, UNSCOPED, 'SELECT 1 -- ;\n; DELETE FROM t', 'a semicolon in a -- comment, then a real one', DATA),
  block(W, UNSCOPED, 'SELECT 1 /* ; */ ; DELETE FROM t', 'a semicolon in a block comment, then a real one', DATA),
  block(W, UNSCOPED, 'SELECT 1--1; DELETE FROM t', '--1 without a space is minus minus one, not a comment: the DELETE is real', DATA),
  block(W, UNSCOPED, 'SELECT `a;b` FROM (SELECT 1 AS `a;b`) x; DELETE FROM t', 'a semicolon in a backtick identifier, then the DELETE', DATA),
  block(W, UNSCOPED, "SET sql_mode = 'NO_BACKSLASH_ESCAPES'; SELECT '\\'; DELETE FROM t; -- '",
    "with NO_BACKSLASH_ESCAPES '\\' is a whole literal, so the DELETE is real", DATA),
  block(W, UNSCOPED, "SET sql_mode = 'ANSI_QUOTES'; DELETE FROM \"t\"", 'with ANSI_QUOTES "t" is an identifier: every row deleted', DATA),
  block(W, UNSCOPED, 'SELECT 1\n;\nUPDATE accounts SET balance = 0', 'statements split across lines', DATA),
  block(W, UNSCOPED, 'BEGIN; DELETE FROM t; COMMIT', 'an explicit transaction around an unscoped DELETE', DATA, { txn: false }),
  block(W, UNSCOPED, 'SET @x = 1; DELETE FROM t', 'a user variable, then the DELETE', DATA),
  block(W, 'drop', "INSERT INTO notes VALUES ('a'); DROP TABLE accounts", 'an INSERT, then DROP TABLE', SCHEMA),
  block(W, 'drop', 'SELECT 1; DROP TABLE accounts', 'a SELECT, then DROP TABLE', SCHEMA),
  block(W, 'truncate', 'SELECT 1; TRUNCATE t', 'a SELECT, then TRUNCATE', DATA),
  block(R, RO, "SELECT id FROM t; UPDATE t SET v = 'x' WHERE id = 1", 'a read, then a scoped write on a read grant', DATA),
  block(R, RO, "SELECT 1; INSERT INTO notes VALUES ('x')", 'a read, then an INSERT on a read grant', DATA),
];

/** Destructive DDL. */
const destructive: BypassCase[] = [
  block(W, 'drop', 'DROP TABLE accounts', 'drops a table', SCHEMA),
  block(W, 'drop', 'drop table if exists t', 'drops t', SCHEMA),
  block(W, 'drop', 'DROP TABLE `notes`', 'drops a backtick-quoted table', SCHEMA),
  block(W, 'drop', 'DROP TABLE t, accounts', 'drops two tables at once', SCHEMA),
  block(W, 'drop', 'DROP VIEW v_t', 'drops a view', SCHEMA),
  block(W, 'drop', 'DROP DATABASE dbw_bypass_my', 'drops the whole database', SCHEMA),
  block(W, 'drop', 'DROP SCHEMA IF EXISTS dbw_bypass_my', 'DROP SCHEMA is DROP DATABASE in MySQL', SCHEMA),
  block(W, 'drop', 'DROP INDEX orders_account ON orders', 'drops an index', SCHEMA),
  block(W, 'drop', '/**/drop/**/table/**/accounts', 'DROP TABLE with comments as separators', SCHEMA),
  // (admin break-glass grants are exempt from the drop guard in safe-defaults; the write case above covers DROP)
  block(W, 'truncate', 'TRUNCATE t', 'empties t', DATA),
  block(W, 'truncate', 'TRUNCATE TABLE `accounts`', 'empties accounts', DATA),
  block(W, 'alter-drop', 'ALTER TABLE accounts DROP COLUMN note', 'drops a column and its data', SCHEMA),
  block(W, 'alter-drop', 'ALTER TABLE accounts DROP note', 'DROP without the COLUMN keyword drops the column', SCHEMA),
  block(W, 'alter-drop', 'ALTER TABLE accounts ADD COLUMN x INT, DROP COLUMN note', 'an ADD hides a DROP COLUMN in the same ALTER', SCHEMA),
  block(W, 'alter-drop', 'ALTER TABLE orders DROP INDEX orders_account', 'ALTER … DROP INDEX', SCHEMA),
  block(W, 'alter-drop', 'ALTER TABLE t DROP PRIMARY KEY', 'ALTER … DROP PRIMARY KEY loses the uniqueness guarantee', SCHEMA),
  block(W, 'drop', 'CREATE OR REPLACE TABLE t (id INT)', 'MariaDB CREATE OR REPLACE TABLE drops t and its rows, then makes an empty one', DATA),
  block(R, RO, 'CREATE TABLE x (id INT)', 'creates a table on a read grant', SCHEMA),
];

/** Writes and locks on a read grant. */
const writesOnRead: BypassCase[] = [
  block(R, RO, "INSERT INTO notes VALUES ('x')", 'inserts a row', DATA),
  block(R, RO, "INSERT INTO notes SET body = 'x'", 'INSERT … SET form', DATA),
  block(R, RO, 'INSERT INTO notes SELECT v FROM t', 'INSERT … SELECT copies rows', DATA),
  block(R, RO, "REPLACE INTO t VALUES (1, 'replaced')", 'REPLACE deletes and reinserts row 1', DATA),
  block(R, RO, "INSERT INTO t VALUES (1, 'a') ON DUPLICATE KEY UPDATE v = 'dup'", 'an INSERT that updates the existing row', DATA),
  block(R, RO, "UPDATE t SET v = 'x' WHERE id = 1", 'a scoped UPDATE', DATA),
  block(R, RO, 'DELETE FROM t WHERE id = 1', 'a scoped DELETE', DATA),
  block(R, RO, "INSERT /*! INTO notes VALUES ('x') */", 'the INSERT completed inside an executable comment', DATA),
  block(R, RO, 'SELECT id FROM t FOR UPDATE', 'takes exclusive row locks on every row of t', DATA),
  block(R, RO, 'SELECT id FROM t LOCK IN SHARE MODE', 'takes shared row locks on every row of t', DATA),
  block(R, RO, 'SELECT id FROM t WHERE id = 1 FOR UPDATE NOWAIT', 'takes an exclusive row lock (NOWAIT)', DATA),
  block(R, RO, 'SELECT id FROM t FOR UPDATE SKIP LOCKED', 'takes exclusive row locks (SKIP LOCKED)', DATA),
  block(R, RO, 'SELECT id FROM t WHERE id = 1 /*! FOR UPDATE */', 'FOR UPDATE inside an executable comment takes a row lock', DATA),
];

/** Accounts, passwords and privileges (on throwaway accounts dbw_bypass_u*). */
const privileges: BypassCase[] = [
  block(W, DCL, "CREATE USER dbw_bypass_u1 IDENTIFIED BY 'x'", 'creates an account with a password', PRIVILEGES),
  block(W, DCL, "CREATE USER 'dbw_bypass_u2'@'%'", 'creates an account reachable from any host', PRIVILEGES),
  block(W, DCL, "GRANT ALL ON *.* TO dbw_bypass_u3 IDENTIFIED BY 'pw'", 'creates an account with every privilege', PRIVILEGES),
  block(W, DCL, 'GRANT ALL PRIVILEGES ON *.* TO dbw_bypass_u0 WITH GRANT OPTION', 'makes an account a second superuser', PRIVILEGES),
  block(W, DCL, 'GRANT SELECT ON dbw_bypass_my.t TO dbw_bypass_u0', 'a table-level GRANT', PRIVILEGES),
  block(W, DCL, "SET PASSWORD FOR dbw_bypass_u0 = PASSWORD('p')", "changes another account's password", PRIVILEGES),
  block(W, DCL, "SET PASSWORD FOR 'dbw_bypass_u0'@'%' = PASSWORD('p')", "changes another account's password (quoted user@host)", PRIVILEGES),
  block(W, DCL, "ALTER USER dbw_bypass_u0 IDENTIFIED BY 'p'", 'ALTER USER sets a password', PRIVILEGES),
  block(W, DCL, 'RENAME USER dbw_bypass_u0 TO dbw_bypass_u9', 'renames an account', PRIVILEGES),
  block(W, DCL, 'CREATE ROLE dbw_bypass_urole', 'creates a role', PRIVILEGES),
  block(W, 'drop', 'DROP USER dbw_bypass_u0', 'drops an account', PRIVILEGES),
  block(W, DCL, "SELECT 1; CREATE USER dbw_bypass_u4; GRANT SELECT ON dbw_bypass_my.* TO dbw_bypass_u4", 'a SELECT, then an account and a grant', PRIVILEGES),
  block(A, DCL, "CREATE USER dbw_bypass_u5 IDENTIFIED BY 'x'", 'creates an account (admin grant: still refused)', PRIVILEGES),
  block(R, RO, 'GRANT SELECT ON dbw_bypass_my.* TO dbw_bypass_u0', 'a GRANT on a read grant', PRIVILEGES),
];

/** Server files: INTO OUTFILE / DUMPFILE, LOAD_FILE, LOAD DATA INFILE (secure_file_priv is unset on this server). */
const files: BypassCase[] = [
  block(W, FILE, "SELECT id, v FROM t INTO OUTFILE '/tmp/dbw_bypass_my_out.txt'", 'writes t to a server file', fileWritten('/tmp/dbw_bypass_my_out.txt')),
  block(R, FILE, "SELECT id, v FROM t INTO OUTFILE '/tmp/dbw_bypass_my_out2.csv' FIELDS TERMINATED BY ','", 'writes a CSV server file (read grant)', fileWritten('/tmp/dbw_bypass_my_out2.csv')),
  block(W, FILE, "SELECT 'x' INTO DUMPFILE '/tmp/dbw_bypass_my_dump.bin'", 'writes raw bytes to a server file', fileWritten('/tmp/dbw_bypass_my_dump.bin')),
  block(W, FILE, "SELECT 1 /*! INTO OUTFILE '/tmp/dbw_bypass_my_c.txt' */", 'INTO OUTFILE hidden in an executable comment', fileWritten('/tmp/dbw_bypass_my_c.txt')),
  block(R, FILE, "SELECT LOAD_FILE('/etc/passwd')", 'reads a server file', returns(/root:/)),
  block(R, FILE, "SELECT HEX(LOAD_FILE('/etc/passwd'))", 'reads a server file, hex-encoded', returns(/726F6F743A/)),
  block(R, FILE, "SELECT 1; SELECT LOAD_FILE('/etc/passwd')", 'a SELECT, then a file read', returns(/root:/)),
  block(R, FILE, "SELECT load_file(0x2f6574632f706173737764)", 'reads /etc/passwd named by a hex literal', returns(/root:/)),
  block(W, FILE, "LOAD DATA INFILE '/tmp/dbw_bypass_myin.txt' INTO TABLE notes", 'loads a server file into a table', DATA),
  block(R, RO, "LOAD DATA INFILE '/tmp/dbw_bypass_myin.txt' INTO TABLE notes", 'loads a server file into a table (read grant)', DATA),
];

/**
 * A KILL of a literal thread id is the broker's to carry out: it must name a session of the same grant (thread
 * ids of anyone else get 1094 Unknown thread id before the server sees the text), so the rules see it as a
 * `session` effect, the same alone or inside a multi-statement text.
 */
const KILL_CHECK = { refusedBy: 'the KILL ownership check, src/mysql/kill-plan.ts (test/integration/mysql-drivers.test.ts)' };

/** Other sessions and the server's configuration. */
const admin: BypassCase[] = [
  block(W, ADMIN, 'KILL {victim}', 'terminates another session', { kind: 'victim', effect: 'terminated' }, KILL_CHECK),
  block(W, ADMIN, 'KILL CONNECTION {victim}', 'terminates another session (CONNECTION)', { kind: 'victim', effect: 'terminated' }, KILL_CHECK),
  block(A, ADMIN, 'KILL QUERY {victim}', "cancels another session's running query", { kind: 'victim', effect: 'cancelled' }, KILL_CHECK),
  block(R, ADMIN, 'KILL HARD {victim}', 'MariaDB KILL HARD terminates another session', { kind: 'victim', effect: 'terminated' }, KILL_CHECK),
  block(W, ADMIN, 'SET @t = {victim}; KILL @t', 'terminates another session named by a variable', { kind: 'victim', effect: 'terminated' }),
  block(W, ADMIN, 'SET GLOBAL net_write_timeout = 61', 'changes a server-wide setting', globalSet('net_write_timeout', 61, 60)),
  block(W, ADMIN, 'SET @@GLOBAL.max_connect_errors = 101', 'changes a server-wide setting (@@GLOBAL. form)', globalSet('max_connect_errors', 101, 100)),
  block(W, ADMIN, 'SET @@global.net_read_timeout = 31', 'changes a server-wide setting (lower-case @@global.)', globalSet('net_read_timeout', 31, 30)),
  block(W, ADMIN, 'SET SESSION wait_timeout = 100, GLOBAL net_read_timeout = 31', 'a session setting hides a global one', globalSet('net_read_timeout', 31, 30)),
  block(W, ADMIN, '/*!50000 SET GLOBAL net_write_timeout = 61 */', 'SET GLOBAL in an executable comment', globalSet('net_write_timeout', 61, 60)),
];

/** Code the broker cannot see into: PREPARE from variables, EXECUTE IMMEDIATE, stored programs. */
const dynamic: BypassCase[] = [
  block(W, DYN, "SET @q = 'DELETE FROM t'; PREPARE s FROM @q; EXECUTE s", 'prepares a DELETE from a user variable and runs it', DATA),
  block(W, DYN, "SET @q = CONCAT('DROP ', 'TABLE t'); PREPARE s FROM @q; EXECUTE s", 'a DROP assembled with CONCAT, prepared and run', SCHEMA),
  block(W, DYN, 'SET @q = 0x44454C4554452046524F4D2074; PREPARE s FROM @q; EXECUTE s', "the DELETE written as a hex literal, prepared and run", DATA),
  block(R, DYN, "SET @q = 'DELETE FROM t'; PREPARE s FROM @q; EXECUTE s", 'dynamic DELETE on a read grant', DATA),
  block(W, DYN, "EXECUTE IMMEDIATE CONCAT('DELETE FROM ', 't')", 'MariaDB EXECUTE IMMEDIATE of an assembled DELETE', DATA),
  block(W, DYN, 'EXECUTE IMMEDIATE @q', 'EXECUTE IMMEDIATE of a variable (set here by the proof to a DELETE first)', DATA),
  block(W, UNSCOPED, "PREPARE s FROM 'DELETE FROM t'; EXECUTE s", 'prepares a DELETE from a string literal and runs it', DATA),
  block(W, UNSCOPED, "EXECUTE IMMEDIATE 'DELETE FROM t'", 'MariaDB EXECUTE IMMEDIATE of a literal DELETE', DATA),
  block(W, UNSCOPED, 'CREATE PROCEDURE wipe() DELETE FROM t; CALL wipe()', 'a stored procedure whose body deletes every row, then CALLed (the body is read and decided as if sent)', DATA),
];
// the proof of `EXECUTE IMMEDIATE @q` needs @q set on the same connection first
const immediateVar = dynamic.find((c) => c.sql === 'EXECUTE IMMEDIATE @q')!;
immediateVar.sql = "SET @q = 'DELETE FROM t'; EXECUTE IMMEDIATE @q";

/** Look-alikes that are harmless, and ordinary work. */
const allowed: BypassCase[] = [
  allow(W, 'DELETE FROM t WHERE id = 1', 'deletes one row'),
  allow(W, "UPDATE t SET v = 'x' WHERE id = 2", 'updates one row'),
  allow(W, 'UPDATE `t` SET `v` = \'x\' WHERE `id` = 2', 'updates one row; backtick identifiers'),
  allow(W, 'DELETE FROM t WHERE id = 1 LIMIT 1', 'a scoped DELETE with LIMIT'),
  allow(W, "UPDATE accounts SET balance = balance - 10 WHERE owner = 'ann'", 'a scoped arithmetic UPDATE'),
  allow(W, 'DELETE FROM t WHERE id IN (1, 2)', 'deletes two named rows'),
  allow(W, "DELETE t FROM t JOIN accounts ON t.id = accounts.id WHERE accounts.owner = 'ann'", 'a scoped multi-table DELETE'),
  allow(W, "UPDATE t JOIN accounts ON t.id = accounts.id SET t.v = 'j' WHERE accounts.id = 1", 'a scoped multi-table UPDATE'),
  allow(W, "INSERT INTO t VALUES (9, 'new')", 'inserts a row'),
  allow(W, "INSERT INTO t VALUES (1, 'a') ON DUPLICATE KEY UPDATE v = 'b'", 'an upsert of one row'),
  allow(W, "REPLACE INTO t VALUES (1, 'r')", 'replaces one row'),
  allow(W, "INSERT INTO notes VALUES ('DROP TABLE t')", 'a string that mentions DROP'),
  allow(W, "INSERT INTO notes (body) VALUES ('-- ; DELETE FROM t')", 'a string that looks like a comment and a DELETE'),
  allow(W, 'INSERT INTO notes VALUES ("/*! DROP TABLE t */")', 'an executable comment inside a double-quoted string is just text'),
  allow(W, 'CREATE TABLE newt (id INT)', 'creates a table'),
  allow(W, 'ALTER TABLE accounts ADD COLUMN extra INT', 'adds a column'),
  allow(W, "BEGIN; UPDATE t SET v = 'x' WHERE id = 1; ROLLBACK", 'a scoped write in a rolled-back transaction', { txn: false }),
  allow(W, "START TRANSACTION; INSERT INTO notes VALUES ('n'); COMMIT", 'an insert in a committed transaction', { txn: false }),
  allow(W, 'SELECT id FROM t WHERE id = 1 FOR UPDATE', 'a row lock on a write grant'),
  allow(W, 'SELECT id FROM t LOCK IN SHARE MODE', 'shared locks on a write grant'),
  allow(R, 'SELECT id, v FROM t', 'reads rows'),
  allow(R, 'SELECT COUNT(*) FROM t', 'counts rows'),
  allow(R, "SELECT 'DROP TABLE t'", 'a string mentioning DROP'),
  allow(R, "SELECT id FROM t WHERE v = '; DELETE FROM t'", 'a string with a semicolon and a DELETE'),
  allow(R, String.raw`SELECT '\'; DELETE FROM t; -- '`, String.raw`under the default sql_mode \' escapes the quote: one string, no DELETE`,
    { knownGap: 'the broker also reads the NO_BACKSLASH_ESCAPES split and refuses (fail-closed over-block, not a bypass)' }),
  allow(R, 'SELECT id FROM t # DELETE FROM t', 'a DELETE in a # comment'),
  allow(R, 'SELECT id FROM t -- DELETE FROM t', 'a DELETE in a -- comment'),
  allow(R, 'SELECT id FROM t /* DROP TABLE t */', 'a DROP in a plain block comment'),
  allow(R, 'SELECT id FROM `t` WHERE `v` = \'row 1\'', 'backtick identifiers in a read'),
  allow(R, "SELECT 'a' 'b'", 'adjacent string literals concatenate'),
  allow(R, 'SHOW TABLES', 'lists tables'),
  allow(R, 'SHOW DATABASES', 'lists databases'),
  allow(R, "SHOW VARIABLES LIKE 'version%'", 'reads server variables'),
  allow(R, 'SHOW CREATE TABLE t', 'shows DDL'),
  allow(R, 'SHOW GRANTS', "shows the session's privileges"),
  allow(R, 'DESCRIBE t', 'describes a table'),
  allow(R, 'EXPLAIN SELECT id FROM t WHERE id = 1', 'plans a read'),
  allow(R, 'USE dbw_bypass_my', 'selects the database'),
  allow(R, 'SET NAMES utf8mb4', 'sets the connection character set'),
  allow(R, 'SET NAMES utf8mb4 COLLATE utf8mb4_general_ci', 'sets character set and collation'),
  allow(R, 'SET autocommit = 1', 'session autocommit'),
  allow(R, 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', 'session isolation level'),
  allow(R, 'SET @a = 5', 'a user variable'),
  allow(R, 'SELECT id INTO @x FROM t WHERE id = 1', 'SELECT … INTO a user variable writes no file'),
  allow(R, 'DO 1', 'DO evaluates and discards'),
  allow(R, 'BEGIN', 'starts a transaction'),
  allow(R, 'COMMIT', 'commits'),
  allow(R, 'ROLLBACK', 'rolls back'),
  allow(R, 'START TRANSACTION READ ONLY', 'a read-only transaction', { txn: false }),
  // what clients send on connect
  allow(R, 'select @@version_comment limit 1', 'the mariadb / mysql CLI on connect'),
  allow(R, 'SELECT DATABASE(), USER() LIMIT 1', 'the mariadb CLI status command'),
  allow(R, 'SET AUTOCOMMIT = 0', 'PyMySQL on connect (autocommit off by default)'),
  allow(R, 'SELECT VERSION()', 'a version probe (PyMySQL users, SQLAlchemy dialect init)'),
  allow(R, "SHOW VARIABLES LIKE 'sql_mode'", 'SQLAlchemy MySQL dialect init'),
  allow(R, "SHOW VARIABLES LIKE 'lower_case_table_names'", 'SQLAlchemy MySQL dialect init'),
  allow(R, 'SELECT @@tx_isolation', 'SQLAlchemy / mysql2 isolation probe on MariaDB'),
  allow(R, '/* mysql-connector-java-5.1.49 ( Revision: ad86f36e100e104cd926c6b81c8cab9565750116 ) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_buffer_length AS net_buffer_length, @@net_write_timeout AS net_write_timeout, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@tx_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout',
    'Connector/J variables probe on connect'),
  allow(R, 'SET character_set_results = NULL', 'Connector/J on connect'),
  allow(R, 'SELECT @@session.tx_read_only', 'Connector/J read-only probe'),
  allow(R, 'SET autocommit=1', 'Connector/J on connect'),
  allow(R, 'SELECT @@max_allowed_packet,@@system_time_zone,@@time_zone,@@auto_increment_increment', 'MariaDB Connector/J on connect'),
  allow(R, 'SHOW ENGINES', 'DBeaver metadata'),
  allow(R, 'SELECT 1', 'mysql2 / pool ping query'),
];

export const MYSQL_CASES: BypassCase[] = [
  ...unscopedWrites, ...executableComments, ...smuggled, ...destructive, ...writesOnRead, ...privileges, ...files, ...admin, ...dynamic, ...allowed,
  ...MYSQL_EFFECT_CASES,
  ...MYSQL_LINEAGE_CASES,
  ...MYSQL_COMPOUND_CASES,
];
