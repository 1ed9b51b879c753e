// The janitor: one timer for every periodic duty of the broker. Several times a second it sweeps the sessions
// (grant deadlines, expiry warnings: SessionRegistry.sweep); once a second it expires stored grants, reconciles
// sessions with grants changed on other instances and refreshes approved reviews. One place, so a duty is never
// left running after shutdown nor started twice.
import type { Logger } from '../log.js';

export interface JanitorDuties {
  /** ends sessions past their deadline and sends expiry warnings (SessionRegistry.sweep) */
  sweepSessions(): void;
  /** grants past their expiry are ended in the store; skipped while the store is unavailable */
  expireGrants?: { ready(): boolean; run(): Promise<unknown> };
  /** sessions whose grant changed on another instance (fan-out) */
  reconcile?(): Promise<void>;
  /** approvals given since the last look (ReviewService.refresh) */
  refreshReviews?(): Promise<unknown>;
}

export class Janitor {
  private timer?: NodeJS.Timeout;

  constructor(private readonly duties: JanitorDuties, private readonly logger?: Logger) {}

  start(intervalMs = 200): void {
    if (this.timer) return;
    let ticks = 0;
    const perSecond = Math.max(1, Math.round(1000 / intervalMs));
    this.timer = setInterval(() => {
      this.duties.sweepSessions();
      if (++ticks % perSecond === 0) this.everySecond();
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private everySecond(): void {
    const { expireGrants, reconcile, refreshReviews } = this.duties;
    // while the store is away, sessions end from their in-memory deadlines; the stored grants catch up after
    if (expireGrants?.ready()) expireGrants.run().catch((e) => this.logger?.warn({ err: (e as Error).message }, 'expiry sweep failed'));
    if (reconcile) void reconcile();
    refreshReviews?.().catch((e) => this.logger?.warn({ err: (e as Error).message }, 'review refresh failed'));
  }
}
