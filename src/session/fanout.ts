// Session fan-out: revoke, expiry, extension and kill reach the broker instance that holds the session, and
// session listings cover every instance. Without a cluster bus (embedded store) it acts on this instance only.
import { randomBytes } from 'node:crypto';
import type { Grant } from '../grants/model.js';
import type { ClusterBus, GrantEndedMessage, LiveSessionRecord } from '../grants/model.js';
import type { Logger } from '../log.js';
import type { SessionRegistry } from './registry.js';
import type { SessionInfo, TerminationReason } from './session.js';

export type { ClusterBus };

export interface FanoutOptions {
  registry: SessionRegistry;
  instanceId: string;
  logger: Logger;
  /** a grant as stored now; messages are checked against it and local sessions reconciled with it */
  getGrant(id: string): Promise<Grant | undefined>;
  /** absent: single instance, everything stays local */
  bus?: ClusterBus;
  /** how often this instance re-publishes its sessions (default 2 s); entries live 5 beats without one */
  heartbeatMs?: number;
  /** how long a kill of a session on another instance waits for that instance to confirm (default 1.5 s) */
  killAckMs?: number;
}

type EndReason = Extract<TerminationReason, 'revoked' | 'expired'>;

const MESSAGE = {
  // the shared store reads this message too (grants/redis-store.ts): the type keeps the two spellings one
  grantEnded: 'grant.ended' satisfies GrantEndedMessage,
  grantExtended: 'grant.extended',
  kill: 'session.kill',
  killAck: 'session.kill.ack',
} as const;

export class SessionFanout {
  private readonly registry: SessionRegistry;
  private readonly instance: string;
  private readonly log: Logger;
  private readonly bus: ClusterBus | undefined;
  private readonly heartbeatMs: number;
  private readonly sessionTtlMs: number;
  private readonly killAckMs: number;
  private readonly pendingKills = new Map<string, (killed: boolean) => void>();
  private heartbeat?: NodeJS.Timeout;
  private unobserve?: () => void;
  private reconciling = false;
  private busHealthy = true;
  private stopped = false;

  constructor(private readonly options: FanoutOptions) {
    this.registry = options.registry;
    this.instance = options.instanceId;
    this.log = options.logger.child({ component: 'fanout' });
    this.bus = options.bus;
    this.heartbeatMs = options.heartbeatMs ?? 2000;
    this.sessionTtlMs = this.heartbeatMs * 5;
    this.killAckMs = options.killAckMs ?? 1500;
  }

  /** Subscribes to the other instances and starts publishing this one's sessions. */
  async start(): Promise<void> {
    const bus = this.bus;
    if (!bus) return;
    await bus.subscribe((m) => this.onMessage(m));
    this.unobserve = this.registry.observe({
      opened: (s) => this.quietly(bus.putLiveSession(record(s.info()), this.sessionTtlMs), 'session index update'),
      ended: (s) => this.quietly(bus.removeLiveSession(this.instance, s.id), 'session index update'),
    });
    this.beat();
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs);
    this.heartbeat.unref();
  }

  /** A grant ended (revoke or expiry): its sessions end here at once and on every other instance. */
  grantEnded(grantId: string, reason: EndReason): void {
    this.registry.terminateGrant(grantId, reason);
    this.send({ type: MESSAGE.grantEnded, grantId, reason });
  }

  /** A grant's deadline moved: sessions here and elsewhere follow it. */
  grantExtended(grantId: string, expiresAt: string): void {
    this.registry.updateGrantExpiry(grantId, expiresAt);
    this.send({ type: MESSAGE.grantExtended, grantId });
  }

  /** Sessions of every instance; while the bus is unreachable, this instance's only. */
  async list(): Promise<SessionInfo[]> {
    const local = this.registry.list();
    if (!this.bus) return local;
    try {
      const remote = (await this.bus.listLiveSessions()).filter((r) => r.instance !== this.instance);
      return [...local, ...(remote as unknown as SessionInfo[])];
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'cannot list the sessions of other instances; listing this one only');
      return local;
    }
  }

  /** Ends a session wherever it runs; false when no instance holds it (or its instance does not answer). */
  async kill(id: string, actor: string): Promise<boolean> {
    if (this.registry.kill(id, actor)) return true;
    if (!this.bus) return false;
    const owner = (await this.bus.listLiveSessions()).find((r) => r.id === id && r.instance !== this.instance);
    if (!owner) return false;
    const nonce = randomBytes(9).toString('base64url');
    const answered = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.pendingKills.delete(nonce);
        resolve(false);
      }, this.killAckMs);
      timer.unref();
      this.pendingKills.set(nonce, (killed) => {
        clearTimeout(timer);
        this.pendingKills.delete(nonce);
        resolve(killed);
      });
    });
    await this.bus.publish({ type: MESSAGE.kill, session: id, instance: owner.instance, actor, nonce, from: this.instance });
    return answered;
  }

  /**
   * Compares local sessions with their stored grants. Pub/sub delivers at most once, so a message lost while a
   * subscriber reconnected would otherwise leave a revoked grant's session running until its deadline.
   */
  async reconcile(): Promise<void> {
    if (!this.bus || this.reconciling || this.stopped) return;
    this.reconciling = true;
    try {
      const deadlines = new Map<string, number>();
      for (const s of this.registry.all()) deadlines.set(s.grant.id, s.expiresAt);
      for (const [grantId, expiresAt] of deadlines) {
        const grant = await this.options.getGrant(grantId);
        // No stored grant is no evidence of a revoke (e.g. Redis lost its data): the known deadline still holds.
        if (!grant) continue;
        if (grant.status !== 'active') this.registry.terminateGrant(grantId, grant.status);
        else if (Date.parse(grant.expiresAt) !== expiresAt) this.registry.updateGrantExpiry(grantId, grant.expiresAt);
      }
    } catch (e) {
      this.log.debug({ err: (e as Error).message }, 'session reconcile skipped');
    } finally {
      this.reconciling = false;
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.unobserve?.();
    for (const resolve of this.pendingKills.values()) resolve(false);
    if (this.bus) await this.bus.dropInstance(this.instance).catch(() => undefined);
  }

  // ---- internals ----

  private onMessage(m: Record<string, unknown>): void {
    if (this.stopped) return;
    const str = (k: string) => (typeof m[k] === 'string' ? (m[k] as string) : undefined);
    switch (m.type) {
      case MESSAGE.grantEnded: {
        const grantId = str('grantId');
        const reason = str('reason');
        // Ending is the fail-safe direction, so the message is acted on as it comes.
        if (grantId && (reason === 'revoked' || reason === 'expired')) this.registry.terminateGrant(grantId, reason);
        return;
      }
      case MESSAGE.grantExtended: {
        const grantId = str('grantId');
        if (!grantId || ![...this.registry.all()].some((s) => s.grant.id === grantId)) return;
        // Defends against a forged or replayed message stretching a session: the new deadline is read from the
        // store, never taken from the message.
        this.options
          .getGrant(grantId)
          .then((g) => {
            if (g?.status === 'active') this.registry.updateGrantExpiry(grantId, g.expiresAt);
          })
          .catch((e) => this.log.warn({ err: (e as Error).message, grantId }, 'cannot read an extended grant'));
        return;
      }
      case MESSAGE.kill: {
        if (str('instance') !== this.instance) return;
        const id = str('session');
        const nonce = str('nonce');
        if (!id || !nonce) return;
        const killed = this.registry.kill(id, str('actor') ?? 'unknown');
        this.send({ type: MESSAGE.killAck, nonce, killed, to: str('from') ?? '' });
        return;
      }
      case MESSAGE.killAck: {
        if (str('to') !== this.instance) return;
        const nonce = str('nonce');
        if (nonce) this.pendingKills.get(nonce)?.(m.killed === true);
        return;
      }
    }
  }

  private beat(): void {
    if (!this.bus || this.stopped) return;
    this.quietly(this.bus.replaceLiveSessions(this.instance, this.registry.list().map(record), this.sessionTtlMs), 'session heartbeat');
  }

  private send(message: Record<string, unknown>): void {
    if (!this.bus) return;
    this.quietly(this.bus.publish({ ...message, from: this.instance }), `publish ${String(message.type)}`);
  }

  /**
   * Bus failures are logged, never thrown: the local effect already happened and the reconcile loop heals.
   * One warning per outage, not one per heartbeat.
   */
  private quietly(p: Promise<unknown>, what: string): void {
    p.then(
      () => {
        if (!this.busHealthy) this.log.info('cluster bus reachable again');
        this.busHealthy = true;
      },
      (e) => {
        if (this.busHealthy) this.log.warn({ err: (e as Error).message }, `${what} failed`);
        else this.log.debug({ err: (e as Error).message }, `${what} failed`);
        this.busHealthy = false;
      },
    );
  }
}

function record(info: SessionInfo): LiveSessionRecord {
  return { ...info };
}
