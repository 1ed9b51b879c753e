// ReviewService: statement reviews (rule action `review`) — filed synchronously on the hot path, decided over the admin API.
import type { AuditEvent, AuditSink } from '../audit/events.js';
import type { Config } from '../config/schema.js';
import { BrokerError, ErrorCode } from '../errors.js';
import type { DryRunResult, Grant, GrantStore, Identity, ReviewRecord } from './model.js';
import { matchesPrincipal } from './policy.js';
import { newId } from './service.js';

/** An approval lets its exact statement pass once, for this long after the decision (docs/api.md, reviews). */
export const REVIEW_VALIDITY_MS = 15 * 60_000;

export const REVIEW_STATUSES = ['pending', 'approved', 'denied', 'used', 'expired'] as const satisfies readonly ReviewRecord['status'][];

export interface ReviewServiceOptions {
  store: GrantStore;
  /** access policies name who may approve; the current config wins over the copy kept in the request */
  config: Pick<Config, 'access'>;
  audit: AuditSink;
  /** clock in ms since the epoch; tests pass a fake one */
  now?: () => number;
  /** receives failures of background store writes (the decision that caused them has already been answered) */
  onError?: (error: unknown) => void;
  /**
   * Runs a newly filed review's statement in a transaction that is rolled back and reports what it changed; the
   * result is added to the pending review for its approvers. Absent: no dry runs.
   */
  dryRun?: (review: ReviewRecord) => Promise<DryRunResult>;
}

export interface ReviewRequest {
  grant: Grant;
  session: string;
  text: string;
  ruleIds: string[];
  /** the session's database (dry runs run there) */
  database?: string;
}

const forbidden = (m: string) => new BrokerError(ErrorCode.FORBIDDEN, m);
const wrongState = (m: string) => new BrokerError(ErrorCode.WRONG_STATE, m);

/** Index key: an approval is for one grant and one exact text, never a normalised form of it. */
const keyOf = (grantId: string, text: string) => `${grantId}\u0000${text}`;

export class ReviewService {
  private readonly store: GrantStore;
  private readonly config: Pick<Config, 'access'>;
  private readonly audit: AuditSink;
  private readonly now: () => number;
  private readonly onError: (error: unknown) => void;
  private readonly dryRun: ReviewServiceOptions['dryRun'];
  /** approved, not yet used: what `consume` answers from without waiting for the store */
  private readonly approved = new Map<string, ReviewRecord>();
  /** pending reviews by key, so a retried statement points at the review already waiting */
  private readonly pending = new Map<string, ReviewRecord>();
  /** ids used on this instance: a refresh racing the background write must not bring them back */
  private readonly taken = new Set<string>();
  /** background writes, chained so a review's later state never lands before its earlier one */
  private writes: Promise<void> = Promise.resolve();
  /** serialises decisions so two approvers cannot both decide one review */
  private queue: Promise<unknown> = Promise.resolve();
  private refreshing: Promise<void> | undefined;
  private readonly dryRuns = new Set<Promise<void>>();

  constructor(options: ReviewServiceOptions) {
    this.store = options.store;
    this.config = options.config;
    this.audit = options.audit;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => undefined);
    this.dryRun = options.dryRun;
  }

  /**
   * Files a review for a refused statement, or returns the one already pending for the same grant and text.
   * Synchronous because the protocol module answers the client right away: the id exists now, the record
   * is written in the background, and the audit event is recorded before the client sees the id.
   */
  request(r: ReviewRequest): ReviewRecord {
    const key = keyOf(r.grant.id, r.text);
    const waiting = this.pending.get(key);
    if (waiting) return waiting;
    const review: ReviewRecord = {
      id: newId('rv'),
      grantId: r.grant.id,
      identity: r.grant.identity,
      target: r.grant.target,
      text: r.text,
      ruleIds: [...r.ruleIds],
      status: 'pending',
      createdAt: this.iso(this.now()),
      session: r.session,
      ...(r.database !== undefined ? { database: r.database } : {}),
    };
    this.pending.set(key, review);
    this.audit.record({ type: 'review.requested', review: review.id, grant: review.grantId, actor: review.identity, session: r.session, target: review.target, rules: review.ruleIds });
    this.write(review);
    if (this.dryRun) this.startDryRun(key, review, this.dryRun);
    return review;
  }

  /**
   * Adds the dry run's result to the review while it is still pending. Runs in the decision queue: a decision made
   * meanwhile must never be overwritten by a late result carrying the old `pending` status.
   */
  private startDryRun(key: string, review: ReviewRecord, run: (r: ReviewRecord) => Promise<DryRunResult>): void {
    const done = run(review)
      .catch((e: unknown): DryRunResult => ({ at: this.iso(this.now()), error: (e as Error)?.message ?? String(e) }))
      .then((dryRun) => this.exclusive(async () => {
        const current = this.pending.get(key);
        if (current?.id !== review.id) return;
        const next: ReviewRecord = { ...current, dryRun };
        this.pending.set(key, next);
        await this.flush(); // the filing's own background write lands first
        await this.store.putReview(next);
      }))
      .catch(this.onError);
    this.dryRuns.add(done);
    void done.finally(() => this.dryRuns.delete(done));
  }

  /** Resolves once every dry run started so far has finished and been stored. */
  async settleDryRuns(): Promise<void> {
    while (this.dryRuns.size) await Promise.all([...this.dryRuns]);
  }

  /**
   * Takes the approval of `text` for this grant, if one is live: it is gone from the index before this
   * returns, so the statement passes once however many sessions of the grant race for it.
   */
  consume(grantId: string, text: string): ReviewRecord | undefined {
    const key = keyOf(grantId, text);
    const review = this.approved.get(key);
    if (!review) return undefined;
    this.approved.delete(key);
    this.taken.add(review.id);
    const now = this.now();
    if (review.validUntil !== undefined && Date.parse(review.validUntil) <= now) {
      this.write({ ...review, status: 'expired' });
      return undefined;
    }
    const used: ReviewRecord = { ...review, status: 'used', usedAt: this.iso(now) };
    this.write(used);
    return used;
  }

  async list(filter: { status?: ReviewRecord['status'] } = {}): Promise<ReviewRecord[]> {
    await this.flush();
    return this.store.listReviews(filter);
  }

  async get(id: string): Promise<ReviewRecord> {
    await this.flush();
    const review = await this.store.getReview(id);
    if (!review) throw new BrokerError(ErrorCode.NOT_FOUND, `no review ${id}`);
    return review;
  }

  /** An approver of the grant's policy lets the statement pass once within REVIEW_VALIDITY_MS. */
  approve(identity: Identity, id: string, comment?: string): Promise<ReviewRecord> {
    return this.exclusive(async () => {
      const review = await this.pendingReview(id);
      // Four-eyes rule: the person whose statement was held cannot be the one who releases it.
      if (review.identity === identity.name) throw forbidden('you cannot approve a review of your own statement');
      const grant = await this.assertApprover(identity, review);
      if (grant.status !== 'active' || Date.parse(grant.expiresAt) <= this.now()) {
        throw wrongState(`grant ${grant.id} is no longer active, so review ${id} cannot be approved`);
      }
      const at = this.now();
      const decided: ReviewRecord = {
        ...review, status: 'approved', decidedAt: this.iso(at), decidedBy: identity.name, validUntil: this.iso(at + REVIEW_VALIDITY_MS),
        ...(comment ? { comment } : {}),
      };
      // durable before the approver is told: a restart right after the answer must still honour it
      await this.store.putReview(decided);
      const key = keyOf(review.grantId, review.text);
      this.pending.delete(key);
      this.approved.set(key, decided);
      this.record({ type: 'review.approved', review: id, grant: review.grantId, actor: identity.name, identity: review.identity, target: review.target, rules: review.ruleIds, validUntil: decided.validUntil, ...(comment ? { comment } : {}) });
      return decided;
    });
  }

  /** Refuses a pending review; approvers decide, and the statement's author may withdraw it. */
  deny(identity: Identity, id: string, comment?: string): Promise<ReviewRecord> {
    return this.exclusive(async () => {
      const review = await this.pendingReview(id);
      if (review.identity !== identity.name) await this.assertApprover(identity, review);
      const decided: ReviewRecord = { ...review, status: 'denied', decidedAt: this.iso(this.now()), decidedBy: identity.name, ...(comment ? { comment } : {}) };
      await this.store.putReview(decided);
      this.pending.delete(keyOf(review.grantId, review.text));
      this.record({ type: 'review.denied', review: id, grant: review.grantId, actor: identity.name, identity: review.identity, target: review.target, ...(comment ? { comment } : {}) });
      return decided;
    });
  }

  /**
   * Re-reads the store: after a restart the index comes back from it, approvals made on other broker instances
   * arrive, approvals past their window and pending reviews of ended grants become `expired`.
   */
  refresh(): Promise<void> {
    // the janitor calls this every second; a slow store must not pile up refreshes behind one another
    this.refreshing ??= this.exclusive(() => this.reload()).finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async reload(): Promise<void> {
    await this.flush();
    const now = this.now();
    const listedAt = this.iso(now);
    const approved = new Map<string, ReviewRecord>();
    const listed = await this.store.listReviews({ status: 'approved' });
    // a used id whose store record no longer says approved cannot come back: forget it
    const stillApproved = new Set(listed.map((r) => r.id));
    for (const id of this.taken) if (!stillApproved.has(id)) this.taken.delete(id);
    for (const r of listed) {
      if (this.taken.has(r.id)) continue;
      if (r.validUntil !== undefined && Date.parse(r.validUntil) <= now) {
        await this.store.putReview({ ...r, status: 'expired' });
        continue;
      }
      approved.set(keyOf(r.grantId, r.text), r);
    }
    this.replace(this.approved, approved, () => false);
    const grants = new Map<string, Grant | undefined>();
    const pending = new Map<string, ReviewRecord>();
    for (const r of await this.store.listReviews({ status: 'pending' })) {
      if (!grants.has(r.grantId)) grants.set(r.grantId, await this.store.getGrant(r.grantId));
      const g = grants.get(r.grantId);
      if (!g || g.status !== 'active' || Date.parse(g.expiresAt) <= now) {
        await this.store.putReview({ ...r, status: 'expired' });
        continue;
      }
      pending.set(keyOf(r.grantId, r.text), r);
    }
    // reviews filed while the store was being listed are not in the listing yet: keep them
    this.replace(this.pending, pending, (r) => r.createdAt >= listedAt);
  }

  /** Resolves once every background write has reached the store. */
  async flush(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.writes;
      await seen;
    } while (seen !== this.writes);
  }

  // ---- internals ----

  private async pendingReview(id: string): Promise<ReviewRecord> {
    const review = await this.get(id);
    if (review.status !== 'pending') throw wrongState(`review ${id} is ${review.status}, not pending`);
    return review;
  }

  /**
   * Defends against anyone with an API token releasing held statements: only an identity the grant's access
   * policy lists as an approver may decide. The current config's policy wins, so removing someone from a
   * policy's approvers takes effect at once; the request's own copy covers a policy renamed since.
   */
  private async assertApprover(identity: Identity, review: ReviewRecord): Promise<Grant> {
    const grant = await this.store.getGrant(review.grantId);
    if (!grant) throw wrongState(`grant ${review.grantId} of review ${review.id} no longer exists`);
    const request = await this.store.getRequest(grant.requestId);
    const policy = request ? this.config.access.find((p) => p.name === request.policy) : undefined;
    const approvers = policy?.approvers ?? request?.approvers ?? [];
    if (!matchesPrincipal(approvers, identity)) {
      throw forbidden(`${identity.name} is not an approver for policy ${request?.policy ?? '(unknown)'} of grant ${grant.id}`);
    }
    return grant;
  }

  private replace(target: Map<string, ReviewRecord>, next: Map<string, ReviewRecord>, keep: (r: ReviewRecord) => boolean): void {
    for (const [k, r] of target) if (!next.has(k) && !keep(r)) target.delete(k);
    for (const [k, r] of next) if (!this.taken.has(r.id)) target.set(k, r);
  }

  private write(review: ReviewRecord): void {
    this.writes = this.writes.then(() => this.store.putReview(review)).catch((e) => this.onError(e));
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private record(event: AuditEvent): void {
    this.audit.record(event);
  }

  private iso(ms: number): string {
    return new Date(ms).toISOString();
  }
}
