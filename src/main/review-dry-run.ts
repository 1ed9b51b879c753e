// Review dry runs: before an approver decides on a held statement, the broker runs it in a transaction it rolls back
// and records what it would change (rows per write). Which statements may be dry-run is decided here; the runs
// themselves are protocol work (pg/dry-run.ts, and MySQL through mysql2 below).
//
// Security: the held statement has not been approved, so running it is only acceptable when the rollback undoes
// all of it. Defends against a dry run with lasting effects: only texts made of plain INSERT/UPDATE/DELETE/MERGE
// (and the SELECTs inside them) qualify, with no effect beyond read/write (no DDL, which MySQL commits implicitly; no
// transaction control, which could commit the run; no admin/file/dynamic/session functions). The protocol side
// refuses user-defined functions, triggers and tables that cannot roll back (MyISAM, foreign tables). It runs with
// the grant's own upstream role and timeouts, in the database the session was using.
import { createConnection, type ResultSetHeader } from 'mysql2/promise';
import type { Config } from '../config/schema.js';
import type { DryRunResult, Grant, ReviewRecord } from '../grants/model.js';
import { dryRunPostgres } from '../pg/dry-run.js';
import { analyze } from '../sql/analyze.js';
import type { Dialect, StatementFacts } from '../sql/facts.js';

const WRITES = new Set(['insert', 'update', 'delete', 'merge']);
const TRANSACTIONAL = new Set(['innodb', 'xtradb', 'rocksdb', 'tokudb', 'ndbcluster', 'ndb']);

export interface DryRunPlan {
  /** top-level writes in order (INSERT, UPDATE, …) */
  commands: string[];
  tables: string[];
  functions: string[];
}

/** The plan for a dry run of `text`, or why there will be none. */
export function dryRunPlan(dialect: Dialect, text: string): DryRunPlan | { skipped: string } {
  const facts: StatementFacts[] = analyze(dialect, text);
  const top = facts.filter((f) => !f.nested);
  if (!top.length) return { skipped: 'the text holds no statement' };
  for (const f of facts) {
    if (f.kind === 'unparsed') return { skipped: 'the statement could not be read' };
    if (!WRITES.has(f.kind) && !(f.nested && f.kind === 'select')) return { skipped: `a rollback cannot undo a ${f.kind.toUpperCase()}${f.nested ? ' inside the statement' : ''}; only INSERT, UPDATE, DELETE and MERGE are dry-run` };
    const lasting = f.effects.filter((e) => e !== 'read' && e !== 'write');
    if (lasting.length) return { skipped: `it has ${lasting.join(', ')} effects, which a rollback cannot undo` };
    if (f.nested && WRITES.has(f.kind)) return { skipped: `the ${f.kind.toUpperCase()} is nested in another statement, whose answer does not count its rows` };
  }
  return {
    commands: top.map((f) => f.kind.toUpperCase()),
    tables: [...new Set(facts.flatMap((f) => f.tables.filter((t) => t.op === 'write').map((t) => t.name)))],
    functions: [...new Set(facts.flatMap((f) => f.functions))],
  };
}

export interface DryRunnerDeps {
  targets: Config['targets'];
  getGrant(id: string): Promise<Grant | undefined>;
  now?: () => number;
}

/** The ReviewService's `dryRun` option: plans, then runs on the grant's target. */
export function reviewDryRunner(deps: DryRunnerDeps): (review: ReviewRecord) => Promise<DryRunResult> {
  const at = () => new Date((deps.now ?? Date.now)()).toISOString();
  return async (review) => {
    const t = deps.targets[review.target];
    const grant = await deps.getGrant(review.grantId);
    const role = t && grant ? t.roles[grant.access] : undefined;
    if (!t || !grant || !role) return { at: at(), skipped: 'the grant or its target is no longer configured' };
    const plan = dryRunPlan(t.protocol, review.text);
    if ('skipped' in plan) return { at: at(), ...plan };
    const database = review.database ?? t.databases[0]!;
    if (t.protocol === 'postgres') {
      return dryRunPostgres({
        host: t.host, port: t.port, user: role.user, password: role.password, database, tls: t.tls,
        caFile: t.caFile, serverName: t.serverName, params: new Map(),
      }, { text: review.text, tables: plan.tables, functions: plan.functions }, at);
    }
    return dryRunMysql(t, role, database, review.text, plan, at);
  };
}

type Target = Config['targets'][string];
const my = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

async function dryRunMysql(t: Target, role: { user: string; password?: string }, database: string, text: string, plan: DryRunPlan, at: () => string): Promise<DryRunResult> {
  const ssl = t.tls === 'require' || t.tls === 'verify-full' ? { rejectUnauthorized: t.tls === 'verify-full' } : undefined;
  const c = await createConnection({
    host: t.host, port: t.port, user: role.user, password: role.password ?? '', database, connectTimeout: 10_000,
    multipleStatements: true, ...(ssl ? { ssl } : {}),
  });
  try {
    // what a rollback cannot undo: stored functions (anything inside), triggers, non-transactional tables
    for (const fn of plan.functions) {
      const name = fn.split('.').pop()!;
      const [rows] = await c.query(`SELECT ROUTINE_SCHEMA FROM information_schema.ROUTINES WHERE ROUTINE_TYPE = 'FUNCTION' AND ROUTINE_NAME = ${my(name)} LIMIT 1`);
      if ((rows as unknown[]).length) return { at: at(), skipped: `it calls ${fn}(), a stored function: a rollback might not undo what it does` };
    }
    for (const table of plan.tables) {
      const parts = table.replace(/`/g, '').split('.');
      const name = parts.pop()!;
      const schema = parts.length ? my(parts.pop()!) : 'DATABASE()';
      const [rows] = await c.query(`SELECT ENGINE, (SELECT COUNT(*) FROM information_schema.TRIGGERS g WHERE g.EVENT_OBJECT_SCHEMA = t.TABLE_SCHEMA AND g.EVENT_OBJECT_TABLE = t.TABLE_NAME) AS triggers FROM information_schema.TABLES t WHERE TABLE_SCHEMA = ${schema} AND TABLE_NAME = ${my(name)}`);
      const row = (rows as { ENGINE: string | null; triggers: number }[])[0];
      if (!row) continue; // unknown table: the run fails with the server's own error
      if (!TRANSACTIONAL.has(String(row.ENGINE ?? '').toLowerCase())) return { at: at(), skipped: `${table} uses ${String(row.ENGINE ?? 'no storage engine (a view?)').toUpperCase()}, which cannot roll back` };
      if (Number(row.triggers) > 0) return { at: at(), skipped: `${table} has triggers, whose effects a rollback might not undo` };
    }
    await c.query('SET SESSION innodb_lock_wait_timeout = 2');
    await c.query('SET SESSION max_statement_time = 10').catch(() => undefined); // MariaDB only
    await c.query('START TRANSACTION');
    try {
      const [res] = await c.query(text);
      const headers = (Array.isArray(res) ? (res as unknown[]) : [res]).filter((r): r is ResultSetHeader => !!r && typeof r === 'object' && 'affectedRows' in r);
      const changes = headers.map((h, i) => ({ command: plan.commands[i] ?? 'WRITE', rows: Number(h.affectedRows) }));
      return { at: at(), changes, rows: changes.reduce((n, ch) => n + ch.rows, 0) };
    } catch (e) {
      return { at: at(), error: (e as Error).message };
    } finally {
      await c.query('ROLLBACK').catch(() => undefined);
    }
  } finally {
    await c.end().catch(() => c.destroy());
  }
}
