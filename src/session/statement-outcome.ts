// What happened to each forwarded statement (audit fields, docs/audit.md): rows, duration and outcome, completed when its result ends.
//
// Defends against an audit trail that says less than the truth: a statement the broker allowed but the server
// refused is recorded as `server_error` with the SQLSTATE/errno, one refused by the broker after forwarding
// (a row limit) as `refused`, and every forwarded one with the rows the server reported and how long it ran.
// Cheap on the hot path: nothing per row; one line per statement, written when its result completes, and flushed
// (see Session.flushAudit) before the client can see that result end, so a crash never loses an event whose
// result reached the client.
import type { AuditEvent } from '../audit/events.js';

export type StatementEvent = Extract<AuditEvent, { type: 'statement' }>;
export type Outcome = 'forwarded' | 'refused' | 'server_error';

export interface PendingStatement {
  event: StatementEvent;
  t0: number;
  rows: number;
  /** a completion reported a count (CommandComplete with a number, OK packet, result-set rows) */
  counted: boolean;
  /** rows the server reported as written (INSERT/UPDATE/DELETE/MERGE/COPY FROM) */
  written: number;
  error?: string;
  refusedBy?: string;
  limit?: number;
}

/** Completes a pending statement into its audit event (the caller records it). */
export function finishEvent(p: PendingStatement, now = performance.now()): StatementEvent {
  const e = p.event;
  e.duration_ms = Math.round((now - p.t0) * 1000) / 1000;
  if (p.refusedBy !== undefined) {
    e.outcome = 'refused';
    e.action = 'block';
    if (!e.rules.includes(p.refusedBy)) e.rules = [p.refusedBy, ...e.rules];
    e.refusedBy = p.refusedBy;
    e.rows = 0;
    e.wouldChange = p.rows;
    if (p.limit !== undefined) e.limit = p.limit;
  } else if (p.error !== undefined) {
    e.outcome = 'server_error';
    e.error = p.error;
    if (p.counted) e.rows = p.rows;
  } else {
    e.outcome = 'forwarded';
    if (p.counted) e.rows = p.rows;
  }
  return e;
}

/**
 * Pending statements grouped by the unit whose end completes them: a PostgreSQL Query or extended-protocol run up
 * to Sync (ended by ReadyForQuery), or one MySQL command (ended with its response). Results inside a unit are
 * matched to its statements in order; extra ones go to the last (a multi-statement Query has one entry).
 */
export class StatementLog {
  /** units still waiting for their end; the last one is open (new statements join it) */
  private units: Array<{ items: PendingStatement[]; at: number }> = [{ items: [], at: 0 }];

  constructor(private readonly complete: (p: PendingStatement) => void) {}

  push(p: PendingStatement): void {
    this.units[this.units.length - 1]!.items.push(p);
  }

  /** The statement decided last, if it is still in the open unit (MySQL claims it for its command). */
  takeLast(): PendingStatement | undefined {
    return this.units[this.units.length - 1]!.items.pop();
  }

  /** Closes the open unit: what is pushed from now on belongs to the next one. */
  closeUnit(): void {
    this.units.push({ items: [], at: 0 });
  }

  /** The statement the next result of the oldest unit belongs to. */
  current(): PendingStatement | undefined {
    const u = this.units[0]!;
    return u.items[Math.min(u.at, u.items.length - 1)];
  }

  /** One statement's result in the oldest unit ended: `rows` from its completion (null when it carries none). */
  result(rows: number | null, written: boolean, error?: string): void {
    const u = this.units[0]!;
    const p = u.items[Math.min(u.at, u.items.length - 1)];
    u.at++;
    if (!p) return;
    if (error !== undefined) p.error ??= error;
    if (rows !== null) {
      p.rows += rows;
      p.counted = true;
      if (written) p.written += rows;
    }
  }

  /** The oldest unit ended (ReadyForQuery): its statements are complete. */
  endUnit(): void {
    const u = this.units.length > 1 ? this.units.shift()! : this.units[0]!;
    if (this.units.length === 0) this.units.push({ items: [], at: 0 });
    const items = u.items;
    if (u === this.units[0]) {
      u.items = [];
      u.at = 0;
    }
    for (const p of items) this.complete(p);
  }

  /** Completes everything still pending (the session ends). */
  drain(): void {
    const all = this.units.flatMap((u) => u.items);
    this.units = [{ items: [], at: 0 }];
    for (const p of all) this.complete(p);
  }
}
