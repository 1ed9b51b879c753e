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
];

const notNullGone: Proof = { kind: 'then', check: "SELECT NOT attnotnull FROM pg_attribute WHERE attrelid = 'accounts'::regclass AND attname = 'owner'" };

/** Drops and privilege changes in disguise (postgres-facts.ts AT_Drop*, effect-catalog.ts). */
const disguised: BypassCase[] = [
  block(W, 'alter-drop', 'ALTER TABLE accounts ALTER COLUMN owner DROP NOT NULL', 'drops the NOT NULL constraint', notNullGone),
  block(W, 'privilege-changes', "UPDATE pg_catalog.pg_attribute SET attnotnull = false WHERE attrelid = 'accounts'::regclass AND attname = 'owner'", 'drops a constraint by editing the catalog', notNullGone),
  block(W, 'privilege-changes', "UPDATE pg_attribute SET attnotnull = false WHERE attrelid = 'accounts'::regclass AND attname = 'owner'", 'the same through the unqualified catalog name', notNullGone),
];

export const POSTGRES_EFFECT_CASES: BypassCase[] = [...overBlocks, ...unscoped, ...disguised];
