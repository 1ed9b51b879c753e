// The relay between an authenticated client and its upstream: forwards bytes as they lie, decides every
// Query/Parse/FunctionCall, carries out the decision, and ends the session at a message boundary when told.
import { randomHex12 } from '../session/random-hex.js';
import type { Duplex } from 'node:stream';
import { Outbox } from '../wire/outbox.js';
import { attachRelay, holdUntilDrained } from '../wire/pipe.js';
import { ENDING_GRACE, runEnding } from '../wire/ending.js';
import { BrokerError, ErrorCode, isBrokerError } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import { derivedMask, refusalOf, refuses, strictestMask, type ColumnMask, type Decision } from '../session/verdict.js';
import type { Session, TerminationReason } from '../session/session.js';
import { BackendCode, FrontendCode, GUARDRAIL_HINT, brokerFields, sqlStateOf } from './codes.js';
import type { ColumnCatalog } from './catalog.js';
import { MessageScanner, fetchSet } from './framer.js';
import { MaskTracker } from './mask-tracker.js';
import { SessionLineage } from './lineage-catalog.js';
import { PgRowGuard } from './row-guard.js';
import { commandRows } from './command-tag.js';
import { PgReadingState, builtinBlock } from './reading-state.js';
import {
  DecodeError,
  decodeFields,
  decodeQuery,
  parseTextBounds,
  queryTextBounds,
  encodeErrorResponse,
  encodeNoticeResponse,
  encodeParse,
  encodeQuery,
  readCString,
  type ErrorFields,
} from './messages.js';

export interface RelayOptions {
  metrics: Metrics;
  maxQueryBytes: number;
  standardConformingStrings: boolean;
  /** the session's client_encoding as the upstream reported it at startup */
  clientEncoding?: string;
  cancel(): Promise<void>;
  /** present when mask rules apply to this session: result rows are then inspected and rewritten */
  masking?: { masks: ColumnMask[]; catalog: ColumnCatalog; hashKey: Buffer };
}

// Execute is read to know that a statement ran before the Sync (it may change the reading: PgReadingState.onExecute)
const CLIENT_FETCH = [FrontendCode.Query, FrontendCode.Parse, FrontendCode.Execute, FrontendCode.FunctionCall, FrontendCode.Terminate, FrontendCode.Sync];
const UPSTREAM_FETCH = [BackendCode.ErrorResponse, BackendCode.ReadyForQuery, BackendCode.ParameterStatus, BackendCode.CommandComplete];
/** With a row limit in force, extended-protocol units are held until Sync (see PgRowGuard). */
const CLIENT_FETCH_ROW_GUARD = [FrontendCode.Bind, FrontendCode.Describe, FrontendCode.Execute, FrontendCode.Close, FrontendCode.Flush];
/** With masking, the relay follows statements to their rows (see MaskTracker). Without it none of these are read. */
const CLIENT_FETCH_MASKING = [FrontendCode.Bind, FrontendCode.Describe, FrontendCode.Execute, FrontendCode.Close];
const UPSTREAM_FETCH_MASKING = [
  BackendCode.ParseComplete, BackendCode.BindComplete, BackendCode.CloseComplete, BackendCode.NoData, BackendCode.RowDescription,
  BackendCode.DataRow, BackendCode.CommandComplete, BackendCode.EmptyQueryResponse, BackendCode.PortalSuspended, BackendCode.NoticeResponse,
  BackendCode.NotificationResponse,
];
/** Upstream messages the relay inspects are small; anything this large is not a real ErrorResponse. */
const MAX_UPSTREAM_FETCH = 64 << 20;
const TERMINATE = Buffer.from([FrontendCode.Terminate, 0, 0, 0, 4]);

/** The core's refusal as an ErrorResponse: its BRK_* code mapped to SQLSTATE, the guardrail hint and routine. */
export function refusalFields(decision: Decision): ErrorFields {
  const r = refusalOf(decision);
  if (r.syntaxError) {
    const { message, position } = r.syntaxError;
    // the server's grammar said no, not a rule: the server's message and position, and none of the guardrail
    // markers (hint, dbwarden_ routine) by which tools tell a refusal from the server's own errors
    return { severity: 'ERROR', code: sqlStateOf(ErrorCode.SYNTAX_ERROR), message, ...(position ? { position } : {}) };
  }
  return brokerFields('ERROR', r.code, r.message, { hint: r.hint ?? GUARDRAIL_HINT });
}

export class PgRelay {
  private readonly clientScanner: MessageScanner;
  private readonly upstreamScanner: MessageScanner;
  /** messages of the broker's own waiting for an upstream message boundary */
  private pendingToClient: Buffer[] = [];
  /** marker token → the error the client must see instead of the upstream's syntax error */
  private readonly markers = new Map<string, ErrorFields>();
  private readonly markerPrefix = `dbwarden_blocked_${randomHex12()}_`;
  private markerSeq = 0;
  /** Query/Sync/FunctionCall sent whose ReadyForQuery has not come back */
  private pendingSyncs = 0;
  /** extended-protocol messages sent since the last Sync (an Execute may be running under Flush) */
  private unsynced = false;
  /** client encoding and reading settings; reading barriers pause the client stream */
  private readonly reading: PgReadingState;
  /** a Query held back until every earlier message has completed (see PgReadingState.sensitive) */
  private deferred: { code: number; body: Buffer; raw: Buffer } | null = null;
  private ending: { code: ErrorCode; message: string } | null = null;
  private endingRun: { finish(cut: boolean): void } | null = null;
  private closed = false;
  private lastUpstreamFatal = false;
  private clientBytes = 0;
  private upstreamBytes = 0;
  private readonly tracker: MaskTracker | null;
  private readonly lineage: SessionLineage | null;
  private readonly rowGuard: PgRowGuard | null;
  private readonly upstreamFetch: Uint8Array;
  private readonly upstreamFetchNormal: Uint8Array;

  constructor(
    private readonly client: Duplex,
    private readonly upstream: Duplex,
    private readonly session: Session,
    private readonly opts: RelayOptions,
  ) {
    this.upstreamOut = new Outbox(upstream);
    this.clientOut = new Outbox(client);
    this.reading = new PgReadingState(opts.clientEncoding ?? 'UTF8', opts.standardConformingStrings);
    const m = opts.masking;
    this.lineage = m && m.masks.length ? new SessionLineage(m.catalog, m.masks) : null;
    this.tracker = m && m.masks.length && this.lineage
      ? new MaskTracker(m.masks, m.catalog, m.hashKey, derivedMask(strictestMask(m.masks)), (col) => this.lineage!.viewMask(col), (status) => this.lineage!.ready(status), (op) => this.session.cursorConfirmed(op))
      : null;
    if (this.lineage) session.lineage = () => this.lineage!.schema();
    this.rowGuard = session.guard.hasRowLimits ? this.createRowGuard() : null;
    const clientFetch = fetchSet([...CLIENT_FETCH, ...(this.tracker ? CLIENT_FETCH_MASKING : []), ...(this.rowGuard ? CLIENT_FETCH_ROW_GUARD : [])]);
    this.clientFetch = clientFetch;
    const upstreamFetch = fetchSet(this.tracker ? [...UPSTREAM_FETCH, ...UPSTREAM_FETCH_MASKING] : UPSTREAM_FETCH);
    this.upstreamFetch = upstreamFetch;
    this.upstreamFetchNormal = Uint8Array.from(upstreamFetch);
    this.clientScanner = new MessageScanner(clientFetch, opts.maxQueryBytes, {
      onForward: (b) => this.upstreamOut.write(b),
      onMessage: (code, body, raw) => {
        // a text that would read differently under another encoding or quoting waits until what runs before it is
        // done (a function can change client_encoding where the broker cannot see it). A Parse waits for the answers
        // of earlier pipelines the same way: their Executes' setting changes arrive just before their ReadyForQuery
        // (a Query or Parse after unsynced messages cannot wait for a Sync that has not been sent: PgReadingState
        // refuses it instead when an Execute or a barrier came before it)
        if ((code === FrontendCode.Query || code === FrontendCode.Parse) && this.pendingSyncs > 0 && sensitiveText(code, body)) {
          this.deferred = { code, body: Buffer.from(body), raw: Buffer.from(raw) };
          this.reading.holding = true;
          return true;
        }
        // lineage may hold the message until the catalog is read again; a row-guarded unit waits for earlier answers
        const held = this.onClientMessageWhenTraced(code, body, raw);
        const readingPause = this.reading.takePause();
        return held || readingPause;
      },
    });
    this.upstreamScanner = new MessageScanner(upstreamFetch, MAX_UPSTREAM_FETCH, {
      onForward: (b) => this.clientOut.write(b),
      onMessage: (code, body, raw) => this.onUpstreamMessage(code, body, raw),
    });
    session.partials?.attach((message) => this.fail(ErrorCode.PROTOCOL_VIOLATION, message));
    session.control = {
      terminate: (reason, message) => this.terminate(reason, message),
      notice: (message) => this.toClient(encodeNoticeResponse(brokerFields('WARNING', ErrorCode.WARNING, message))),
      cancel: () => void this.opts.cancel(),
    };
  }

  start(clientRest: Buffer, upstreamRest: Buffer): void {
    attachRelay(this.client, this.upstream, {
      onClientData: (chunk) => this.onClientData(chunk),
      onUpstreamData: (chunk) => this.onUpstreamData(chunk),
      onClientClose: () => this.onClientClose(),
      onUpstreamClose: () => this.onUpstreamClose(),
    }, clientRest, upstreamRest);
  }

  // ---- client → upstream ----

  /** Upstream-bound bytes of one client chunk: one write when it is done (an extended-protocol run is one view). */
  private readonly upstreamOut: Outbox;

  private onClientData(chunk: Buffer): void {
    if (this.ending || this.closed) return;
    this.clientBytes += chunk.length;
    const outer = this.upstreamOut.open();
    try {
      this.clientScanner.push(chunk);
    } catch (e) {
      const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
      this.session.log.info({ err: err.message }, 'client protocol error');
      this.fail(ErrorCode.PROTOCOL_VIOLATION, `dbwarden: ${err.message}`);
    } finally {
      if (outer) this.upstreamOut.flush();
    }
    this.trackPartials();
    // backpressure: stop reading the client while the upstream cannot take more
    holdUntilDrained(this.client, this.upstream, () => !this.reading.holding);
    if (this.reading.holding) this.client.pause();
    if (this.clientBytes > 1 << 20) this.flushByteCounters();
  }

  /**
   * After this session's DDL the lineage catalog is read again; a statement arriving before that read is in
   * waits for it (its masks must be traced through the new definitions), bytes after it are held.
   */
  private onClientMessageWhenTraced(code: number, body: Buffer, raw: Buffer): boolean {
    const wait = code === FrontendCode.Query || code === FrontendCode.Parse ? this.lineage?.pending() ?? this.functionCheck(code, body)
      : code === FrontendCode.Bind ? this.bindCheck(body) : undefined;
    if (!wait) return this.onClientMessage(code, body, raw) === true;
    const heldBody = Buffer.from(body);
    const heldRaw = Buffer.from(raw);
    void wait.then(() => {
      if (this.closed) return;
      this.upstream.cork();
      try {
        // a row-guarded unit that waits for earlier answers, or a reading barrier, resumes the scanner itself
        const held = this.onClientMessage(code, heldBody, heldRaw) === true;
        if (!this.reading.takePause() && !held) this.clientScanner.resume();
      } catch (e) {
        const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
        this.fail(ErrorCode.PROTOCOL_VIOLATION, `dbwarden: ${err.message}`);
      } finally {
        this.upstream.uncork();
      }
    });
    return true;
  }

  /**
   * A read grant's text that reaches user functions waits for them to be checked against the live catalog, so it
   * is decided by their current definitions (a function replaced since the last snapshot). Errors in the message
   * are left to the normal path.
   */
  private functionCheck(code: number, body: Buffer): Promise<void> | undefined {
    if (!this.session.checksFunctions) return undefined;
    try {
      let bytes: Buffer;
      if (code === FrontendCode.Query) bytes = body.subarray(0, body.length - 1);
      else {
        const at = body.indexOf(0) + 1;
        bytes = body.subarray(at, body.indexOf(0, at));
      }
      const r = this.reading.decode(bytes);
      return r.ok ? this.session.functionCheck(r.text, this.reading.readOptions()) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Prepared statements (read grants) whose decision trusted user functions: name → text and those functions. Each
   * Bind of one waits for the functions to be re-validated and is decided again (onBind): a function replaced
   * between Parse and a later execution is decided by its new definition, not by the Parse-time entry.
   */
  private readonly trustedStmts = new Map<string, { text: string; names: string[] }>();
  /** which client messages the scanner hands over whole (Bind and Close join it once a statement is tracked) */
  private clientFetch: Uint8Array = new Uint8Array(256);

  private bindCheck(body: Buffer): Promise<void> | undefined {
    if (!this.trustedStmts.size) return undefined;
    try {
      const [, o1] = readCString(body, 0);
      const t = this.trustedStmts.get(readCString(body, o1)[0]);
      return t ? this.session.functionCatalog?.revalidate?.(t.names) : undefined;
    } catch {
      return undefined;
    }
  }

  /** After a Parse decision: remember (or forget) the statement for Bind-time re-decisions. */
  /** `text`: the statement's text, decoded only when a statement trusted user functions (rare, see decideText). */
  private trackTrusted(name: string, text: () => string, d: Decision): void {
    this.trustedStmts.delete(name);
    if (!this.session.checksFunctions || this.refused(d)) return;
    const names = this.session.functionCatalog?.trusted?.(d.statements) ?? [];
    // bounded: past the bound the oldest entries go (their Binds are then not re-decided)
    if (this.trustedStmts.size >= 10_000) this.trustedStmts.delete(this.trustedStmts.keys().next().value!);
    if (!names.length) return;
    this.trustedStmts.set(name, { text: text(), names });
    // from now on Binds (to re-decide) and Closes (to forget) are read whole; before, none concerned a tracked statement
    this.clientFetch[FrontendCode.Bind] = 1;
    this.clientFetch[FrontendCode.Close] = 1;
  }

  /**
   * Prepared writes whose WHERE takes a parameter where its value decides what the test matches: a LIKE/SIMILAR/regex
   * pattern, an ALL/ANY array, an unnest(). Defends against a condition made to match every row by its bound value:
   * `DELETE FROM t WHERE v LIKE $1` with '%', `… WHERE v ~ $1` with '', `… WHERE id <> ALL($1)` with '{}' — the
   * literal forms are refused, the parameters were never looked at. Each Bind of one is decided again with its
   * values in place (only these statements: an ORM's `WHERE id = $1` is not re-read per execution).
   */
  private readonly valueSensitive = new Map<string, string>();

  private trackValueSensitive(name: string, text: () => string, d: Decision): void {
    this.valueSensitive.delete(name);
    if (this.refused(d) || !d.statements.some((st) => st.kind === 'update' || st.kind === 'delete' || st.kind === 'merge')) return;
    const t = text();
    if (!valueSensitive(t)) return;
    if (this.valueSensitive.size >= 10_000) this.valueSensitive.delete(this.valueSensitive.keys().next().value!);
    this.valueSensitive.set(name, t);
    this.clientFetch[FrontendCode.Bind] = 1;
    this.clientFetch[FrontendCode.Close] = 1;
  }

  /** A Bind of a value-sensitive write, decided with its values as literals; refused or null. */
  private onValueBind(body: Buffer): Decision | null {
    const bind = readBind(body);
    const text = bind ? this.valueSensitive.get(bind.statement) : undefined;
    if (!bind || text === undefined) return null;
    const withValues = text.replace(/(?<![\w$])\$(\d+)(?!\w)/g, (m, n: string) => {
      const v = bind.values[Number(n) - 1];
      if (v === undefined) return m;
      if (v === null) return 'NULL';
      let tag = 'dbwv';
      while (v.includes(`$${tag}$`)) tag += 'x';
      return `$${tag}$${v}$${tag}$`;
    });
    // judged with the values; a refusal is audited under the text as sent (parameter values are not logged), a
    // statement that runs was recorded at its Parse
    const d = this.session.judgeFacts(this.session.factsOf(withValues, this.reading.readOptions()));
    if (!this.refused(d)) return null;
    this.session.record(text, d);
    return d;
  }

  /** A Bind of a statement that trusted user functions, decided again with the re-validated catalog; refused or null. */
  private onBind(body: Buffer): Decision | null {
    const [, o1] = readCString(body, 0);
    const name = readCString(body, o1)[0];
    const t = this.trustedStmts.get(name);
    if (!t || !this.session.rechecksAsWrite(t.text, this.reading.readOptions())) return null;
    // audited as its own statement: the text whose execution the broker refused
    const d = this.session.decideFacts(t.text, this.session.factsOf(t.text, this.reading.readOptions()));
    return this.refused(d) ? d : null;
  }

  private createRowGuard(): PgRowGuard {
    return new PgRowGuard({
      session: this.session,
      writeUpstream: (b) => this.upstreamOut.write(b),
      writeClient: (b) => this.clientOut.write(b),
      deliver: (code, body, raw) => this.deliver(code, body, raw),
      marker: (fields) => this.markerFor(fields),
      outstanding: () => Math.max(0, this.pendingSyncs - 1),
      resumeClient: () => {
        if (this.closed || this.ending || !this.clientScanner.paused || this.reading.holding) return;
        this.upstream.cork();
        try {
          this.clientScanner.resume();
        } finally {
          this.upstream.uncork();
        }
      },
      fetchAll: (on) => (on ? this.upstreamFetch.fill(1) : this.upstreamFetch.set(this.upstreamFetchNormal)),
    });
  }

  /** Returns true to pause reading the client (a guarded unit waits for earlier answers). */
  private onClientMessage(code: number, body: Buffer, raw: Buffer): boolean | void {
    switch (code) {
      case FrontendCode.Query: {
        this.pendingSyncs++;
        this.rowGuard?.interrupt();
        // framing checked here; the text itself is decoded once, in decideText, the way the server decodes it
        this.decode(() => queryTextBounds(body));
        // the whole body but its final NUL: a NUL inside the text is refused, never forwarded
        const d = this.decideText(() => decodeQuery(body), body.subarray(0, body.length - 1), false);
        this.tracker?.onQuery(this.derivedMask(d));
        const refusal = this.refused(d) ? null : this.rowRefusal(d);
        if (refusal || (this.refused(d) && d.action === 'mask')) this.session.refuseLast(d.rowLimit?.limits[0]?.rule ?? d.rules[0]?.id ?? 'unknown');
        this.session.statements.closeUnit();
        if (refusal) return void this.upstreamOut.write(encodeQuery(this.markerFor(refusal)));
        if (this.refused(d)) return void this.upstreamOut.write(encodeQuery(this.marker(d)));
        this.warnIfNeeded(d);
        if (this.rowGuard && d.rowLimit) return this.rowGuard.query(raw, d.rowLimit);
        this.upstreamOut.write(raw);
        return;
      }
      case FrontendCode.Parse: {
        this.unsynced = true;
        const { name, start, end } = this.decode(() => parseTextBounds(body));
        // declared parameter types: an implicit cast from or to one may run unseen (session/function-effects.ts)
        this.session.parseParamTypes = this.session.checksFunctions ? declaredTypes(body, end + 1) : [];
        let d: Decision;
        try {
          d = this.decideText(() => body.toString('utf8', start, end), body.subarray(start, end), true);
        } finally {
          this.session.parseParamTypes = [];
        }
        this.tracker?.onParse(name, this.derivedMask(d));
        const refusal = this.refused(d) ? null : this.rowRefusal(d);
        if (refusal || (this.refused(d) && d.action === 'mask')) this.session.refuseLast(d.rowLimit?.limits[0]?.rule ?? d.rules[0]?.id ?? 'unknown');
        // the upstream fails this Parse itself, so the rest of the pipeline up to Sync is skipped by the server
        if (refusal) return void this.up(code, body, encodeParse(name, this.markerFor(refusal)));
        if (this.refused(d)) return void this.up(code, body, encodeParse(name, this.marker(d)));
        this.warnIfNeeded(d);
        const statementText = () => {
          const r = this.reading.decode(body.subarray(start, end));
          return r.ok ? r.text : body.toString('utf8', start, end);
        };
        this.trackTrusted(name, statementText, d);
        this.trackValueSensitive(name, statementText, d);
        this.up(code, body, raw, d);
        return;
      }
      case FrontendCode.FunctionCall: {
        // A fast-path call names a function by OID: nothing the rules can read, so it is dynamic code.
        this.pendingSyncs++;
        const oid = body.length >= 4 ? body.readInt32BE(0) : 0;
        const d = this.session.decideFacts(`-- FunctionCall oid ${oid}`, [{
          kind: 'call', effects: ['dynamic'], tables: [], columns: [], functions: [`oid:${oid}`], where: null, limit: null,
          nested: false, multiStatement: false, index: 0,
        }]);
        this.tracker?.onFunctionCall();
        this.rowGuard?.interrupt();
        this.session.statements.closeUnit();
        if (this.refused(d)) return void this.upstreamOut.write(encodeQuery(this.marker(d)));
        this.upstreamOut.write(raw);
        return;
      }
      case FrontendCode.Sync:
        this.pendingSyncs++;
        this.unsynced = false;
        this.reading.onSync();
        this.tracker?.onSync();
        this.session.statements.closeUnit();
        if (this.rowGuard) return this.rowGuard.sync(raw);
        this.upstreamOut.write(raw);
        return;
      // fetched only while masking: the tracker follows which rows belong to which statement
      case FrontendCode.Bind: {
        this.unsynced = true;
        this.decode(() => this.tracker?.onBind(body));
        const refusedBind = (this.trustedStmts.size ? this.decode(() => this.onBind(body)) : null)
          ?? (this.valueSensitive.size ? this.decode(() => this.onValueBind(body)) : null);
        // refused: the upstream gets a Parse it fails instead, so the pipeline up to Sync is skipped by the server
        if (refusedBind) {
          const parse = encodeParse('', this.marker(refusedBind));
          return void this.up(FrontendCode.Parse, parse.subarray(5), parse);
        }
        this.decode(() => this.up(code, body, raw));
        return;
      }
      case FrontendCode.Describe:
        this.unsynced = true;
        this.decode(() => this.tracker?.onDescribe(body));
        this.decode(() => this.up(code, body, raw));
        return;
      case FrontendCode.Execute:
        this.unsynced = true;
        this.reading.onExecute();
        this.decode(() => this.tracker?.onExecute(body));
        this.decode(() => this.up(code, body, raw));
        return;
      case FrontendCode.Close:
        this.unsynced = true;
        if (body[0] === 0x53) {
          const closed = this.decode(() => readCString(body, 1)[0]);
          this.trustedStmts.delete(closed);
          this.valueSensitive.delete(closed);
        }
        this.tracker?.onClose();
        this.decode(() => this.up(code, body, raw));
        return;
      case FrontendCode.Flush:
        this.up(code, body, raw);
        return;
      case FrontendCode.Terminate:
        this.closed = true;
        this.upstreamOut.end(raw);
        this.endClient();
        return;
      default:
        this.upstreamOut.write(raw);
    }
  }

  /** An extended-protocol message on its way upstream: held by the row guard until Sync when one is in force. */
  private up(code: number, body: Buffer, raw: Buffer, d?: Decision): void {
    if (this.rowGuard) this.rowGuard.extended(code, body, raw, d);
    else this.upstreamOut.write(raw);
  }

  /** A row-limited text that cannot be guarded (uncountable, or with transaction control): refused. */
  private rowRefusal(d: Decision): ErrorFields | null {
    return this.rowGuard && d.rowLimit ? PgRowGuard.refusal(d) : null;
  }

  private decode<T>(f: () => T): T {
    try {
      return f();
    } catch (e) {
      if (e instanceof DecodeError) throw new BrokerError(ErrorCode.PROTOCOL_VIOLATION, `malformed message: ${e.message}`);
      throw e;
    }
  }

  /**
   * The bytes are decoded the way the server decodes them (the session's client_encoding); text that does not
   * decode (or holds a NUL, or cannot be read the same under a pending reading change) is refused unread.
   */
  private decideText(rawText: () => string, bytes: Buffer, extended: boolean): Decision {
    const r = this.reading.decode(bytes);
    if (r.ok) return this.session.decide(r.text, this.reading.readOptions(), (d) => this.reading.check(d, extended));
    // only a refused text is also read as UTF-8 (for the audit line); an accepted one is decoded once, above
    return this.session.decideFacts(rawText(), [{
      kind: 'unparsed', effects: [], tables: [], columns: [], functions: [], where: null, limit: null,
      nested: false, multiStatement: false, index: 0, error: r.error,
    }], (d) => builtinBlock(d.statements, 'unparsed', r.error));
  }

  /** A reading barrier's ReadyForQuery has come: decide what the client sent after it, under the new reading. */
  private releaseHold(): void {
    this.reading.holding = false;
    this.upstream.cork();
    try {
      const d = this.deferred;
      this.deferred = null;
      if (d) {
        const held = this.onClientMessageWhenTraced(d.code, d.body, d.raw);
        if (this.reading.takePause() || held) return;
      }
      this.clientScanner.resume();
    } catch (e) {
      const err = isBrokerError(e) ? e : new BrokerError(ErrorCode.PROTOCOL_VIOLATION, (e as Error).message);
      this.fail(ErrorCode.PROTOCOL_VIOLATION, `dbwarden: ${err.message}`);
    } finally {
      this.upstream.uncork();
    }
    if (!this.reading.holding && !this.ending && !this.closed) this.client.resume();
  }

  /** The core's verdict is final (session/verdict.ts); a mask this session cannot carry out refuses. */
  private refused(d: Decision): boolean {
    return refuses(d, !!this.tracker);
  }

  /** The core's mask plan for the statement's result columns; DDL also makes the cached catalogs stale. */
  private derivedMask(d: Decision): NonNullable<Decision['maskPlan']> | null {
    if (d.action !== 'block' && d.action !== 'review' && d.statements.some((st) => st.effects.includes('ddl'))) {
      this.opts.masking?.catalog.invalidate();
      this.lineage?.taint();
    }
    return d.maskPlan ?? null;
  }

  private warnIfNeeded(d: Decision): void {
    if (d.action !== 'warn') return;
    for (const r of d.rules) {
      if (r.action === 'warn') this.toClient(encodeNoticeResponse(brokerFields('WARNING', ErrorCode.WARNING, `dbwarden: rule ${r.id}: ${r.message}`)));
    }
  }

  /**
   * A statement the upstream rejects at parse time, carrying a token. Sending it in place of the refused one
   * lets the server apply its own error semantics (abort the transaction block, skip to Sync, roll back the
   * implicit transaction) and nothing of the refused text runs.
   */
  private marker(d: Decision): string {
    return this.markerFor(refusalFields(d));
  }

  private markerFor(fields: ErrorFields): string {
    const token = this.markerPrefix + (++this.markerSeq).toString(36);
    this.markers.set(token, fields);
    return token;
  }

  // ---- upstream → client ----

  /**
   * Client-bound bytes produced while one upstream chunk (or one held message) is handled: one write when it is done.
   * A masked result is one rewritten DataRow per row: written one by one (even corked) they became a writev of
   * thousands of small buffers, which cost more than the masking itself.
   */
  private readonly clientOut: Outbox;

  /** Ends the client stream after whatever is batched for it, in order. */
  private endClient(last?: Buffer): void {
    // end() sends whatever a corked socket holds: the lines of the statements it answers are written first
    this.session.flushAudit();
    this.clientOut.end(last);
  }

  private onUpstreamData(chunk: Buffer): void {
    if (this.closed) return;
    this.upstreamBytes += chunk.length;
    const outer = this.clientOut.open();
    const completed = this.session.completed;
    try {
      this.upstreamScanner.push(chunk);
    } catch (e) {
      this.session.log.warn({ err: (e as Error).message }, 'upstream protocol error');
      this.upstreamScanner.stop();
      this.ending = { code: ErrorCode.UPSTREAM_PROTOCOL_VIOLATION, message: 'dbwarden: upstream protocol error' };
      this.endClient(encodeErrorResponse(brokerFields('FATAL', this.ending.code, this.ending.message)));
      this.closed = true;
      this.upstream.destroy();
    } finally {
      // Statement events completed by this chunk reach the disk before the client sees their results: the bytes
      // wait in the corked client socket (behind anything written before them, ahead of anything after) until the
      // turn's one audit write is done. A chunk that completed nothing goes out now (or queues behind bytes still
      // held from earlier in this turn).
      if (this.session.completed !== completed && !this.closed) this.clientOut.hold((release) => this.session.afterAudit(release));
      if (outer) this.clientOut.flush();
    }
    if (this.upstreamScanner.atBoundary) this.atUpstreamBoundary();
    if (this.upstreamBytes > 1 << 20) this.flushByteCounters();
    holdUntilDrained(this.upstream, this.client);
  }

  private onUpstreamMessage(code: number, body: Buffer, raw: Buffer): boolean {
    // answers to the row guard's own statements never reach the tracker or the client
    if (this.rowGuard?.busy && this.rowGuard.pre(code, body, raw)) return false;
    // the tracker sees every message it follows (marker errors too, so its expectations stay aligned)
    const action = this.tracker?.upstream(code, body);
    if (action?.wait) {
      // e.g. a RowDescription naming a table the catalog has not read yet: hold the stream until it has
      this.upstream.pause();
      const held = Buffer.from(raw);
      const resume = (out: Buffer | null) => {
        if (this.closed) return;
        const outer = this.clientOut.open();
        try {
          this.onUpstreamMessageAfterTracker(code, body, out ?? held);
        } finally {
          this.session.flushAudit();
          if (outer) this.clientOut.flush();
        }
        this.upstreamScanner.resume();
        if (this.upstreamScanner.atBoundary) this.atUpstreamBoundary();
        if (!this.upstreamScanner.paused) this.upstream.resume();
      };
      action.wait.then(resume, () => resume(null));
      return true;
    }
    this.onUpstreamMessageAfterTracker(code, body, action?.out ?? raw);
    return false;
  }

  private onUpstreamMessageAfterTracker(code: number, body: Buffer, raw: Buffer): void {
    // a guarded unit's answers are held until the server's count is known
    if (this.rowGuard?.busy && this.rowGuard.post(code, body, raw)) return;
    this.deliver(code, body, raw);
  }

  /** An upstream message on its way to the client, with the bookkeeping its type needs. */
  private deliver(code: number, body: Buffer, raw: Buffer): void {
    switch (code) {
      case BackendCode.CommandComplete: {
        const c = commandRows(body);
        this.session.statements.result(c.rows, c.written);
        this.clientOut.write(raw);
        return;
      }
      case BackendCode.ErrorResponse: {
        const fields = decodeFields(body);
        const msg = fields.get('M') ?? '';
        this.lastUpstreamFatal = fields.get('V') === 'FATAL' || fields.get('S') === 'FATAL';
        const at = msg.indexOf(this.markerPrefix);
        if (at >= 0) {
          const m = /^[a-z0-9_]+/.exec(msg.slice(at));
          const mine = m && this.markers.get(m[0]);
          if (mine) {
            this.markers.delete(m[0]);
            this.clientOut.write(encodeErrorResponse(mine));
            return;
          }
        }
        this.session.statements.result(null, false, fields.get('C') ?? sqlStateOf(ErrorCode.INTERNAL));
        this.clientOut.write(raw);
        return;
      }
      case BackendCode.ReadyForQuery:
        if (this.pendingSyncs > 0) this.pendingSyncs--;
        this.session.inTransaction = body[0] !== 0x49; // 'I' idle; 'T'/'E' inside a (failed) transaction block
        // a marker whose error never came (e.g. the transaction was already aborted) must not linger
        if (this.pendingSyncs === 0 && !this.unsynced) this.markers.clear();
        this.session.statements.endUnit();
        this.clientOut.write(raw);
        this.rowGuard?.onReady(body[0]!);
        if (this.reading.holding && this.pendingSyncs === 0 && !this.ending) this.releaseHold();
        return;
      case BackendCode.ParameterStatus: {
        const [k, o1] = readCString(body, 0);
        const unreadable = this.reading.onParameterStatus(k, readCString(body, o1)[0]);
        this.clientOut.write(raw);
        // the session now reads text in a way the broker cannot follow (set through a door it did not see)
        if (unreadable) this.fail(ErrorCode.SESSION_UNREADABLE, unreadable);
        return;
      }
      default:
        this.clientOut.write(raw);
    }
  }

  /** Writes a message of the broker's own to the client, at an upstream message boundary. */
  private toClient(buf: Buffer): void {
    if (this.closed) return;
    if (this.upstreamScanner.atBoundary) this.clientOut.write(buf);
    else this.pendingToClient.push(buf);
  }

  private atUpstreamBoundary(): void {
    if (this.pendingToClient.length) {
      const bufs = this.pendingToClient;
      this.pendingToClient = [];
      for (const b of bufs) this.clientOut.write(b);
    }
    if (this.ending) this.endingRun?.finish(false);
  }

  /** Reports the scanner's buffered bytes to the session's budget; over a cap the session ends. */
  private trackPartials(): void {
    const over = this.session.partials?.update(this.ending ? 0 : this.clientScanner.bufferedBytes);
    if (over) {
      this.session.log.info({ err: over }, 'partial-message budget exceeded');
      this.fail(ErrorCode.PROTOCOL_VIOLATION, over);
      this.session.partials?.update(0);
    }
  }

  // ---- ending ----

  private terminate(_reason: TerminationReason, message: string): void {
    this.beginEnd(ErrorCode.SESSION_TERMINATED, message);
  }

  /** A client-side protocol error: the session ends with FATAL at the next upstream boundary. */
  private fail(code: ErrorCode, message: string): void {
    this.beginEnd(code, message);
  }

  /**
   * Ends the session (wire/ending.ts): stop reading the client, send FATAL at the next upstream message boundary
   * (nothing the upstream sends after that reaches the client), and cancel what runs upstream before hanging up
   * there with Terminate.
   */
  private beginEnd(code: ErrorCode, message: string): void {
    if (this.ending || this.closed) return;
    this.ending = { code, message };
    this.clientScanner.stop();
    this.session.partials?.update(0);
    this.client.pause();
    this.endingRun = runEnding({
      cancelUpstream: () => (this.pendingSyncs > 0 || this.unsynced ? this.opts.cancel() : Promise.resolve()),
      atBoundary: () => this.upstreamScanner.atBoundary,
      finishClient: (cut) => this.finishClient(cut),
      hangUp: () => this.upstreamOut.end(TERMINATE),
      destroy: () => this.destroy(),
    });
  }

  private finishClient(cut = false): void {
    if (this.closed) return;
    this.closed = true;
    this.upstreamScanner.stop();
    if (cut) this.client.destroy();
    else this.endClient(encodeErrorResponse(brokerFields('FATAL', this.ending?.code ?? ErrorCode.SESSION_TERMINATED, this.ending?.message ?? 'dbwarden: session ended')));
  }

  private destroy(): void {
    this.closed = true;
    this.client.destroy();
    this.upstream.destroy();
  }

  private onClientClose(): void {
    if (!this.closed && !this.ending) {
      // client went away (possibly mid-COPY): the upstream aborts whatever was in progress when we hang up
      this.closed = true;
      this.upstreamOut.end(TERMINATE);
    }
    this.client.destroy();
    setTimeout(() => this.upstream.destroy(), ENDING_GRACE.closeMs).unref();
    this.flushByteCounters();
    this.session.end('client closed');
  }

  private onUpstreamClose(): void {
    if (!this.closed) {
      this.closed = true;
      if (!this.lastUpstreamFatal && this.upstreamScanner.atBoundary) {
        this.endClient(encodeErrorResponse(brokerFields('FATAL', ErrorCode.UPSTREAM_LOST, 'dbwarden: upstream connection lost')));
      } else {
        this.endClient();
      }
      this.session.terminate('upstream');
    }
    this.upstream.destroy();
    setTimeout(() => this.client.destroy(), ENDING_GRACE.closeMs).unref();
  }

  private flushByteCounters(): void {
    const { bytesTotal } = this.opts.metrics;
    if (this.clientBytes) bytesTotal.inc({ protocol: 'postgres', direction: 'client_to_upstream' }, this.clientBytes);
    if (this.upstreamBytes) bytesTotal.inc({ protocol: 'postgres', direction: 'upstream_to_client' }, this.upstreamBytes);
    this.clientBytes = 0;
    this.upstreamBytes = 0;
  }
}

/** The non-zero parameter type oids a Parse body declares after its text (malformed counts read as none). */
function declaredTypes(body: Buffer, at: number): number[] {
  if (at + 2 > body.length) return [];
  const n = body.readUInt16BE(at);
  const out: number[] = [];
  for (let i = 0; i < n && at + 6 + 4 * i <= body.length; i++) {
    const oid = body.readUInt32BE(at + 2 + 4 * i);
    if (oid) out.push(oid);
  }
  return out;
}

/** Whether the statement text of a Query or Parse could read differently under another reading (malformed: no). */
function sensitiveText(code: number, body: Buffer): boolean {
  if (code === FrontendCode.Query) return PgReadingState.sensitive(body);
  try {
    const { start, end } = parseTextBounds(body);
    return PgReadingState.sensitive(body.subarray(start, end));
  } catch {
    return false; // refused as malformed when handled
  }
}

/** A parameter where its value decides what a condition matches (see PgRelay.valueSensitive). */
const VALUE_SENSITIVE_OPERATOR = /\b(?:I?LIKE|SIMILAR\s+TO)\b|~|\b(?:ALL|ANY|SOME|unnest)\s*\(/i;
/**
 * A text with a parameter anywhere and a pattern or array operator anywhere: the parameter may reach the pattern
 * through any expression (`v LIKE '%' || $1`, `v LIKE concat($1, '')`), so the pair is enough to read it again.
 */
const valueSensitive = (text: string): boolean => /\$\d/.test(text) && VALUE_SENSITIVE_OPERATOR.test(text);

/**
 * A Bind message's statement name and parameter values as text (NULL as null). A binary-format value is read as
 * UTF-8 when it is valid text (a text parameter's binary form is its bytes), else as a big-endian integer of 2, 4 or
 * 8 bytes; anything else leaves the parameter out (undefined). null when the message cannot be read.
 */
function readBind(body: Buffer): { statement: string; values: (string | null | undefined)[] } | null {
  try {
    const [, o1] = readCString(body, 0);
    const [statement, o2] = readCString(body, o1);
    let o = o2;
    const nFormats = body.readInt16BE(o);
    o += 2;
    const formats: number[] = [];
    for (let i = 0; i < nFormats; i++, o += 2) formats.push(body.readInt16BE(o));
    const n = body.readInt16BE(o);
    o += 2;
    const values: (string | null | undefined)[] = [];
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    for (let i = 0; i < n; i++) {
      const len = body.readInt32BE(o);
      o += 4;
      if (len < 0) {
        values.push(null);
        continue;
      }
      const bytes = body.subarray(o, o + len);
      o += len;
      const binary = (nFormats === 1 ? formats[0] : formats[i]) === 1;
      if (!binary) {
        values.push(bytes.toString('utf8'));
        continue;
      }
      let text: string | undefined;
      try {
        text = bytes.includes(0) ? undefined : utf8.decode(bytes);
      } catch {
        text = undefined;
      }
      if (text !== undefined && !/[\x00-\x08\x0e-\x1f]/.test(text)) values.push(text);
      else if (len === 2) values.push(String(bytes.readInt16BE(0)));
      else if (len === 4) values.push(String(bytes.readInt32BE(0)));
      else if (len === 8) values.push(String(bytes.readBigInt64BE(0)));
      else values.push(undefined);
    }
    return { statement, values };
  } catch {
    return null;
  }
}
