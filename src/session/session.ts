// Session: one authenticated client connection on a grant; decides statements and can be told to end.
import { withinDatabases } from './database-scope.js';
import { mysqlWithValues } from '../sql/mysql-placeholders.js';
import type { AuditSink } from '../audit/events.js';
import type { Grant } from '../grants/model.js';
import { lazyChild, type Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Tally } from '../metrics/statement-tally.js';
import { analyze } from '../sql/analyze.js';
import type { ReadOptions, StatementFacts } from '../sql/facts.js';
import type { CursorOp, Decision } from '../rules/types.js';
import type { Guard } from './guard.js';
import type { PartialWatch } from './partial-watch.js';
import { withFunctionEffects, type FunctionCatalogView } from './function-effects.js';
import type { LineageSchema } from '../sql/pg-lineage.js';
import { applyCursorOp, planMasks, type LineageState } from './mask-plan.js';
import { mysqlMaskVerdict } from './mysql-mask-verdict.js';
import type { MysqlSchema } from './mysql-schema.js';
import { StatementLog, finishEvent, type PendingStatement, type StatementEvent } from './statement-outcome.js';

export const TerminationReason = {
  expired: 'dbwarden: grant expired',
  revoked: 'dbwarden: grant revoked',
  killed: 'dbwarden: session killed',
  shutdown: 'dbwarden: broker shutting down',
  upstream: 'dbwarden: upstream connection lost',
} as const;
export type TerminationReason = keyof typeof TerminationReason;

export type Protocol = 'postgres' | 'mysql';

/** the rules of a statement no rule matched (most of them): one frozen list, not a new one per statement */
const NO_RULES: string[] = Object.freeze([]) as unknown as string[];

/** What every statement gets while the audit trail cannot be written (rendered like any blocking rule). */
const AUDIT_UNAVAILABLE: Decision = {
  action: 'block',
  rules: [{
    id: 'audit-unavailable', ruleset: 'dbwarden', action: 'block', statement: 0,
    message: 'the audit trail cannot be written (disk full or I/O error), so no statement runs until it can; tell the broker operator',
  }],
  statements: [],
};

export interface SessionInfo {
  id: string;
  grantId: string;
  identity: string;
  login: string;
  target: string;
  database: string;
  protocol: Protocol;
  client: string;
  startedAt: string;
  expiresAt: string;
  instance: string;
  /** statements decided in this session so far */
  statements: number;
}

/** What the protocol module must provide so the core can end or notify a session it does not own the bytes of. */
export interface SessionControl {
  /** End the session at the next message boundary with the protocol's fatal error carrying `message`. */
  terminate(reason: TerminationReason, message: string): void;
  /** Deliver an asynchronous notice (PostgreSQL NoticeResponse); protocols without one may ignore it. */
  notice(message: string): void;
  /** Interrupt the statement running upstream (PostgreSQL CancelRequest, MySQL KILL QUERY). */
  cancel?(): void;
}

/**
 * Statement reviews as the session needs them (grants/reviews.ts implements it). Both calls are synchronous:
 * a decision never waits for the store.
 */
export interface ReviewGate {
  /** Files a review of `text` for the grant (or returns the one already pending for it). */
  request(r: { grant: Grant; session: string; text: string; ruleIds: string[]; database?: string }): { id: string };
  /** Takes a live approval of exactly `text` for this grant; a second call for the same approval finds nothing. */
  consume(grantId: string, text: string): { id: string; decidedBy?: string } | undefined;
}

export interface SessionDeps {
  audit: AuditSink;
  metrics: Metrics;
  logger: Logger;
  onEnd(session: Session): void;
  /** without it a `review` decision is refused with no review filed */
  reviews?: ReviewGate;
}

export class Session {
  readonly startedAt = Date.now();
  expiresAt: number;
  /** the same deadline on the monotonic clock (set by the registry): immune to wall-clock jumps */
  monoDeadline = Number.POSITIVE_INFINITY;
  private controlOf?: SessionControl;
  /** statements decided so far (shown in session listings) */
  statementCount = 0;
  private tally: Tally | undefined;
  /** this session's share of the partial-message budget (set by the registry) */
  partials?: PartialWatch;
  /**
   * Set by a protocol module that traces column lineage (PostgreSQL): the schema to trace through, or null when
   * it cannot be read now (every value is then treated as possibly masked). With masks in force the decision
   * then carries the final mask plan (session/mask-plan.ts).
   */
  lineage?: () => LineageSchema | null;
  /** Set by the MySQL protocol module: the target's views and stored functions (null while not readable). */
  mysqlSchema?: () => MysqlSchema | null;
  /** Set by a protocol module on read grants: the target's user functions, so a call to one that may write is a write. */
  functionCatalog?: FunctionCatalogView;
  /**
   * Whether the target's catalog shows a column of a table (as the facts name it) nullable; false when unknown.
   * Set by the protocol module from its catalog snapshot (pg/function-catalog.ts, mysql/catalog.ts).
   */
  columnNullable?: (table: string, column: string) => boolean;
  /** PostgreSQL write grants: the catalog that says which called functions may write (their statements are row-limited) */
  writeCallCatalog?: FunctionCatalogView;
  private readonly lineageState: LineageState = { cursors: new Map() };
  private ended = false;
  /** set by the protocol module from the server's transaction status; a draining broker lets an open transaction finish */
  inTransaction = false;
  private terminating: TerminationReason | null = null;
  /** expiry warnings already sent (minutes before expiry) */
  readonly warned = new Set<number>();
  readonly log: Logger;
  /** the per-statement debug line is written (the level is fixed for the process's life) */
  private readonly debugLog: boolean;
  /** forwarded statements waiting for their result to end (see statement-outcome.ts) */
  readonly statements: StatementLog;

  constructor(
    readonly id: string,
    readonly grant: Grant,
    readonly protocol: Protocol,
    readonly database: string,
    readonly client: string,
    readonly instance: string,
    public guard: Guard,
    private readonly deps: SessionDeps,
  ) {
    this.expiresAt = Date.parse(grant.expiresAt);
    this.log = lazyChild(deps.logger, () => ({ session: id, grant: grant.id, identity: grant.identity }));
    this.debugLog = deps.logger.isLevelEnabled('debug');
    this.statements = new StatementLog((p) => this.completeStatement(p));
  }

  /** The protocol module's handle on the connection. A session told to end before it had one ends when it gets one. */
  get control(): SessionControl | undefined {
    return this.controlOf;
  }

  set control(c: SessionControl | undefined) {
    this.controlOf = c;
    const reason = this.terminating;
    // deferred: the protocol module sets control while it wires its sockets, and ends the session once wired
    if (c && reason && !this.ended) setImmediate(() => c.terminate(reason, TerminationReason[reason]));
  }

  get terminatingReason(): TerminationReason | null {
    return this.terminating;
  }

  /** Checks one client text, records it (audit + metrics) and returns the decision. */
  decide(text: string, opts?: ReadOptions, inspect?: (d: Decision) => Decision | null): Decision {
    const refusal = this.auditable();
    let decision = refusal ?? this.scoped(this.masked(text, this.reviewed(text, this.called(this.nullScoped(this.guard.decide(text, opts)))), opts));
    // the protocol's own checks of the facts (e.g. reading barriers) may refuse what the rules allow; audited as such
    if (!refusal && inspect) decision = inspect(decision) ?? decision;
    this.record(text, decision);
    return decision;
  }

  /** The facts of `text` (cached by the guard), for a protocol that decides a text again (decideFacts). */
  factsOf(text: string, opts?: ReadOptions): StatementFacts[] {
    return this.guard.decide(text, opts).statements;
  }

  /** True when `text`, decided now with the catalog as it is, is refused for its calls (nothing is recorded). */
  rechecksAsWrite(text: string, opts?: ReadOptions): boolean {
    const d = this.called(this.guard.decide(text, opts));
    return d.action === 'block' || d.action === 'review';
  }

  /**
   * PostgreSQL: the parameter type oids the Parse being decided declares (set by the relay around that decision,
   * empty otherwise). A parameter declared of a type an implicit cast bound to a writing function converts from or
   * to makes that cast run unseen (`SELECT length($1)` with $1 declared of the cast's source type).
   */
  parseParamTypes: readonly number[] = [];

  /** Whether functionCheck may ask for a wait (a read grant with a catalog that re-validates): callers skip decoding otherwise. */
  get checksFunctions(): boolean {
    return this.guard.ctx.access === 'read' && this.functionCatalog?.revalidate !== undefined;
  }

  /**
   * On a read grant, a check of the user functions the decision of `text` would trust against the live catalog
   * (pg/function-catalog.ts revalidate), which the protocol awaits before deciding and forwarding the text;
   * undefined when the text reaches no user function (no catalog query on that path).
   */
  functionCheck(
    text: string,
    opts?: ReadOptions,
    expand?: (facts: StatementFacts[], read: (text: string) => StatementFacts[]) => StatementFacts[] | undefined,
  ): Promise<void> | undefined {
    const cat = this.functionCatalog;
    if (!this.checksFunctions || !cat?.trusted || !cat.revalidate) return undefined;
    // `expand`: SQL-level EXECUTE runs the text the session prepared, whose calls are the ones to check
    const ahead = this.guard.decideAhead(text, opts).statements;
    const expanded = expand?.(ahead, (t) => analyze(this.guard.ctx.dialect, t, opts));
    // the names depend only on the facts (shared by texts of one shape) and the catalog snapshot: reused while both are the same
    const epoch = expanded ? null : cat.epoch?.() ?? null;
    const hit = epoch ? this.trustedMemo.get(ahead) : undefined;
    let names: string[];
    if (hit && hit.epoch === epoch) names = hit.names;
    else {
      names = cat.trusted(expanded ?? ahead);
      if (epoch) this.trustedMemo.set(ahead, { epoch, names });
    }
    return names.length ? cat.revalidate(names) : undefined;
  }

  /**
   * A write whose WHERE tests the target's columns only for NULL (`col IS NOT NULL`) is scoped when the catalog
   * shows the columns nullable (facts.scopeIfNullable); otherwise it stays not proven scoped. Defends against
   * `DELETE FROM t WHERE id IS NOT NULL` on a NOT NULL column, which deletes every row (issue 12, family c).
   */
  private nullScoped(decision: Decision): Decision {
    const nullable = this.columnNullable;
    if (!nullable || !decision.statements.some((st) => st.scopeIfNullable)) return decision;
    let changed = false;
    const statements = decision.statements.map((st) => {
      const target = st.tables.find((t) => t.op === 'write');
      if (!st.scopeIfNullable || st.where !== 'always-true' || !target) return st;
      if (!st.scopeIfNullable.some((cols) => cols.every((c) => nullable(target.name, c)))) return st;
      changed = true;
      const { whereReason: _why, scopeIfNullable: _cols, ...rest } = st;
      return { ...rest, where: 'present' as const };
    });
    return changed ? this.guard.evaluateFacts(statements) : decision;
  }

  /**
   * On a read grant, calls to user functions that may write (by the target's catalog, see function-effects.ts)
   * make their statement a write, decided again by the rules (the read-only rule refuses it).
   */
  private called(decision: Decision): Decision {
    const write = this.writeCallCatalog !== undefined && this.guard.ctx.access === 'write';
    const cat = write ? this.writeCallCatalog : this.guard.ctx.access === 'read' ? this.functionCatalog : undefined;
    if (!cat) return decision;
    // The answer depends only on the decision (cached and shared by the guard for texts of one shape), the
    // catalog snapshot and the declared parameter types: reused while the snapshot is the same object. Without a
    // snapshot, or with declared types, it is worked out every time.
    const epoch = this.parseParamTypes.length ? null : cat.epoch?.() ?? null;
    if (epoch) {
      const hit = this.calledMemo.get(decision);
      if (hit && hit.epoch === epoch) return hit.out;
    }
    const out = write ? this.countedCalls(decision, cat) : this.readCalls(decision, cat);
    if (epoch) this.calledMemo.set(decision, { epoch, out });
    return out;
  }

  /** functionCheck's trusted names by facts, for the catalog snapshot they were worked out with */
  private readonly trustedMemo = new WeakMap<readonly StatementFacts[], { epoch: object; names: string[] }>();

  /** called()'s answers by decision, for the catalog snapshot they were worked out with */
  private readonly calledMemo = new WeakMap<Decision, { epoch: object; out: Decision }>();

  private readCalls(decision: Decision, cat: FunctionCatalogView): Decision {
    const w = withFunctionEffects(decision.statements, cat, this.guard.clean, this.guard.ctx.dialect, this.parseParamTypes);
    if (!w) return decision;
    const d = this.guard.evaluateFacts(w.statements);
    if (d.action === 'allow' || d.action === 'warn') return d;
    return { ...d, rules: d.rules.map((r) => ({ ...r, message: `${r.message} (calls ${w.names.join(', ')}, which may write)` })) };
  }

  /**
   * On a PostgreSQL write grant, a statement that is not itself a limited write but calls a user function that may
   * write (`SELECT wipe()`, by the catalog as on read grants) gets the row limit a CALL would get: the row guard
   * wraps it and counts the rows it changed in the server's per-transaction counters. Defends against a function
   * created on the grant (`… DELETE FROM t WHERE id > 0`, a condition the scope proof takes as a filter) removing
   * every row past the row-count guard, which only wrapped INSERT/UPDATE/DELETE/MERGE.
   */
  private countedCalls(decision: Decision, cat: FunctionCatalogView): Decision {
    if (decision.rowLimit || (decision.action !== 'allow' && decision.action !== 'warn')) return decision;
    const w = withFunctionEffects(decision.statements, cat, this.guard.clean, this.guard.ctx.dialect, this.parseParamTypes);
    if (!w) return decision;
    const changed = new Set(w.statements.filter((st, i) => st !== decision.statements[i]).map((st) => st.index));
    const asCalls = decision.statements.map((st) => (changed.has(st.index) && !st.nested && st.kind !== 'call' ? { ...st, kind: 'call' as const } : st));
    const rl = this.guard.evaluateFacts(asCalls).rowLimit;
    if (!rl) return decision;
    const first = decision.statements.find((st) => changed.has(st.index) && !st.nested);
    return { ...decision, rowLimit: { ...rl, kind: first ? first.kind.toUpperCase() : rl.kind } };
  }

  /** MySQL: a statement naming a database outside the grant is refused, whatever the rules said (database-scope.ts). */
  private scoped(decision: Decision): Decision {
    if (this.protocol !== 'mysql' || !decision.statements.some((st) => st.databases)) return decision;
    return withinDatabases(decision, this.grant.databases);
  }

  /** A DECLARE/CLOSE of a cursor the server confirmed (its CommandComplete): FETCH results follow its plan. */
  cursorConfirmed(op: CursorOp): void {
    applyCursorOp(this.lineageState, op);
  }

  /** With masks in force, the core's final mask plan (lineage where the protocol traces it) or MySQL's mask verdict. */
  private masked(text: string, decision: Decision, opts?: ReadOptions): Decision {
    if (!this.guard.masks.length) return decision;
    if (this.lineage) return planMasks(text, decision, this.guard.masks, this.lineage(), this.lineageState, opts);
    if (this.protocol === 'mysql') {
      const ctx = this.mysqlSchema ? { schema: this.mysqlSchema(), database: this.database, opts } : undefined;
      return mysqlMaskVerdict(text, decision, this.guard.masks, ctx);
    }
    return decision;
  }

  /**
   * Like decide(), but the protocol may replace the facts before the rules see them (MySQL: an EXECUTE of a
   * statement the session prepared from a literal is decided as that statement). One audit record either way.
   */
  decideExpanded(
    text: string,
    opts: ReadOptions | undefined,
    expand: (facts: StatementFacts[], read: (text: string) => StatementFacts[]) => StatementFacts[] | undefined,
    inspect?: (d: Decision) => Decision | null,
  ): Decision {
    const refusal = this.auditable();
    if (refusal) {
      this.record(text, refusal);
      return refusal;
    }
    const cached = this.guard.decide(text, opts);
    const facts = expand(cached.statements, (t) => analyze(this.guard.ctx.dialect, t, opts));
    let decision = this.scoped(this.masked(text, this.reviewed(text, this.called(this.nullScoped(facts ? this.guard.evaluateFacts(facts) : cached))), opts));
    if (inspect) decision = inspect(decision) ?? decision;
    this.record(text, decision);
    return decision;
  }

  /** Decides facts the protocol built itself (e.g. a FunctionCall message, which has no SQL text). */
  /**
   * The decision on facts, neither recorded nor filed for review: for a statement already recorded when it was
   * prepared and judged again at an execution (its parameter values in place). The caller records a refusal.
   */
  judgeFacts(statements: StatementFacts[]): Decision {
    return this.auditable() ?? this.scoped(this.called(this.guard.evaluateFacts(statements)));
  }

  /**
   * A prepared MySQL text with one execution's values (SQL literals; undefined: unknown, left as `?`) in place, one
   * canonical text per reading of it (quoting modes not confirmed are read every way); null when unreadable.
   */
  mysqlTextWithValues(text: string, values: readonly (string | undefined)[], read: ReadOptions): string[] | null {
    const server = { mariadb: read.mariadb ?? true, version: read.serverVersion ?? 0 };
    const modes = [];
    for (const ansiQuotes of read.ansiQuotes === undefined ? [false, true] : [read.ansiQuotes]) {
      for (const noBackslashEscapes of read.noBackslashEscapes === undefined ? [false, true] : [read.noBackslashEscapes]) modes.push({ server, ansiQuotes, noBackslashEscapes });
    }
    return mysqlWithValues(text, values, modes);
  }

  decideFacts(text: string, statements: StatementFacts[], inspect?: (d: Decision) => Decision | null): Decision {
    const refusal = this.auditable();
    let decision = refusal ?? this.scoped(this.reviewed(text, this.called(this.guard.evaluateFacts(statements))));
    if (!refusal && inspect) decision = inspect(decision) ?? decision;
    this.record(text, decision);
    return decision;
  }

  /**
   * A refusal while the audit trail cannot be written, else undefined. Defends against running statements
   * unaudited: whoever fills or breaks the audit disk gets refusals, not a blind spot.
   */
  private auditable(): Decision | undefined {
    if (this.deps.audit.writable?.() !== false) return undefined;
    return AUDIT_UNAVAILABLE;
  }

  /**
   * A `review` decision either uses an approval of exactly this text for this grant (once: the gate forgets it)
   * or files a review. Defends against one approval unlocking more than the approver saw: the match is on the
   * exact text and the grant, and rules weaker than `review` (mask, warn) still apply to the approved run.
   * The decision from the guard is cached and shared by sessions, so the review id goes on a copy.
   */
  private reviewed(text: string, d: Decision): Decision {
    const gate = this.deps.reviews;
    if (d.action !== 'review' || !gate) return d;
    const approval = gate.consume(this.grant.id, text);
    if (approval) {
      // rules are sorted strongest first and block outranks review, so the next non-review rule decides
      const next = d.rules.find((r) => r.action !== 'review');
      return { ...d, action: next?.action ?? 'allow', review: { id: approval.id, ...(approval.decidedBy ? { approvedBy: approval.decidedBy } : {}) } };
    }
    const filed = gate.request({ grant: this.grant, session: this.id, database: this.database, text, ruleIds: d.rules.filter((r) => r.action === 'review').map((r) => r.id) });
    return { ...d, review: { id: filed.id } };
  }

  /** Records a statement and its decision: audit, metrics, log. */
  record(text: string, decision: Decision): void {
    const { metrics } = this.deps;
    this.statementCount += 1;
    // bound once per session: no label hashing per statement (metrics/statement-tally.ts)
    (this.tally ??= metrics.tallies.for(this.protocol, this.grant.target)).count(decision.action, decision.rules);
    const event: StatementEvent = {
      type: 'statement',
      session: this.id,
      grant: this.grant.id,
      identity: this.grant.identity,
      target: this.grant.target,
      database: this.database,
      text: this.deps.audit.statementText?.(text, this.protocol) ?? text,
      kind: decision.statements[0]?.kind ?? 'empty',
      action: decision.action,
      rules: decision.rules.length === 0 ? NO_RULES : decision.rules.map((r) => r.id),
    };
    // added only when present (no spread of empty objects: one object shape for every statement event)
    if (decision.review) {
      event.review = decision.review.id;
      if (decision.review.approvedBy) event.approvedBy = decision.review.approvedBy;
    }
    if (decision.action === 'block' || decision.action === 'review') {
      // refused before anything ran: recorded now (the client's error goes out in this turn)
      event.outcome = 'refused';
      event.rows = 0;
      event.duration_ms = 0;
      this.deps.audit.record(event);
    } else {
      this.statements.push({ event, t0: performance.now(), rows: 0, counted: false, written: 0 });
    }
    if (decision.action === 'block' || decision.action === 'review') {
      this.log.info({ action: decision.action, rules: decision.rules.map((r) => r.id) }, 'statement refused');
    } else if (this.debugLog) {
      this.log.debug({ action: decision.action }, 'statement');
    }
  }

  /**
   * The protocol module refused the statement decided last although its decision forwards it (mask-or-block):
   * recorded now as refused (action block) by `rule`.
   */
  refuseLast(rule: string): void {
    const p = this.statements.takeLast();
    if (!p) return;
    p.refusedBy = rule;
    this.completeStatement(p);
  }

  /** A statement refused by its row limit after running (and being rolled back): the count it would have changed. */
  refuseByRows(p: PendingStatement, rule: string, rows: number, limit: number): void {
    p.refusedBy = rule;
    p.rows = rows;
    p.limit = limit;
    this.deps.metrics.rowLimitRefusals.inc({ target: this.grant.target, rule });
  }

  /** A write refused after its answer went out (rows the command tag did not count): counted in metrics and logged. */
  refuseLateByRows(rule: string, rows: number | null, limit: number): void {
    this.deps.metrics.rowLimitRefusals.inc({ target: this.grant.target, rule });
    this.log.warn({ rule, rows, limit }, 'write refused by its row limit after counting rows changed through foreign keys, triggers or rules');
  }

  /** Completes a statement the protocol module followed itself (a MySQL command's response). */
  completeStatement(p: PendingStatement): void {
    this.completed++;
    const e = finishEvent(p);
    if (p.written > 0 && p.refusedBy === undefined && p.error === undefined) {
      this.deps.metrics.rowsWritten.inc({ protocol: this.protocol, target: this.grant.target }, p.written);
    }
    this.deps.audit.record(e);
  }

  /** Writes completed statement events now; protocol modules call it before results reach the client. */
  flushAudit(): void {
    this.deps.audit.flush?.();
  }

  /** Statements completed so far (their audit events recorded): a protocol module compares it around a read. */
  completed = 0;

  /**
   * Runs `release` once the statement events completed so far are written: at the end of this event-loop turn,
   * together with every other session's (one write for all of them), or at once. Protocol modules hold a result's
   * bytes (the client socket corked) until then, so a client never sees a result whose audit line is not written.
   */
  afterAudit(release: () => void): void {
    const audit = this.deps.audit;
    if (audit.whenWritten) return audit.whenWritten(release);
    audit.flush?.();
    release();
  }

  terminate(reason: TerminationReason): void {
    if (this.ended || this.terminating) return;
    this.terminating = reason;
    this.deps.metrics.sessionTerminations.inc({ reason });
    this.log.info({ reason }, 'terminating session');
    this.control?.terminate(reason, TerminationReason[reason]);
  }

  notice(message: string): void {
    if (!this.ended) this.control?.notice(message);
  }

  /** Called once by the protocol module when both sockets are gone. */
  end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    try {
      this.statements.drain();
      this.deps.audit.record({
        type: 'session.ended',
        session: this.id,
        grant: this.grant.id,
        identity: this.grant.identity,
        reason: this.terminating ?? reason,
        duration_ms: Date.now() - this.startedAt,
      });
    } catch (e) {
      // held by the audit file until it can be written; the registry must still let the session go
      this.log.error({ err: (e as Error).message }, 'session end not yet audited');
    }
    this.log.info({ reason: this.terminating ?? reason }, 'session ended');
    this.deps.onEnd(this);
  }

  info(): SessionInfo {
    return {
      id: this.id,
      grantId: this.grant.id,
      identity: this.grant.identity,
      login: this.grant.login,
      target: this.grant.target,
      database: this.database,
      protocol: this.protocol,
      client: this.client,
      startedAt: new Date(this.startedAt).toISOString(),
      expiresAt: new Date(this.expiresAt).toISOString(),
      instance: this.instance,
      statements: this.statementCount,
    };
  }
}
