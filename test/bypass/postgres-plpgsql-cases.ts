// PostgreSQL cases of issue 10's over-blocks: static PL/pgSQL bodies (DO blocks, CREATE FUNCTION … LANGUAGE plpgsql)
// are read with libpg-query's PL/pgSQL parser and decided by their statements, as if each were sent: harmless bodies
// run, bodies hiding a refused statement are refused by that statement's rule, dynamic SQL stays refused.
import type { AccessLevel } from '../../src/rules/types.js';
import type { BypassCase, Proof } from './bypass-case.js';

const DATA: Proof = { kind: 'data' };
const W: AccessLevel = 'write';
const R: AccessLevel = 'read';
const block = (access: AccessLevel, rule: string, sql: string, does: string, proof: Proof): BypassCase => ({ sql, access, expect: 'block', rule, does, proof });
const allow = (access: AccessLevel, sql: string, does: string): BypassCase => ({ sql, access, expect: 'allow', does });

export const POSTGRES_PLPGSQL_CASES: BypassCase[] = [
  allow(R, "DO $$ BEGIN RAISE NOTICE 'now %', now(); END $$", 'a DO block that only raises a notice (used to be refused as dynamic)'),
  allow(R, "DO $$ DECLARE r record; BEGIN FOR r IN SELECT id FROM t LOOP RAISE NOTICE 'id %', r.id; END LOOP; END $$", 'a DO block looping over a read'),
  allow(W, 'CREATE FUNCTION dbw_plus_one(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN i + 1; END $$', 'a static PL/pgSQL function'),
  allow(W, "CREATE FUNCTION dbw_touch(i int) RETURNS void LANGUAGE plpgsql AS $$ BEGIN UPDATE t SET v = 'touched' WHERE id = $1; END $$", 'a PL/pgSQL function with a scoped write ($1: a named variable compared with a column reads as the row compared with itself)'),
  block(R, 'read-only-writes', "DO $$ BEGIN UPDATE t SET v = 'x' WHERE id = 1; END $$", 'a DO block writing on a read grant', DATA),
  block(W, 'file-access', "DO $$ DECLARE x text; BEGIN x := pg_read_file('/etc/passwd'); INSERT INTO notes VALUES (x); END $$", 'reads a server file into a variable and stores it in a table', DATA),
  block(W, 'dynamic-sql', "DO $$ BEGIN EXECUTE 'DELETE FROM t'; END $$", 'EXECUTE inside a DO block stays refused', DATA),
  block(W, 'dynamic-sql', "DO $$ DECLARE r record; BEGIN FOR r IN EXECUTE 'SELECT 1' LOOP DELETE FROM t WHERE id = 1; END LOOP; END $$", 'FOR … IN EXECUTE stays refused', DATA),
];
