// MySQL cases of issue 10's last over-block: stored routines with compound bodies (BEGIN … END, IF, CASE, LOOP,
// WHILE, REPEAT, labels, DECLARE … HANDLER, cursors, SIGNAL) are read and decided by every statement they run, as
// if each were sent (src/sql/mysql-compound.ts). Harmless bodies run; a body hiding an unscoped DELETE, a DROP in a
// handler, dynamic SQL in a loop or a write repeated by a cursor loop is refused, each proven harmful first by
// creating and CALLing it on the server. The split itself is checked against the server in
// test/integration/reading-mysql-compound.test.ts.
import type { AccessLevel } from '../../src/rules/types.js';
import type { BypassCase, Proof } from './bypass-case.js';

const DATA: Proof = { kind: 'data' };
const SCHEMA: Proof = { kind: 'schema' };
const W: AccessLevel = 'write';
const block = (access: AccessLevel, rule: string, sql: string, does: string, proof: Proof): BypassCase => ({ sql, access, expect: 'block', rule, does, proof });
const allow = (access: AccessLevel, sql: string, does: string): BypassCase => ({ sql, access, expect: 'allow', does });

/** A cursor over t, its NOT FOUND handler and a labelled FETCH loop whose step is `step`. */
const cursorLoop = (name: string, step: string): string =>
  `CREATE PROCEDURE ${name}() BEGIN DECLARE done INT DEFAULT 0; DECLARE x INT; DECLARE c CURSOR FOR SELECT id FROM t; `
  + `DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; OPEN c; rd: LOOP FETCH c INTO x; IF done THEN LEAVE rd; END IF; ${step} END LOOP rd; CLOSE c; END; CALL ${name}()`;

export const MYSQL_COMPOUND_CASES: BypassCase[] = [
  allow(W, "CREATE PROCEDURE dbw_c_ok(i INT) BEGIN DECLARE n INT DEFAULT 0; SELECT COUNT(*) INTO n FROM t WHERE id = i; IF n > 0 THEN UPDATE t SET v = 'touched' WHERE id = i; ELSE INSERT INTO notes VALUES ('none'); END IF; END; CALL dbw_c_ok(1)",
    'a compound procedure reading into a variable and writing one row by its parameter, created and called'),
  allow(W, cursorLoop('dbw_c_sum', 'SET @dbw_sum = COALESCE(@dbw_sum, 0) + x;'), 'a cursor loop that only reads and adds up'),
  allow(W, 'CREATE FUNCTION dbw_c_count(i INT) RETURNS INT READS SQL DATA BEGIN DECLARE r INT; SELECT COUNT(*) INTO r FROM t WHERE id <= i; RETURN r; END; SELECT dbw_c_count(3)',
    'a compound function reading into a variable and returning it'),
  allow(W, 'CREATE FUNCTION dbw_c_fact(n INT) RETURNS INT DETERMINISTIC BEGIN DECLARE r INT DEFAULT 1; REPEAT SET r = r * n; SET n = n - 1; UNTIL n <= 1 END REPEAT; RETURN r; END; SELECT dbw_c_fact(5)',
    'a REPEAT loop of assignments'),
  allow(W, "CREATE PROCEDURE dbw_c_sig(i INT) lbl: BEGIN IF i < 0 THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'negative'; END IF; CASE WHEN i = 0 THEN LEAVE lbl; ELSE SELECT i, CASE WHEN i > 1 THEN 'many' ELSE 'one' END AS n; END CASE; END lbl; CALL dbw_c_sig(1)",
    'labels, SIGNAL, a CASE statement and a CASE expression'),
  allow(W, "CREATE PROCEDURE dbw_c_str() BEGIN SELECT 'END; DELETE FROM t; -- ' AS s; END; CALL dbw_c_str()",
    'a string holding END; DELETE … inside a body is only a string'),
  block(W, 'unscoped-write', 'CREATE PROCEDURE dbw_c_wipe() BEGIN DECLARE n INT DEFAULT 1; IF n > 0 THEN DELETE FROM t; END IF; END; CALL dbw_c_wipe()',
    'a DELETE without WHERE hidden in an IF of a compound body, then CALLed', DATA),
  block(W, 'unscoped-write', "CREATE PROCEDURE dbw_c_case() BEGIN CASE (SELECT COUNT(*) FROM t) WHEN 5 THEN UPDATE t SET v = 'five'; ELSE SELECT 0; END CASE; END; CALL dbw_c_case()",
    'an UPDATE without WHERE in a CASE statement branch', DATA),
  block(W, 'unscoped-write', 'CREATE PROCEDURE dbw_c_self() BEGIN DECLARE id INT DEFAULT 1; DELETE FROM t WHERE id = id; END; CALL dbw_c_self()',
    'a local variable named like the column: `id = id` compares the variable with itself, every row goes', DATA),
  block(W, 'drop', "CREATE PROCEDURE dbw_c_drop() BEGIN DECLARE EXIT HANDLER FOR SQLEXCEPTION DROP TABLE t; SIGNAL SQLSTATE '45000'; END; CALL dbw_c_drop()",
    'a DROP TABLE in a condition handler the body itself triggers', SCHEMA),
  block(W, 'dynamic-sql', "CREATE PROCEDURE dbw_c_dyn() BEGIN DECLARE i INT DEFAULT 0; WHILE i < 1 DO SET @q = 'DELETE FROM t'; PREPARE s FROM @q; EXECUTE s; SET i = i + 1; END WHILE; END; CALL dbw_c_dyn()",
    'PREPARE/EXECUTE of a DELETE built in a variable inside a WHILE', DATA),
  block(W, 'dynamic-sql', cursorLoop('dbw_c_loop', 'DELETE FROM t WHERE id = x;'),
    'a cursor loop deleting row by row: each DELETE looks scoped, the loop deletes every row', DATA),
  block(W, 'unscoped-write', 'CREATE PROCEDURE dbw_c_param(v INT) DELETE FROM t WHERE v = 5; CALL dbw_c_param(5)',
    'a one-statement body whose WHERE names a parameter like a column: the parameter wins, `5 = 5` deletes every row', DATA),
  block(W, 'unscoped-write', 'CREATE PROCEDURE dbw_c_after() BEGIN SELECT 1; END; DELETE FROM t',
    'a DELETE after a compound CREATE in the same text (the server ends the CREATE at its END, not at the inner `;`)', DATA),
];
