// Scratch database dbw_bypass_my on the local MariaDB for the bypass suite: fixture tables, fingerprints, and the
// proof runner that demonstrates on the real server what each blocked MySQL case does.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import type { BypassCase, Proof } from './bypass-case.js';

export const MY_BYPASS_DB = 'dbw_bypass_my';
const SERVER = { host: '127.0.0.1', port: 3306, user: 'root', password: '' };

/** Files the server writes for INTO OUTFILE / DUMPFILE cases; removed before and after the run. */
export const MY_SCRATCH_FILE_PREFIX = '/tmp/dbw_bypass_my_';
/** A server file LOAD DATA INFILE cases read (outside the scratch prefix, so it survives between cases). */
export const MY_INPUT_FILE = '/tmp/dbw_bypass_myin.txt';
/** Throwaway accounts created by privilege cases are named with this prefix and dropped after every case. */
export const THROWAWAY_USER_PREFIX = 'dbw_bypass_u';
/** KILL cases name their target as this placeholder: the proof substitutes a real victim connection id. */
export const VICTIM_PLACEHOLDER = '{victim}';
/** What the decision test puts in place of the placeholder (the broker sees a plain number either way). */
export const VICTIM_SAMPLE_ID = '4242';

const FIXTURE_TABLES = ['t', 'accounts', 'notes', 'orders'] as const;

/** `database: null` connects without selecting one (the scratch database may not exist yet). */
export async function connect(database: string | null = MY_BYPASS_DB): Promise<mysql.Connection> {
  const c = await mysql.createConnection({ ...SERVER, ...(database ? { database } : {}), multipleStatements: true, dateStrings: true });
  c.on('error', () => undefined);
  return c;
}

/** Drops and recreates the scratch database with its fixture tables; run before the suite and after cases that commit. */
export async function resetFixture(c: mysql.Connection): Promise<void> {
  await c.query(`
    DROP DATABASE IF EXISTS ${MY_BYPASS_DB};
    CREATE DATABASE ${MY_BYPASS_DB};
    USE ${MY_BYPASS_DB};
    CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)) ENGINE=InnoDB;
    INSERT INTO t VALUES (1, 'row 1'), (2, 'row 2'), (3, 'row 3'), (4, 'row 4'), (5, 'row 5');
    CREATE TABLE accounts (id INT PRIMARY KEY, owner VARCHAR(20) NOT NULL, balance INT NOT NULL, note VARCHAR(40)) ENGINE=InnoDB;
    INSERT INTO accounts VALUES (1, 'ann', 100, NULL), (2, 'ben', 200, NULL), (3, 'cat', 300, 'vip');
    CREATE TABLE notes (body VARCHAR(200)) ENGINE=InnoDB;
    CREATE TABLE orders (id INT PRIMARY KEY, account_id INT, total INT, KEY orders_account (account_id)) ENGINE=InnoDB;
    INSERT INTO orders VALUES (10, 1, 5), (11, 2, 7), (12, 3, 9);
    CREATE VIEW v_t AS SELECT id, v FROM t;
    CREATE SEQUENCE seq_t;
    CREATE PROCEDURE dbw_p() SELECT 1;
    CREATE TABLE pt (id INT) ENGINE=InnoDB PARTITION BY RANGE (id) (PARTITION p0 VALUES LESS THAN (10), PARTITION p1 VALUES LESS THAN MAXVALUE);
    INSERT INTO pt VALUES (1), (2), (11);
    CREATE TABLE pt_x (id INT) ENGINE=InnoDB;
  `);
}

export async function removeScratchFiles(): Promise<void> {
  for (const f of readdirSync('/tmp')) {
    if (`/tmp/${f}`.startsWith(MY_SCRATCH_FILE_PREFIX)) rmSync(`/tmp/${f}`, { force: true });
  }
}

async function rows(c: mysql.Connection, sql: string): Promise<unknown[]> {
  const [r] = await c.query(sql);
  return Array.isArray(r) ? (r as unknown[]) : [r];
}

/** Every row of every fixture table (a dropped table shows as missing), plus row locks held by this connection. */
async function fpData(c: mysql.Connection, probe?: mysql.Connection): Promise<string> {
  const parts: string[] = [];
  for (const table of FIXTURE_TABLES) {
    try {
      parts.push(`${table}=${JSON.stringify(await rows(c, `SELECT * FROM ${MY_BYPASS_DB}.${table} ORDER BY 1`))}`);
    } catch {
      parts.push(`${table}=missing`);
    }
  }
  // SELECT … FOR UPDATE / LOCK IN SHARE MODE write row locks, not rows: a second session sees them as NOWAIT failures
  if (probe) {
    for (const table of FIXTURE_TABLES) {
      await probe.query('START TRANSACTION');
      const locked = await probe.query(`SELECT 1 FROM ${MY_BYPASS_DB}.${table} FOR UPDATE NOWAIT`).then(() => false, () => true);
      await probe.query('ROLLBACK');
      parts.push(`${table}.locked=${locked}`);
    }
  }
  return parts.join(';');
}

async function fpSchema(c: mysql.Connection): Promise<string> {
  const s = `'${MY_BYPASS_DB}'`;
  return JSON.stringify([
    await rows(c, `SELECT table_name, table_type, engine FROM information_schema.tables WHERE table_schema = ${s} ORDER BY 1`),
    await rows(c, `SELECT table_name, column_name, column_type, is_nullable FROM information_schema.columns WHERE table_schema = ${s} ORDER BY 1, ordinal_position`),
    await rows(c, `SELECT table_name, index_name, column_name FROM information_schema.statistics WHERE table_schema = ${s} ORDER BY 1, 2, seq_in_index`),
    await rows(c, `SELECT routine_name, routine_definition FROM information_schema.routines WHERE routine_schema = ${s} ORDER BY 1`),
    await rows(c, `SELECT trigger_name FROM information_schema.triggers WHERE trigger_schema = ${s} ORDER BY 1`),
    await rows(c, `SELECT event_name FROM information_schema.events WHERE event_schema = ${s} ORDER BY 1`),
    await rows(c, `SELECT schema_name FROM information_schema.schemata WHERE schema_name = ${s}`),
  ]);
}

async function fpPrivileges(c: mysql.Connection): Promise<string> {
  return JSON.stringify([
    await rows(c, 'SELECT user, host, priv FROM mysql.global_priv ORDER BY 1, 2'),
    await rows(c, 'SELECT * FROM mysql.db ORDER BY 1, 2, 3'),
    await rows(c, 'SELECT host, db, user, table_name, table_priv FROM mysql.tables_priv ORDER BY 1, 2, 3, 4'),
    await rows(c, 'SELECT * FROM mysql.roles_mapping ORDER BY 1, 2, 3'),
  ]);
}

async function scalar(c: mysql.Connection, sql: string): Promise<unknown> {
  const [r] = await c.query({ sql, rowsAsArray: true });
  return (r as unknown[][])[0]?.[0];
}

async function fingerprint(c: mysql.Connection, p: Proof, probe: mysql.Connection): Promise<string | undefined> {
  switch (p.kind) {
    case 'data': return fpData(c, probe);
    case 'schema': return fpSchema(c);
    case 'privileges': return fpPrivileges(c);
    case 'changes': return JSON.stringify(await scalar(c, `SELECT (${p.expr})`));
    default: return undefined;
  }
}

/** Accounts and files a case may leave behind that no rollback undoes. */
async function cleanServerState(admin: mysql.Connection): Promise<void> {
  const users = await rows(admin, `SELECT user, host FROM mysql.global_priv WHERE user LIKE '${THROWAWAY_USER_PREFIX}%'`);
  for (const u of users as { user: string; host: string }[]) {
    // roles (CREATE ROLE) sit in the same table with an empty host and only go with DROP ROLE
    await admin.query('DROP USER ?@?', [u.user, u.host]).catch(() => admin.query('DROP ROLE ?', [u.user]));
  }
  // the account SET PASSWORD / ALTER USER / GRANT … TO cases act on, fresh for every case
  await admin.query(`CREATE USER ${THROWAWAY_USER_PREFIX}0@'%'`);
  await removeScratchFiles();
}

/** The server's baseline: once it differs after a case (DDL and GRANT commit on their own), the fixture is rebuilt. */
async function baseline(c: mysql.Connection): Promise<string> {
  return `${await fpData(c)}|${await fpSchema(c)}`;
}

let knownBaseline: string | undefined;

async function restore(admin: mysql.Connection): Promise<void> {
  await cleanServerState(admin);
  await admin.query(`USE ${MY_BYPASS_DB}`).catch(() => undefined);
  const now = await baseline(admin).catch(() => 'broken');
  if (knownBaseline === undefined || now !== knownBaseline) {
    await resetFixture(admin);
    knownBaseline = await baseline(admin);
  }
}

function resultText(r: unknown): string {
  // LOAD_FILE() answers a BLOB, which mysql2 hands back as a Buffer
  return JSON.stringify(r, (_k, v: unknown) =>
    v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('latin1') : v);
}

/**
 * Runs a blocked case as root on a fresh connection to dbw_bypass_my, inside a transaction that is rolled back, and
 * throws unless the proof shows the effect. `admin` is a separate connection used to restore the server afterwards.
 */
export async function prove(admin: mysql.Connection, k: BypassCase): Promise<void> {
  const p = k.proof;
  if (!p) throw new Error('a block case needs a proof');
  const c = await connect();
  let victim: mysql.Connection | undefined;
  try {
    let sql = k.sql;
    let victimQuery: Promise<unknown> | undefined;
    if (p.kind === 'victim') {
      victim = await connect();
      const id = String(await scalar(victim, 'SELECT CONNECTION_ID()'));
      sql = sql.split(VICTIM_PLACEHOLDER).join(id);
      if (p.effect === 'cancelled') {
        victimQuery = victim.query('SELECT SLEEP(20)').then((r) => r, (e: unknown) => e);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    const before = await fingerprint(c, p, admin);
    if (k.txn !== false) await c.query('START TRANSACTION');
    let result: unknown;
    let error: Error | undefined;
    try {
      [result] = await c.query(sql);
    } catch (e) {
      error = e as Error;
    }
    const after = await fingerprint(c, p, admin);
    switch (p.kind) {
      case 'data': case 'schema': case 'privileges': case 'changes':
        if (before === after) throw new Error(`proof failed: ${p.kind} unchanged${error ? ` (${error.message})` : ''}`);
        break;
      case 'returns':
        if (error || !p.match.test(resultText(result))) throw new Error(`proof failed: result does not match ${p.match}${error ? ` (${error.message})` : ''}`);
        break;
      case 'then': {
        const ok = await scalar(c, p.check).catch(() => undefined);
        if (p.cleanup) await admin.query(p.cleanup);
        if (!(ok === 1 || ok === '1' || ok === true)) throw new Error(`proof failed: ${p.check} is ${String(ok)}${error ? ` (${error.message})` : ''}`);
        break;
      }
      case 'victim': {
        if (p.effect === 'terminated') {
          const alive = await scalar(victim!, 'SELECT 1').then(() => true, () => false);
          if (alive) throw new Error('proof failed: the victim connection is still alive');
        } else {
          const r = await victimQuery!;
          // a KILL QUERY ends SLEEP() early: MariaDB returns 1 instead of 0, or raises "Query execution was interrupted"
          const interrupted = r instanceof Error ? /interrupt/i.test(r.message) : JSON.stringify(r).includes(':1}');
          if (!interrupted) throw new Error(`proof failed: the victim's query was not cancelled (${JSON.stringify(r)})`);
        }
        break;
      }
      case 'notify':
        throw new Error('proof failed: MySQL has no notifications');
    }
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end().catch(() => undefined);
    victim?.destroy();
    await restore(admin);
  }
}

/** Runs an allowed case on a fresh connection in a rolled-back transaction; throws with the server's error. */
export async function runsCleanly(admin: mysql.Connection, k: BypassCase): Promise<void> {
  const c = await connect();
  try {
    if (k.txn !== false) await c.query('START TRANSACTION');
    await c.query(k.sql);
  } finally {
    await c.query('ROLLBACK').catch(() => undefined);
    await c.end().catch(() => undefined);
    await restore(admin);
  }
}

/** The fixture's state right now, for the suite's own check that proofs are not vacuous. */
export async function initBaseline(admin: mysql.Connection): Promise<void> {
  writeFileSync(MY_INPUT_FILE, 'from a server file\n', { mode: 0o644 });
  await cleanServerState(admin);
  await resetFixture(admin);
  knownBaseline = await baseline(admin);
}
