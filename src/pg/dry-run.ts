// Review dry runs on PostgreSQL: the held statement runs on a side connection of the grant's upstream role inside
// BEGIN … ROLLBACK, and the approver is shown each write's command tag count.
//
// Running a statement nobody has approved yet is only acceptable when the rollback undoes all of it. Defends against
// a dry run that leaks effects: the caller passes only plain INSERT/UPDATE/DELETE/MERGE texts (no DDL, no
// transaction control, no admin/file/dynamic functions), and this module refuses, before BEGIN, texts that call
// functions defined outside pg_catalog (dblink, user functions: anything could happen inside), write tables with
// user triggers (a trigger body is such a function) or write anything but an ordinary table (foreign tables may
// not roll back). Timeouts bound the locks the run holds. Sequences advanced by the run stay advanced.
import type { DryRunResult } from '../grants/model.js';
import { BackendCode } from './codes.js';
import { MessageReader } from './message-reader.js';
import { decodeFields, encodeQuery } from './messages.js';
import { connectUpstream, type UpstreamOptions } from './upstream-connection.js';

export interface PgDryRunPlan {
  text: string;
  /** tables the text writes, as written (schema-qualified or not) */
  tables: string[];
  /** functions the text calls, lower-case, as written */
  functions: string[];
}

const WRITES = /^(INSERT \d+|UPDATE|DELETE|MERGE) (\d+)$/;
/** standard_conforming_strings is forced on first, so doubling quotes is the whole escape */
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

interface Answer { rows: (string | null)[][]; tags: string[]; error?: string }

export async function dryRunPostgres(upstream: UpstreamOptions, plan: PgDryRunPlan, now: () => string = () => new Date().toISOString()): Promise<DryRunResult> {
  const c = await connectUpstream({ ...upstream, params: new Map([['application_name', 'dbwarden-dry-run']]), timeoutMs: 10_000 });
  c.socket.on('error', () => undefined);
  const reader = new MessageReader(c.socket, 16 << 20);
  c.socket.resume();
  const query = async (sql: string): Promise<Answer> => {
    c.socket.write(encodeQuery(sql));
    const a: Answer = { rows: [], tags: [] };
    for (;;) {
      const { code, body } = await reader.readTyped(30_000);
      if (code === BackendCode.DataRow) {
        const n = body.readInt16BE(0);
        const row: (string | null)[] = [];
        for (let i = 0, off = 2; i < n; i++) {
          const len = body.readInt32BE(off);
          off += 4;
          row.push(len < 0 ? null : body.toString('utf8', off, off + len));
          if (len > 0) off += len;
        }
        a.rows.push(row);
      } else if (code === BackendCode.CommandComplete) {
        a.tags.push(body.toString('utf8', 0, body.length - 1));
      } else if (code === BackendCode.ErrorResponse) {
        a.error ??= decodeFields(body).get('M');
      } else if (code === BackendCode.ReadyForQuery) {
        return a;
      }
    }
  };
  const must = async (sql: string) => {
    const a = await query(sql);
    if (a.error) throw new Error(a.error);
    return a;
  };
  try {
    await must(`SET standard_conforming_strings = on; SET statement_timeout = '10s'; SET lock_timeout = '2s'; SET idle_in_transaction_session_timeout = '30s'`);
    const skipped = await whyNot(plan, must);
    if (skipped) return { at: now(), skipped };
    await must('BEGIN');
    const a = await query(plan.text);
    await query('ROLLBACK');
    if (a.error) return { at: now(), error: a.error };
    const changes = a.tags.flatMap((t) => {
      const m = WRITES.exec(t);
      return m ? [{ command: m[1]!.split(' ')[0]!, rows: Number(m[2]) }] : [];
    });
    return { at: now(), changes, rows: changes.reduce((n, ch) => n + ch.rows, 0) };
  } finally {
    c.socket.end(Buffer.from([0x58, 0, 0, 0, 4])); // Terminate
  }
}

/** Why a rollback might not undo the text, read from the catalog; null when it will. */
async function whyNot(plan: PgDryRunPlan, must: (sql: string) => Promise<Answer>): Promise<string | null> {
  for (const name of plan.functions) {
    const parts = name.split('.');
    const fn = parts.pop()!;
    const schema = parts.pop();
    if (schema === 'pg_catalog') continue;
    const where = schema ? `n.nspname = ${lit(schema)}` : `n.nspname NOT IN ('pg_catalog', 'information_schema')`;
    const r = await must(`SELECT n.nspname FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace WHERE p.proname = ${lit(fn)} AND ${where} LIMIT 1`);
    if (r.rows.length) return `it calls ${name}(), a function defined outside pg_catalog: a rollback might not undo what it does`;
  }
  for (const t of plan.tables) {
    const r = await must(`SELECT c.relkind, (SELECT count(*) FROM pg_catalog.pg_trigger g WHERE g.tgrelid = c.oid AND NOT g.tgisinternal) FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass(${lit(t)})`);
    const [kind, triggers] = r.rows[0] ?? [];
    if (kind === undefined) continue; // unknown table: the run fails with the server's own error
    if (kind !== 'r' && kind !== 'p') return `it writes ${t}, which is not an ordinary table (a view or foreign table may not roll back)`;
    if (Number(triggers) > 0) return `${t} has triggers, whose effects a rollback might not undo`;
  }
  return null;
}
