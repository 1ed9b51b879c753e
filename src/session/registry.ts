// Registry of live sessions on this broker instance: open/end, cancel keys, termination by grant,
// and the sweep that enforces grant deadlines and sends expiry warnings (run by the janitor, session/janitor.ts).
import { randomInt } from 'node:crypto';
import { randomHex12 } from './random-hex.js';
import type { AuditSink } from '../audit/events.js';
import type { Grant } from '../grants/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AccessLevel } from '../rules/types.js';
import { BrokerError, ErrorCode } from '../errors.js';
import { BufferBudget } from './buffer-budget.js';
import type { GuardPool } from './guard.js';
import { PartialWatch } from './partial-watch.js';
import { Session, type Protocol, type ReviewGate, type SessionInfo, type TerminationReason } from './session.js';

/** sessions ended per event-loop turn when a grant ends (see terminateInTurns) */
const TERMINATE_BATCH = 200;

export interface RegistryDeps {
  audit: AuditSink;
  metrics: Metrics;
  logger: Logger;
  guards: GuardPool;
  instanceId: string;
  now?: () => number;
  /** monotonic milliseconds (default performance.now); never jumps with the wall clock */
  monotonic?: () => number;
  /** statement reviews (rule action `review`) */
  reviews?: ReviewGate;
  /** resource limits (config `limits`); defaults as in the schema */
  limits?: SessionLimits;
}

export interface SessionLimits {
  /** live sessions one grant may have on this broker instance */
  maxSessionsPerGrant: number;
  /** how long a partial client message may stay buffered */
  partialMessageTimeoutMs: number;
  /** bytes of partial messages over all sessions of one grant */
  partialBytesPerGrant: number;
  /** bytes of partial messages over all sessions */
  partialBytesTotal: number;
}

export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  maxSessionsPerGrant: 20,
  partialMessageTimeoutMs: 30_000,
  partialBytesPerGrant: 64 << 20,
  partialBytesTotal: 256 << 20,
};

/** ascending: find() picks the narrowest window a session is in */
const WARN_MINUTES = [1, 5];

/** The time left, never more than there is: whole minutes rounded down, seconds under two minutes ("69 seconds"). */
export function timeLeftText(ms: number): string {
  const secs = Math.max(0, Math.floor(ms / 1000));
  if (secs < 120) return `${secs} second${secs === 1 ? '' : 's'}`;
  return `${Math.floor(secs / 60)} minutes`;
}

/** Told when sessions come and go, e.g. so the cross-instance session index stays current. */
export interface SessionObserver {
  opened(session: Session): void;
  ended(session: Session): void;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly cancelKeys = new Map<number, { secret: number; session: Session }>();
  /** each session's cancel key pid, so ending a session finds its key without a scan */
  private readonly cancelPids = new WeakMap<Session, number>();
  private nextPid = randomInt(1000, 1 << 20);
  private readonly now: () => number;
  private readonly mono: () => number;
  /** grants ended on this instance (revoked, expired) → reason; see open() */
  private readonly endedGrants = new Map<string, TerminationReason>();
  private readonly observers = new Set<SessionObserver>();
  private readonly perGrant = new Map<string, number>();
  readonly limits: SessionLimits;
  readonly buffers: BufferBudget;

  constructor(private readonly deps: RegistryDeps) {
    this.now = deps.now ?? Date.now;
    this.mono = deps.monotonic ?? (() => performance.now());
    this.limits = deps.limits ?? DEFAULT_SESSION_LIMITS;
    this.buffers = new BufferBudget({ perGrant: this.limits.partialBytesPerGrant, total: this.limits.partialBytesTotal });
  }

  /**
   * A live session's deadline is kept twice: as the grant's wall-clock expiry and as the same remaining time on the
   * monotonic clock. The sweep ends the session at whichever comes first, so setting the system clock back (by an
   * operator, NTP stepping, or an attacker with access to it) never lets a live session outlive its grant, while a
   * clock set forward ends it early (fail closed).
   */
  private setDeadline(s: Session, expiresAt: number): void {
    s.expiresAt = expiresAt;
    s.monoDeadline = this.mono() + (expiresAt - this.now());
  }

  /**
   * Throws BRK_SESSION_LIMIT when the grant already has its maximum of live sessions. Called before the upstream
   * connection is made (cheap refusal) and again by open() (two logins racing past the first check).
   * Defends against one grant (one leaked password) opening connections until the broker or the upstream runs out.
   */
  /** After a rules reload: every live session decides its next statement under the new rules. */
  takeNewRules(): void {
    for (const s of this.sessions.values()) s.guard = this.deps.guards.get(s.guard.ctx);
  }

  checkSessionLimit(grant: Grant): void {
    const n = this.perGrant.get(grant.id) ?? 0;
    if (n >= this.limits.maxSessionsPerGrant) {
      throw new BrokerError(ErrorCode.SESSION_LIMIT, `dbwarden: grant ${grant.id} already has ${n} open sessions (limit ${this.limits.maxSessionsPerGrant}, limits.maxSessionsPerGrant); close one first`);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  open(args: { grant: Grant; protocol: Protocol; database: string; client: string; dialect: 'postgres' | 'mysql' }): Session {
    this.checkSessionLimit(args.grant);
    // unpredictable: session ids name sessions in the API (kill) and the audit
    const id = `ses_${randomHex12()}`;
    const guard = this.deps.guards.get({ dialect: args.dialect, target: args.grant.target, access: args.grant.access as AccessLevel, groups: args.grant.groups });
    const s = new Session(id, args.grant, args.protocol, args.database, args.client, this.deps.instanceId, guard, {
      audit: this.deps.audit,
      metrics: this.deps.metrics,
      logger: this.deps.logger,
      onEnd: (ended) => this.onEnd(ended),
      ...(this.deps.reviews ? { reviews: this.deps.reviews } : {}),
    });
    this.setDeadline(s, s.expiresAt);
    // recorded first: a session whose start cannot be audited is refused (the error reaches the client) and
    // leaves nothing registered behind
    this.deps.audit.record({
      type: 'session.started', session: id, grant: s.grant.id, identity: s.grant.identity, target: s.grant.target,
      database: s.database, protocol: s.protocol, client: s.client,
    });
    this.sessions.set(id, s);
    this.perGrant.set(s.grant.id, (this.perGrant.get(s.grant.id) ?? 0) + 1);
    s.partials = new PartialWatch(this.buffers, s.grant.id, this.limits.partialMessageTimeoutMs);
    this.deps.metrics.clientConnectionsActive.inc({ protocol: s.protocol, target: s.grant.target });
    s.log.info({ target: s.grant.target, database: s.database, client: s.client }, 'session started');
    this.tell((o) => o.opened(s));
    // A login reads its grant before it authenticates and connects upstream; a revoke that lands in between has
    // already swept the sessions it could see. Without this check that session would outlive the revoke (until
    // the grant's deadline): it ends as soon as its protocol module takes control of it.
    const gone = this.endedGrants.get(args.grant.id);
    if (gone) s.terminate(gone);
    return s;
  }

  /** Registers an observer; returns the function that removes it. */
  observe(observer: SessionObserver): () => void {
    this.observers.add(observer);
    return () => this.observers.delete(observer);
  }

  /** A process id and secret the client sees in BackendKeyData (PostgreSQL) or as its thread id (MySQL). */
  issueCancelKey(session: Session): { pid: number; secret: number } {
    const pid = this.nextPid++;
    if (this.nextPid > 0x7fffffff) this.nextPid = 1000;
    const secret = randomInt(0, 0x7fffffff);
    this.cancelKeys.set(pid, { secret, session });
    this.cancelPids.set(session, pid);
    return { pid, secret };
  }

  /** Finds the session a cancel request is for; the secret must match (it stops a client cancelling others' queries). */
  findByCancelKey(pid: number, secret: number | null): Session | undefined {
    const e = this.cancelKeys.get(pid);
    if (!e) return undefined;
    if (secret !== null && e.secret !== secret) return undefined;
    return e.session;
  }

  get(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  all(): IterableIterator<Session> {
    return this.sessions.values();
  }

  list(): SessionInfo[] {
    return [...this.sessions.values()].map((s) => s.info());
  }

  kill(id: string, actor: string): boolean {
    const s = this.sessions.get(id);
    if (!s) return false;
    this.deps.logger.info({ session: id, actor }, 'session kill requested');
    s.terminate('killed');
    return true;
  }

  terminateGrant(grantId: string, reason: TerminationReason): number {
    if (reason === 'revoked' || reason === 'expired') {
      this.endedGrants.set(grantId, reason);
      // bounded: the oldest ids go first (a login that read its grant that long ago has long finished)
      if (this.endedGrants.size > 100_000) this.endedGrants.delete(this.endedGrants.keys().next().value!);
    }
    const mine: Session[] = [];
    for (const s of this.sessions.values()) if (s.grant.id === grantId) mine.push(s);
    this.terminateInTurns(mine, reason);
    return mine.length;
  }

  /**
   * Ends sessions a batch per event-loop turn. Ending one costs two socket writes and a shutdown (~0.1 ms); a grant
   * with thousands of sessions ended in one synchronous loop would stall every other session and the API for
   * seconds. Between batches the rest keep running for a few milliseconds at most: a new statement of theirs is
   * still decided under a live grant only until its turn comes, and the janitor's deadline check covers expiry.
   */
  private terminateInTurns(sessions: Session[], reason: TerminationReason, from = 0): void {
    const until = Math.min(sessions.length, from + TERMINATE_BATCH);
    for (let i = from; i < until; i++) sessions[i]!.terminate(reason);
    if (until < sessions.length) setImmediate(() => this.terminateInTurns(sessions, reason, until));
  }

  /** A grant's deadline moved (extend): live sessions follow it. */
  updateGrantExpiry(grantId: string, expiresAt: string): void {
    const t = Date.parse(expiresAt);
    for (const s of this.sessions.values()) {
      if (s.grant.id === grantId) {
        this.setDeadline(s, t);
        s.warned.clear();
      }
    }
  }

  /** One sweep: end sessions past their grant's deadline; warn 5 and 1 minutes ahead. */
  sweep(): void {
    const now = this.now();
    const mono = this.mono();
    for (const s of this.sessions.values()) {
      const left = Math.min(s.expiresAt - now, s.monoDeadline - mono);
      if (left <= 0) {
        s.terminate('expired');
        continue;
      }
      // only the narrowest window reached is announced; the wider ones count as announced with it
      const m = WARN_MINUTES.find((w) => left <= w * 60_000);
      if (m !== undefined && !s.warned.has(m)) {
        for (const k of WARN_MINUTES) if (k >= m) s.warned.add(k);
        s.notice(`dbwarden: grant ${s.grant.id} expires in ${timeLeftText(left)} (at ${new Date(s.expiresAt).toISOString()})`);
      }
    }
  }

  /** Deadlines are checked often enough that a session ends well within a second of its grant's expiry. */
  private onEnd(s: Session): void {
    if (!this.sessions.delete(s.id)) return;
    const n = (this.perGrant.get(s.grant.id) ?? 1) - 1;
    if (n > 0) this.perGrant.set(s.grant.id, n);
    else this.perGrant.delete(s.grant.id);
    s.partials?.release();
    // by the session's own key, not a scan of every live session's (a scan per close grew with the session count)
    const pid = this.cancelPids.get(s);
    if (pid !== undefined && this.cancelKeys.get(pid)?.session === s) this.cancelKeys.delete(pid);
    this.cancelPids.delete(s);
    this.deps.metrics.clientConnectionsActive.dec({ protocol: s.protocol, target: s.grant.target });
    this.tell((o) => o.ended(s));
  }

  /** An observer's failure must not break opening or ending a session. */
  private tell(fn: (o: SessionObserver) => void): void {
    for (const o of this.observers) {
      try {
        fn(o);
      } catch (e) {
        this.deps.logger.warn({ err: (e as Error).message }, 'session observer failed');
      }
    }
  }
}
