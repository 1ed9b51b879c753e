// MySQL cases of issues 10 and 11 (reading, lineage): functions inside derived tables of multi-table UPDATE/DELETE
// (they were not read at all, so every rule missed them) and MariaDB sequences (PREVIOUS VALUE FOR is a read,
// NEXT VALUE FOR advances the sequence: a write on read grants).
import type { AccessLevel } from '../../src/rules/types.js';
import type { BypassCase, Proof } from './bypass-case.js';

const DATA: Proof = { kind: 'data' };
const W: AccessLevel = 'write';
const R: AccessLevel = 'read';
const block = (access: AccessLevel, rule: string, sql: string, does: string, proof: Proof): BypassCase => ({ sql, access, expect: 'block', rule, does, proof });
const allow = (access: AccessLevel, sql: string, does: string): BypassCase => ({ sql, access, expect: 'allow', does });

export const MYSQL_LINEAGE_CASES: BypassCase[] = [
  block(W, 'file-access', "UPDATE t JOIN (SELECT id, LOAD_FILE('/etc/passwd') AS f FROM accounts) b ON t.id = b.id SET t.v = LEFT(b.f, 30) WHERE t.id = 1",
    'copies a server file into a row through a derived table in the join list', { kind: 'then', check: "SELECT v LIKE 'root:%' FROM t WHERE id = 1" }),
  block(W, 'file-access', "DELETE t FROM t JOIN (SELECT id FROM accounts WHERE LOAD_FILE('/etc/passwd') LIKE 'root:%') b ON t.id = b.id WHERE t.id = 1",
    'deletes a row only when a server file reads as expected (a file probe inside a derived table)', DATA),
  block(R, 'read-only-writes', 'SELECT NEXT VALUE FOR seq_t', 'advances a sequence on a read grant',
    { kind: 'then', check: 'SELECT PREVIOUS VALUE FOR seq_t IS NOT NULL' }),
  allow(R, 'SELECT PREVIOUS VALUE FOR seq_t', 'the last value this session took from a sequence: a read'),
  allow(W, "UPDATE t JOIN (SELECT id FROM accounts WHERE owner = 'ann') b ON t.id = b.id SET t.v = 'x' WHERE t.id = 1", 'a derived table with nothing but columns still runs'),
  // stored routines with one plain statement as their body are read (issue 10 over-block): decided by that statement
  allow(W, "CREATE PROCEDURE dbw_touch(i INT) UPDATE t SET v = 'touched' WHERE id = 1", 'a procedure whose body is one scoped UPDATE'),
  allow(W, 'CREATE FUNCTION dbw_plus(i INT) RETURNS INT DETERMINISTIC RETURN i + 1', 'a function whose body is one RETURN expression'),
  block(W, 'file-access', "CREATE PROCEDURE dbw_peek() SELECT LOAD_FILE('/etc/passwd'); CALL dbw_peek()", 'a procedure whose body reads a server file, then CALLed', { kind: 'returns', match: /root:/ }),
  block(W, 'dynamic-sql', "CREATE PROCEDURE dbw_dyn() PREPARE s FROM @q", 'a procedure preparing SQL from a variable (stays dynamic)', { kind: 'schema' }),
  block(W, 'unscoped-write', 'CREATE PROCEDURE dbw_blk() BEGIN DELETE FROM t; END', 'a compound body (BEGIN … END) is read: its DELETE without WHERE decides (more in mysql-compound-cases.ts)', { kind: 'schema' }),
];
