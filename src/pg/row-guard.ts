// Blast-radius guard for PostgreSQL (rule keys maxRows/maxFraction): runs a limited write inside a transaction
// boundary of the broker's own and lets the client see its result only once the server's count is within the limit.
//
// Defends against a write that touches far more rows than intended (`DELETE … WHERE id > 0`, `IN (SELECT id FROM
// same_table)`, any always-true condition no syntactic check can catch): the server's own CommandComplete count
// decides, before the client sees anything. Outside a transaction the unit runs between BEGIN and COMMIT/ROLLBACK
// of the broker's; inside one between SAVEPOINT and RELEASE/ROLLBACK TO, after which a statement that fails at
// parse time leaves the transaction aborted exactly as a server error would. The broker's own statements and their
// answers never reach the client, and the ReadyForQuery status byte it gets is the one a direct connection gives.
import { randomHex12 } from '../session/random-hex.js';
import { ErrorCode } from '../errors.js';
import { effectiveLimit, needsEstimate, rowLimitMessage } from '../session/verdict.js';
import type { Decision, RowLimit } from '../session/verdict.js';
import type { Session } from '../session/session.js';
import { BackendCode, FrontendCode, TxStatus, brokerFields } from './codes.js';
import { encodeErrorResponse, encodeParse, encodeQuery, readCString, type ErrorFields } from './messages.js';

/** What the relay provides: its sockets, its marker statements and its bookkeeping for client-visible messages. */
export interface RowGuardHost {
  session: Session;
  writeUpstream(buf: Buffer): void;
  writeClient(buf: Buffer): void;
  /** delivers an upstream message to the client through the relay's own handling (ReadyForQuery bookkeeping) */
  deliver(code: number, body: Buffer, raw: Buffer): void;
  /** a statement text the server rejects at parse time, whose error the client sees as `fields` */
  marker(fields: ErrorFields): string;
  /** Query/Sync/FunctionCall forwarded whose ReadyForQuery has not come back (the guarded one excluded) */
  outstanding(): number;
  resumeClient(): void;
  /** turns fetching of every upstream message on (while a guarded unit's answer is read) or back off */
  fetchAll(on: boolean): void;
}

const WRITE_TAG = /^(INSERT \d+|UPDATE|DELETE|MERGE) (\d+)$/;
/** Results of one statement held back while its count is unknown: beyond this many bytes the unit is cut. */
const MAX_HELD_BYTES = 64 << 20;

type Phase = 'idle' | 'lead' | 'prefix' | 'unit' | 'follow';

/** A lone BEGIN / START TRANSACTION (drivers such as pgjdbc send it in the same Sync unit as the first write). */
const LONE_BEGIN = /^\s*(begin|start\s+transaction)\b[^;]*;?\s*$/i;

interface HeldMsg { code: number; body: Buffer; raw: Buffer }

export class PgRowGuard {
  private readonly tag = randomHex12();
  private readonly savepoint = `dbwarden_rg_${this.tag}`;
  /** transaction status after the last ReadyForQuery the client got */
  private tx: number = TxStatus.Idle;
  /** extended-protocol messages since the last Sync, held until it comes (see onSync) */
  private unit: Array<{ raw: Buffer; execute?: boolean }> = [];
  private unitLimit: RowLimit | null = null;
  private unitFlushed = false;
  private unitTxControl = false;
  /** index in `unit` just after a leading BEGIN's Execute (the unit's lead runs before the broker's SAVEPOINT) */
  private leadEnd: number | null = null;
  /** statements and portals that are a lone BEGIN */
  private readonly beginStmts = new Set<string>();
  private readonly beginPortals = new Set<string>();
  /** completions still expected from the lead before the broker's prefix answers */
  private leadLeft = 0;
  /** the lead failed: the server skips the rest to Sync; the client resumes at that ReadyForQuery */
  private resumeAtReady = false;
  /** statement name → limit of its text; portal name → limit of the statement it was bound to */
  private readonly stmts = new Map<string, RowLimit | null>();
  private readonly portals = new Map<string, RowLimit | null>();
  /** a guarded unit waiting for earlier answers (its transaction status must be known) */
  private waiting: { bytes: Buffer[]; limit: RowLimit; simple: boolean; lead?: Lead } | null = null;

  // upstream side
  private phase: Phase = 'idle';
  private mode: 'begin' | 'savepoint' = 'begin';
  private limit: RowLimit | null = null;
  private estimate: number | undefined;
  private estAsked = false;
  private simplePrefix = true;
  private prefixLeft = 0;
  private held: HeldMsg[] = [];
  private heldBytes = 0;
  private refused = false;
  private followLeft = 0;
  private followError: 'forward' | 'swallow' | 'check' = 'swallow';
  /** rows updated or deleted in the transaction before the unit (pg_stat_xact_user_tables), read in the prefix */
  private baseline: number | undefined;
  /** DataRows of the prefix so far (the estimate first when asked for, then the baseline) */
  private prefixRows: Array<number | undefined> = [];
  /** write completions (INSERT/UPDATE/DELETE/MERGE tags) in the unit: each may change up to the limit */
  private writes = 0;
  /** the hidden-rows check failed: the rows it counted, or null when it could not count */
  private lateRows: number | null | undefined;
  private heldReady: HeldMsg | null = null;
  private lastStatus: number = TxStatus.Idle;
  /** the unit's ReadyForQuery already went to the client; the follow-up's answer is only swallowed */
  private released = false;

  constructor(private readonly host: RowGuardHost) {}

  /** True while the guard must see every upstream message first (its own statements' answers). */
  get busy(): boolean {
    return this.phase !== 'idle';
  }

  onReady(status: number): void {
    this.tx = status;
    if (this.resumeAtReady && this.phase === 'idle') {
      this.resumeAtReady = false;
      if (!this.waiting) this.host.resumeClient();
    }
    if (this.waiting && this.phase === 'idle' && this.host.outstanding() === 0) {
      const w = this.waiting;
      this.waiting = null;
      // a unit that runs keeps the client paused until its follow-up is written (unitEnd resumes)
      if (!this.start(w.bytes, w.limit, w.simple, w.lead)) this.host.resumeClient();
    }
  }

  /**
   * A text whose statements cannot run inside the broker's transaction boundary under a row limit: refused.
   * Transaction control in the same text would commit the broker's transaction before the count is checked.
   */
  static refusal(d: Decision): ErrorFields | null {
    const rl = d.rowLimit;
    if (!rl) return null;
    if (rl.uncountable) {
      return brokerFields('ERROR', ErrorCode.STATEMENT_BLOCKED, `dbwarden: blocked by rule ${rl.uncountable.rule}: ${rl.uncountable.why}; nothing was run (run the write on its own to have its rows counted)`);
    }
    if (d.statements.some((s) => s.kind === 'transaction' && !s.nested)) {
      return brokerFields('ERROR', ErrorCode.STATEMENT_BLOCKED, `dbwarden: blocked by rule ${rl.limits[0]!.rule}: a ${rl.kind} under a row limit cannot share a text with transaction control; send the statements separately`);
    }
    return null;
  }

  // ---- client side ----

  /** A simple Query under a row limit: returns true when the client must pause until earlier answers are in. */
  query(raw: Buffer, limit: RowLimit): boolean {
    return this.begin([Buffer.from(raw)], limit, true);
  }

  /** Extended-protocol message (Parse/Bind/Describe/Execute/Close/Flush): held until Sync. */
  extended(code: number, body: Buffer, raw: Buffer, d?: Decision): void {
    const copy = Buffer.from(raw);
    switch (code) {
      case FrontendCode.Parse: {
        const name = readCString(body, 0)[0];
        this.stmts.set(name, d?.rowLimit ?? null);
        this.beginStmts.delete(name);
        const top = d?.statements.filter((s) => !s.nested) ?? [];
        if (top.length === 1 && top[0]!.kind === 'transaction' && LONE_BEGIN.test(top[0]!.text ?? '')) this.beginStmts.add(name);
        else if (top.some((s) => s.kind === 'transaction')) this.unitTxControl = true;
        break;
      }
      case FrontendCode.Bind: {
        const [portal, o1] = readCString(body, 0);
        const stmt = readCString(body, o1)[0];
        this.portals.set(portal, this.stmts.get(stmt) ?? null);
        if (this.beginStmts.has(stmt)) this.beginPortals.add(portal);
        else this.beginPortals.delete(portal);
        break;
      }
      case FrontendCode.Execute: {
        const portal = readCString(body, 0)[0];
        if (this.beginPortals.has(portal)) {
          // a BEGIN ahead of every limited Execute runs first, unwrapped; anywhere else it is transaction control
          // the broker's boundary cannot share a unit with
          this.unit.push({ raw: copy });
          if (this.unitLimit === null && this.leadEnd === null && !this.unitTxControl) this.leadEnd = this.unit.length;
          else this.unitTxControl = true;
          return;
        }
        const rl = this.portals.get(portal);
        if (rl) {
          this.unitLimit = merge(this.unitLimit, rl);
          this.unit.push({ raw: copy, execute: true });
          return;
        }
        break;
      }
      case FrontendCode.Close: {
        const name = readCString(body, 1)[0];
        if (body[0] === 0x53 /* S */) this.stmts.delete(name);
        else this.portals.delete(name);
        break;
      }
      case FrontendCode.Flush:
        // the client wants answers before its Sync: what is held so far goes out as it is (unguarded writes
        // in it are replaced by a refusal: their unit can no longer be wrapped)
        this.unit.push({ raw: copy });
        this.release(false);
        this.unitFlushed = true;
        return;
    }
    this.unit.push({ raw: copy });
  }

  /** Sync: the held unit goes out, wrapped when it executes a limited statement. True = pause the client. */
  sync(raw: Buffer): boolean {
    this.unit.push({ raw: Buffer.from(raw) });
    const limit = this.unitLimit;
    const leadEnd = this.leadEnd;
    this.leadEnd = null;
    if (!limit || this.unitFlushed || this.unitTxControl) {
      this.release(this.unitFlushed || this.unitTxControl);
      this.unitFlushed = false;
      this.unitTxControl = false;
      return false;
    }
    let lead: Lead | undefined;
    if (leadEnd !== null) {
      const part = this.unit.slice(0, leadEnd);
      lead = { bytes: part.map((m) => m.raw), completions: part.filter((m) => m.raw[0] === FrontendCode.Execute).length };
    }
    const bytes = this.unit.slice(leadEnd ?? 0).map((m) => m.raw);
    this.unit = [];
    this.unitLimit = null;
    return this.begin(bytes, limit, false, lead);
  }

  /** Query or FunctionCall in the middle of an extended unit: the unit so far goes out first. */
  interrupt(): void {
    if (this.unit.length) this.release(true);
  }

  /** Writes the held unit unwrapped; limited Executes in it become refusals when `refuse`. */
  private release(refuse: boolean): void {
    for (const m of this.unit) {
      if (m.execute && (refuse || this.unitFlushed)) {
        const fields: ErrorFields = brokerFields('ERROR', ErrorCode.STATEMENT_BLOCKED, `dbwarden: blocked by rule ${this.unitLimit?.limits[0]?.rule ?? 'max-rows'}: a ${this.unitLimit?.kind ?? 'write'} under a row limit must be sent with its Sync and without transaction control in the same pipeline step; nothing was run`);
        this.host.writeUpstream(encodeParse('', this.host.marker(fields)));
      } else {
        this.host.writeUpstream(m.raw);
      }
    }
    this.unit = [];
    if (refuse || !this.unitFlushed) this.unitLimit = null;
  }

  /**
   * True = pause the client. Defends the order of a pipeline: while a guarded unit runs, the client's next messages
   * stay unread until the broker's COMMIT/ROLLBACK/RELEASE behind the unit is written; forwarded earlier, they would
   * run inside the broker's transaction and their answers would be taken for the broker's own.
   */
  private begin(bytes: Buffer[], limit: RowLimit, simple: boolean, lead?: Lead): boolean {
    if (this.host.outstanding() > 0 || this.phase !== 'idle') {
      this.waiting = { bytes, limit, simple, ...(lead ? { lead } : {}) };
      return true;
    }
    return this.start(bytes, limit, simple, lead);
  }

  /** Sends the unit; true when it runs guarded (the client stays paused until unitEnd). */
  private start(bytes: Buffer[], limit: RowLimit, simple: boolean, lead?: Lead): boolean {
    if (this.tx === TxStatus.Failed) {
      // the server refuses everything until ROLLBACK: nothing can change, nothing to count
      for (const b of [...(lead?.bytes ?? []), ...bytes]) this.host.writeUpstream(b);
      return false;
    }
    // after the client's own leading BEGIN the unit runs inside its transaction: a savepoint of the broker's
    this.mode = lead || this.tx !== TxStatus.Idle ? 'savepoint' : 'begin';
    this.limit = limit;
    this.estimate = undefined;
    this.refused = false;
    this.held = [];
    this.heldBytes = 0;
    this.heldReady = null;
    this.simplePrefix = simple;
    const texts = [this.mode === 'begin' ? 'BEGIN' : `SAVEPOINT ${this.savepoint}`];
    const est = needsEstimate(limit) ? estimateQuery(limit.tables) : null;
    if (est) texts.push(est);
    texts.push(BASELINE_SQL);
    this.baseline = undefined;
    this.prefixRows = [];
    this.writes = 0;
    this.lateRows = undefined;
    this.estAsked = est !== null;
    this.host.fetchAll(true);
    if (lead) {
      for (const b of lead.bytes) this.host.writeUpstream(b);
      this.leadLeft = lead.completions;
    }
    if (simple) {
      // the client's own Query drops the unnamed statement anyway, so a Query of the broker's is invisible
      this.host.writeUpstream(encodeQuery(texts.join('; ')));
      this.prefixLeft = 1; // ReadyForQuery
    } else {
      // inside an extended unit a Query would drop the client's unnamed statement: named messages instead
      for (const t of texts) this.host.writeUpstream(ownExtended(`dbwarden_rg_${this.tag}`, t));
      this.prefixLeft = 2 * texts.length; // two CloseCompletes per statement
    }
    this.phase = lead && this.leadLeft > 0 ? 'lead' : 'prefix';
    for (const b of bytes) this.host.writeUpstream(b);
    return true;
  }

  // ---- upstream side ----

  /** Before the mask tracker: answers to the broker's own statements are consumed here. */
  pre(code: number, body: Buffer, raw: Buffer): boolean {
    if (this.phase === 'lead') {
      // the client's own leading messages: their answers are the client's
      if (code === BackendCode.ErrorResponse) {
        // the server now skips everything up to Sync (the broker's prefix and the unit too): stand aside
        this.phase = 'idle';
        this.limit = null;
        this.host.fetchAll(false);
        this.resumeAtReady = true;
      } else if ((code === BackendCode.CommandComplete || code === BackendCode.EmptyQueryResponse) && --this.leadLeft === 0) {
        this.phase = 'prefix';
      }
      return false;
    }
    if (this.phase === 'prefix') {
      if (code === BackendCode.DataRow) this.prefixRows.push(firstNumber(body));
      if (code === BackendCode.ParameterStatus || code === BackendCode.NotificationResponse) return false;
      const end = this.simplePrefix ? code === BackendCode.ReadyForQuery : code === BackendCode.CloseComplete;
      if (end && --this.prefixLeft === 0) {
        this.phase = 'unit';
        this.estimate = this.estAsked ? this.prefixRows[0] : undefined;
        this.baseline = this.prefixRows[this.estAsked ? 1 : 0];
      }
      return true;
    }
    if (this.phase === 'follow') {
      if (code === BackendCode.ParameterStatus || code === BackendCode.NotificationResponse) return false;
      if (code === BackendCode.ErrorResponse && this.followError === 'check') {
        // the hidden-rows check refused (its error carries the count) or could not run: fail closed
        const m = /dbwarden_rows:(\d+)/.exec(body.toString('utf8'));
        this.lateRows = m ? Number(m[1]) : null;
        return true;
      }
      if (code === BackendCode.ReadyForQuery && this.followError === 'check') {
        this.lastStatus = body[0]!;
        this.afterCheck();
        return true;
      }
      if (code === BackendCode.ErrorResponse && this.followError === 'forward') {
        // COMMIT failed (a deferred constraint): the client sees it as a direct connection would, at its Sync
        this.host.deliver(code, body, raw);
        return true;
      }
      if (code === BackendCode.ReadyForQuery) {
        this.lastStatus = body[0]!;
        if (--this.followLeft === 0) this.finish(this.lastStatus);
      }
      return true;
    }
    return false;
  }

  /** After the mask tracker: the client's own answers, held until the count is known. True = consumed. */
  post(code: number, body: Buffer, raw: Buffer): boolean {
    if (this.phase !== 'unit') return false;
    if (this.refused) {
      if (code === BackendCode.ReadyForQuery) this.unitEnd(code, body, raw);
      // what a direct connection would still have shown before the error
      else if (code === BackendCode.ParameterStatus || code === BackendCode.NotificationResponse || code === BackendCode.NoticeResponse) return false;
      return true;
    }
    switch (code) {
      case BackendCode.CommandComplete: {
        const m = WRITE_TAG.exec(readCString(body, 0)[0]);
        const rows = m ? Number(m[2]) : 0;
        if (m) this.writes++;
        const lim = m ? effectiveLimit(this.limit!, this.estimate) : null;
        if (lim && rows > lim.limit) {
          this.refuse(rows, lim.rule, lim.limit, m![1]!.split(' ')[0]!);
          return true;
        }
        this.releaseHeld();
        return false;
      }
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
      case BackendCode.ErrorResponse:
        this.releaseHeld();
        return false;
      case BackendCode.ReadyForQuery:
        this.releaseHeld();
        this.unitEnd(code, body, raw);
        return true;
      default:
        this.held.push({ code, body: Buffer.from(body), raw: Buffer.from(raw) });
        this.heldBytes += raw.length;
        if (this.heldBytes > MAX_HELD_BYTES) {
          // fail closed: rows beyond this are not held, so the statement is refused rather than let through
          const lim = effectiveLimit(this.limit!, this.estimate);
          this.refuse(this.held.filter((h) => h.code === BackendCode.DataRow).length, lim?.rule ?? this.limit!.limits[0]!.rule, lim?.limit ?? 0);
        }
        return true;
    }
  }

  private releaseHeld(): void {
    const h = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const m of h) this.host.deliver(m.code, m.body, m.raw);
  }

  private refuse(rows: number, rule: string, limit: number, kind = this.limit!.kind): void {
    this.refused = true;
    this.held = [];
    this.heldBytes = 0;
    const p = this.host.session.statements.current();
    if (p) this.host.session.refuseByRows(p, rule, rows, limit);
    this.host.writeClient(encodeErrorResponse(brokerFields('ERROR', ErrorCode.STATEMENT_BLOCKED, rowLimitMessage(rule, kind, rows, limit))));
    this.host.session.statements.result(null, false);
  }

  private unitEnd(code: number, body: Buffer, raw: Buffer): void {
    const status = body[0]!;
    this.heldReady = { code, body: Buffer.from(body), raw: Buffer.from(raw) };
    if (!this.refused && status === TxStatus.InBlock) {
      // Defends against rows the command tag does not count: ON DELETE/UPDATE CASCADE and SET NULL foreign keys,
      // triggers and DO ALSO rules that update or delete other rows (`DELETE FROM parent WHERE id = 1` reports
      // DELETE 1 and cascades to 50,000 children). The server's own per-transaction counters of updated and deleted
      // rows in every user table (pg_stat_xact_user_tables, which include subtransactions) are read against the
      // baseline taken in the prefix before anything commits; rows added by triggers (audit logs) are not losses
      // and are not counted here. Each write of the unit may change up to the limit.
      const lim = effectiveLimit(this.limit!, this.estimate);
      if (lim && this.baseline !== undefined) {
        this.host.writeUpstream(encodeQuery(checkQuery(this.baseline, lim.limit * Math.max(1, this.writes))));
        this.followError = 'check';
        this.followLeft = 1;
        this.phase = 'follow';
        return;
      }
      if (lim) {
        // no baseline (the prefix gave no row): the hidden rows cannot be counted, fail closed
        this.lateRows = null;
        return this.afterCheck();
      }
    }
    this.afterCheck();
  }

  /** The hidden-rows check answered (or was not needed): refuse late, or end the unit as before. */
  private afterCheck(): void {
    const r = this.heldReady!;
    const code = r.code;
    const body = r.body;
    const raw = r.raw;
    const status = body[0]!;
    if (this.lateRows !== undefined) {
      const lim = effectiveLimit(this.limit!, this.estimate);
      const rule = lim?.rule ?? this.limit!.limits[0]!.rule;
      const limit = lim?.limit ?? 0;
      const why = this.lateRows === null
        ? `dbwarden: blocked by rule ${rule}: the rows this ${this.limit!.kind} changed through foreign keys, triggers or rules could not be counted; nothing was changed`
        : rowLimitMessage(rule, this.limit!.kind, this.lateRows, limit, ' (rows changed through foreign-key actions, triggers or rules count too)');
      this.refused = true;
      this.host.session.refuseLateByRows(rule, this.lateRows, limit);
      this.lateRows = undefined;
      this.host.writeClient(encodeErrorResponse(brokerFields('ERROR', ErrorCode.STATEMENT_BLOCKED, why)));
    }
    const q = (t: string) => this.host.writeUpstream(encodeQuery(t));
    this.followError = 'swallow';
    if (this.mode === 'begin') {
      if (status === TxStatus.Idle) return this.finish(status); // cannot happen: the text had no transaction control
      if (this.refused || status === TxStatus.Failed) {
        q('ROLLBACK');
        this.followLeft = 1;
      } else {
        q('COMMIT');
        this.followError = 'forward';
        this.followLeft = 1;
      }
    } else if (this.refused) {
      q(`ROLLBACK TO SAVEPOINT ${this.savepoint}; RELEASE SAVEPOINT ${this.savepoint}`);
      // fails at parse time: the client's transaction is left aborted, as after a server error
      q(`dbwarden_row_limit_${this.tag}`);
      this.followLeft = 2;
    } else if (status === TxStatus.InBlock) {
      // RELEASE of the savepoint just made cannot fail in an open transaction: the client gets its answer now
      // and the RELEASE's answer is swallowed when it comes (saves a round trip per statement)
      q(`RELEASE SAVEPOINT ${this.savepoint}`);
      this.followLeft = 1;
      this.phase = 'follow';
      this.released = true;
      this.heldReady = null;
      this.host.deliver(code, body, raw);
      this.resumeUnlessWaiting();
      return;
    } else {
      return this.finish(status);
    }
    this.phase = 'follow';
    this.resumeUnlessWaiting();
  }

  /**
   * Lets the client's next messages in while the follow-up runs, unless a guarded unit of a pipeline is waiting:
   * then the messages behind it must stay unread until it has run (onReady starts it and resumes), or a later
   * statement would overtake it and its answer would reach the client out of order.
   */
  private resumeUnlessWaiting(): void {
    if (!this.waiting) this.host.resumeClient();
  }

  /** The client gets the unit's ReadyForQuery with the status its connection really has now. */
  private finish(status: number): void {
    const r = this.heldReady;
    this.heldReady = null;
    this.phase = 'idle';
    this.limit = null;
    this.host.fetchAll(false);
    if (this.released) {
      this.released = false;
      // a guarded unit that came meanwhile waited for this
      this.onReady(this.tx);
      return;
    }
    const raw = Buffer.from(r!.raw);
    raw[5] = status;
    this.host.deliver(r!.code, raw.subarray(5), raw);
    // unless delivering it started a waiting unit, the client's next messages may come now
    if (this.phase === 'idle') this.resumeUnlessWaiting();
  }
}

/** The part of a unit ahead of its limited Executes that runs unwrapped (a leading BEGIN and what precedes it). */
interface Lead { bytes: Buffer[]; completions: number }

function merge(a: RowLimit | null, b: RowLimit): RowLimit {
  if (!a) return b;
  return { kind: a.kind, tables: [...new Set([...a.tables, ...b.tables])], limits: [...a.limits, ...b.limits.filter((l) => !a.limits.some((x) => x.rule === l.rule))] };
}

/** The largest planner estimate (pg_class.reltuples) among the written tables; -1 (never analysed) reads as unknown. */
function estimateQuery(tables: string[]): string | null {
  if (!tables.length) return null;
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  const quoted = tables.map((t) => lit(t.split('.').map((p) => `"${p.replace(/"/g, '""')}"`).join('.')));
  return `SELECT max(reltuples)::bigint FROM pg_catalog.pg_class WHERE oid IN (${quoted.map((q) => `pg_catalog.to_regclass(${q})`).join(', ')}) AND reltuples >= 0`;
}

/** Rows updated or deleted so far in this transaction, in every user table (server-side counters). */
const XACT_CHANGED = 'SELECT pg_catalog.int8pl(n_tup_upd, n_tup_del) AS n FROM pg_catalog.pg_stat_xact_user_tables';
const BASELINE_SQL = `SELECT COALESCE(pg_catalog.sum(n), 0)::pg_catalog.int8 FROM (${XACT_CHANGED}) dbwarden_rg`;

/** Fails (with the count in its message) when more than `limit` rows were updated or deleted since `base`. */
function checkQuery(base: number, limit: number): string {
  const n = `pg_catalog.int8mi(COALESCE(pg_catalog.sum(n), 0)::pg_catalog.int8, ${Math.trunc(base)})`;
  return `SELECT pg_catalog.int4(pg_catalog.concat('dbwarden_rows:', ${n})) FROM (${XACT_CHANGED}) dbwarden_rg HAVING pg_catalog.int8gt(${n}, ${Math.trunc(limit)})`;
}

function firstNumber(body: Buffer): number | undefined {
  if (body.length < 6 || body.readInt16BE(0) < 1) return undefined;
  const len = body.readInt32BE(2);
  if (len < 0) return undefined;
  const n = Number(body.toString('utf8', 6, 6 + len));
  return Number.isFinite(n) ? n : undefined;
}

/** Parse + Bind + Execute + Close statement + Close portal of one statement of the broker's, under a private name. */
function ownExtended(name: string, text: string): Buffer {
  const cs = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
  const msg = (code: number, body: Buffer) => {
    const h = Buffer.alloc(5);
    h[0] = code;
    h.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([h, body]);
  };
  return Buffer.concat([
    encodeParse(name, text),
    msg(FrontendCode.Bind, Buffer.concat([cs(name), cs(name), Buffer.from([0, 0, 0, 0, 0, 0])])),
    msg(FrontendCode.Execute, Buffer.concat([cs(name), Buffer.from([0, 0, 0, 0])])),
    msg(FrontendCode.Close, Buffer.concat([Buffer.from('S'), cs(name)])),
    msg(FrontendCode.Close, Buffer.concat([Buffer.from('P'), cs(name)])),
  ]);
}
