// Session: one authenticated client connection on a grant; decides statements and can be told to end.
import type { AuditSink } from '../audit/events.js';
import type { Grant } from '../grants/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ReadOptions, StatementFacts } from '../sql/facts.js';
import type { Decision } from '../rules/types.js';
import type { Guard } from './guard.js';

export const TerminationReason = {
  expired: 'dbwarden: grant expired',
  revoked: 'dbwarden: grant revoked',
  killed: 'dbwarden: session killed',
  shutdown: 'dbwarden: broker shutting down',
  upstream: 'dbwarden: upstream connection lost',
} as const;
export type TerminationReason = keyof typeof TerminationReason;

export type Protocol = 'postgres' | 'mysql';

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
  request(r: { grant: Grant; session: string; text: string; ruleIds: string[] }): { id: string };
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
  control?: SessionControl;
  private ended = false;
  private terminating: TerminationReason | null = null;
  /** expiry warnings already sent (minutes before expiry) */
  readonly warned = new Set<number>();
  readonly log: Logger;

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
    this.log = deps.logger.child({ session: id, grant: grant.id, identity: grant.identity });
  }

  get terminatingReason(): TerminationReason | null {
    return this.terminating;
  }

  /** Checks one client text, records it (audit + metrics) and returns the decision. */
  decide(text: string, opts?: ReadOptions, inspect?: (d: Decision) => Decision | null): Decision {
    let decision = this.reviewed(text, this.guard.decide(text, opts));
    // the protocol's own checks of the facts (e.g. reading barriers) may refuse what the rules allow; audited as such
    if (inspect) decision = inspect(decision) ?? decision;
    this.record(text, decision);
    return decision;
  }

  /** Decides facts the protocol built itself (e.g. a FunctionCall message, which has no SQL text). */
  decideFacts(text: string, statements: StatementFacts[], inspect?: (d: Decision) => Decision | null): Decision {
    let decision = this.reviewed(text, this.guard.evaluateFacts(statements));
    if (inspect) decision = inspect(decision) ?? decision;
    this.record(text, decision);
    return decision;
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
    const filed = gate.request({ grant: this.grant, session: this.id, text, ruleIds: d.rules.filter((r) => r.action === 'review').map((r) => r.id) });
    return { ...d, review: { id: filed.id } };
  }

  /** Records a statement and its decision: audit, metrics, log. */
  record(text: string, decision: Decision): void {
    const { metrics } = this.deps;
    metrics.statementsTotal.inc({ protocol: this.protocol, target: this.grant.target, action: decision.action });
    for (const r of decision.rules) metrics.ruleMatches.inc({ rule: r.id, action: r.action });
    this.deps.audit.record({
      type: 'statement',
      session: this.id,
      grant: this.grant.id,
      identity: this.grant.identity,
      target: this.grant.target,
      database: this.database,
      text: this.deps.audit.statementText?.(text, this.protocol) ?? text,
      kind: decision.statements[0]?.kind ?? 'empty',
      action: decision.action,
      rules: decision.rules.map((r) => r.id),
      ...(decision.review ? { review: decision.review.id } : {}),
      ...(decision.review?.approvedBy ? { approvedBy: decision.review.approvedBy } : {}),
    });
    if (decision.action === 'block' || decision.action === 'review') {
      this.log.info({ action: decision.action, rules: decision.rules.map((r) => r.id) }, 'statement refused');
    } else {
      this.log.debug({ action: decision.action }, 'statement');
    }
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
    this.deps.audit.record({
      type: 'session.ended',
      session: this.id,
      grant: this.grant.id,
      identity: this.grant.identity,
      reason: this.terminating ?? reason,
      duration_ms: Date.now() - this.startedAt,
    });
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
    };
  }
}
