// Registry of live sessions on this broker instance: open/end, cancel keys, termination by grant,
// and the janitor sweep that enforces grant deadlines and sends expiry warnings.
import { randomBytes, randomInt } from 'node:crypto';
import type { AuditSink } from '../audit/events.js';
import type { Grant } from '../grants/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AccessLevel } from '../rules/types.js';
import type { GuardPool } from './guard.js';
import { Session, type Protocol, type ReviewGate, type SessionInfo, type TerminationReason } from './session.js';

export interface RegistryDeps {
  audit: AuditSink;
  metrics: Metrics;
  logger: Logger;
  guards: GuardPool;
  instanceId: string;
  now?: () => number;
  /** statement reviews (rule action `review`) */
  reviews?: ReviewGate;
}

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
  private nextPid = randomInt(1000, 1 << 20);
  private janitor?: NodeJS.Timeout;
  private readonly now: () => number;
  private readonly observers = new Set<SessionObserver>();

  constructor(private readonly deps: RegistryDeps) {
    this.now = deps.now ?? Date.now;
  }

  get size(): number {
    return this.sessions.size;
  }

  open(args: { grant: Grant; protocol: Protocol; database: string; client: string; dialect: 'postgres' | 'mysql' }): Session {
    const id = 'ses_' + randomBytes(6).toString('hex');
    const guard = this.deps.guards.get({ dialect: args.dialect, target: args.grant.target, access: args.grant.access as AccessLevel, groups: args.grant.groups });
    const s = new Session(id, args.grant, args.protocol, args.database, args.client, this.deps.instanceId, guard, {
      audit: this.deps.audit,
      metrics: this.deps.metrics,
      logger: this.deps.logger,
      onEnd: (ended) => this.onEnd(ended),
      ...(this.deps.reviews ? { reviews: this.deps.reviews } : {}),
    });
    this.sessions.set(id, s);
    this.deps.metrics.clientConnectionsActive.inc({ protocol: s.protocol, target: s.grant.target });
    this.deps.audit.record({
      type: 'session.started', session: id, grant: s.grant.id, identity: s.grant.identity, target: s.grant.target,
      database: s.database, protocol: s.protocol, client: s.client,
    });
    s.log.info({ target: s.grant.target, database: s.database, client: s.client }, 'session started');
    this.tell((o) => o.opened(s));
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
    let n = 0;
    for (const s of this.sessions.values()) {
      if (s.grant.id === grantId) {
        s.terminate(reason);
        n++;
      }
    }
    return n;
  }

  /** A grant's deadline moved (extend): live sessions follow it. */
  updateGrantExpiry(grantId: string, expiresAt: string): void {
    const t = Date.parse(expiresAt);
    for (const s of this.sessions.values()) {
      if (s.grant.id === grantId) {
        s.expiresAt = t;
        s.warned.clear();
      }
    }
  }

  terminateAll(reason: TerminationReason): void {
    for (const s of this.sessions.values()) s.terminate(reason);
  }

  /** One sweep: end sessions past their grant's deadline; warn 5 and 1 minutes ahead. */
  sweep(): void {
    const now = this.now();
    for (const s of this.sessions.values()) {
      const left = s.expiresAt - now;
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
  startJanitor(intervalMs = 200, alsoEverySecond?: () => void): void {
    let ticks = 0;
    const perSecond = Math.max(1, Math.round(1000 / intervalMs));
    this.janitor = setInterval(() => {
      this.sweep();
      if (alsoEverySecond && ++ticks % perSecond === 0) alsoEverySecond();
    }, intervalMs);
    this.janitor.unref();
  }

  stopJanitor(): void {
    if (this.janitor) clearInterval(this.janitor);
  }

  private onEnd(s: Session): void {
    if (!this.sessions.delete(s.id)) return;
    for (const [pid, e] of this.cancelKeys) if (e.session === s) this.cancelKeys.delete(pid);
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
