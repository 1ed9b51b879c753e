// Webhook notifier: a bounded in-memory queue of signed JSON POSTs, retried with backoff, off the hot path.
import { createHmac, randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import { ALWAYS_DELIVERED, toWebhookEvents, type NotifiableEvent, type WebhookEvent } from './webhook-events.js';

/** One entry of `notify.webhooks`. */
export interface WebhookTarget {
  url: string;
  /** event names, or "*" for all */
  events: string[];
  /** HMAC-SHA256 key for the signature header */
  secret?: string;
}

export interface WebhookNotifierOptions {
  webhooks: WebhookTarget[];
  logger: Logger;
  metrics?: Pick<Metrics, 'webhookDeliveries'>;
  /** deliveries held at most (waiting, retrying or in flight); beyond it the oldest waiting one is dropped */
  maxQueue?: number;
  /** tries per delivery, the first included */
  maxAttempts?: number;
  /** first retry delay; doubles per attempt up to maxDelayMs */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** per-attempt timeout */
  timeoutMs?: number;
  /** parallel POSTs */
  concurrency?: number;
  /** broker instance name, sent in the payload */
  instance?: string;
}

interface Delivery {
  id: string;
  target: WebhookTarget;
  event: WebhookEvent['event'];
  body: string;
  attempt: number;
}

export const SIGNATURE_HEADER = 'x-dbwarden-signature';
export const TIMESTAMP_HEADER = 'x-dbwarden-timestamp';

/**
 * `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. Defends receivers against forged calls (without the
 * secret no valid signature) and, with the timestamp inside the MAC, against replays of an old captured call.
 */
export function signWebhook(secret: string, timestamp: string, body: string): string {
  return 'sha256=' + createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

export class WebhookNotifier {
  private readonly webhooks: WebhookTarget[];
  private readonly log: Logger;
  private readonly metrics: Pick<Metrics, 'webhookDeliveries'> | undefined;
  private readonly maxQueue: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly concurrency: number;
  private readonly instance: string | undefined;
  private readonly ready: Delivery[] = [];
  private readonly retryTimers = new Map<NodeJS.Timeout, Delivery>();
  private inFlight = 0;
  private closed = false;
  private dropWarned = false;
  private idleWaiters: (() => void)[] = [];

  constructor(options: WebhookNotifierOptions) {
    this.webhooks = options.webhooks;
    this.log = options.logger.child({ component: 'webhooks' });
    this.metrics = options.metrics;
    this.maxQueue = options.maxQueue ?? 1000;
    this.maxAttempts = options.maxAttempts ?? 6;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.concurrency = options.concurrency ?? 4;
    this.instance = options.instance;
  }

  /** Deliveries not yet finished (waiting, waiting for a retry, or in flight). */
  get pending(): number {
    return this.ready.length + this.retryTimers.size + this.inFlight;
  }

  /** Turns a broker event into notifications and queues them; never throws, never waits. */
  notify(e: NotifiableEvent): void {
    if (this.closed || this.webhooks.length === 0) return;
    try {
      for (const w of toWebhookEvents(e)) this.enqueue(w);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not build a webhook notification');
    }
  }

  enqueue(w: WebhookEvent): void {
    if (this.closed) return;
    const at = new Date().toISOString();
    for (const target of this.webhooks) {
      if (!ALWAYS_DELIVERED.includes(w.event) && !target.events.includes('*') && !target.events.includes(w.event)) continue;
      const id = 'evt_' + randomBytes(9).toString('base64url');
      const body = JSON.stringify({ id, event: w.event, at, text: w.text, ...(this.instance ? { instance: this.instance } : {}), data: w.data });
      if (this.pending >= this.maxQueue) this.dropOldest();
      this.ready.push({ id, target, event: w.event, body, attempt: 0 });
    }
    this.pump();
  }

  /** Stops taking events and waits up to `drainMs` for what is queued; the rest is dropped (and counted). */
  async close(drainMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.pending > 0) {
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), new Promise((r) => setTimeout(r, drainMs).unref())]);
    }
    const left = this.ready.length + this.retryTimers.size;
    for (const t of this.retryTimers.keys()) clearTimeout(t);
    this.retryTimers.clear();
    this.ready.length = 0;
    if (left > 0) {
      this.metrics?.webhookDeliveries.inc({ outcome: 'dropped' }, left);
      this.log.warn({ dropped: left }, 'webhook notifications still queued at shutdown were dropped');
    }
  }

  /** Resolves once nothing is pending (tests, shutdown). */
  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  // ---- internals ----

  private dropOldest(): void {
    const dropped = this.ready.shift();
    if (!dropped) {
      // everything is retrying or in flight: give up the retry that has waited longest
      const first = this.retryTimers.keys().next();
      if (first.done) return;
      clearTimeout(first.value);
      this.retryTimers.delete(first.value);
    }
    this.metrics?.webhookDeliveries.inc({ outcome: 'dropped' });
    if (!this.dropWarned) {
      this.dropWarned = true;
      this.log.warn({ maxQueue: this.maxQueue }, 'webhook queue full; dropping the oldest notifications');
    }
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.ready.length > 0) {
      const d = this.ready.shift()!;
      this.inFlight++;
      void this.attempt(d).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.pending === 0) {
          this.dropWarned = false;
          for (const r of this.idleWaiters.splice(0)) r();
        }
      });
    }
  }

  private async attempt(d: Delivery): Promise<void> {
    d.attempt++;
    let retryAfterMs: number | undefined;
    let problem: string;
    try {
      const timestamp = String(Math.floor(Date.now() / 1000));
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'user-agent': 'dbwarden-webhook/1',
        'x-dbwarden-event': d.event,
        'x-dbwarden-delivery': d.id,
        [TIMESTAMP_HEADER]: timestamp,
      };
      if (d.target.secret) headers[SIGNATURE_HEADER] = signWebhook(d.target.secret, timestamp, d.body);
      // Redirects are not followed: a signed notification goes to the configured URL or nowhere.
      const res = await fetch(d.target.url, { method: 'POST', headers, body: d.body, redirect: 'manual', signal: AbortSignal.timeout(this.timeoutMs) });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) {
        this.metrics?.webhookDeliveries.inc({ outcome: 'delivered' });
        return;
      }
      problem = `HTTP ${res.status}`;
      const retryable = res.status === 408 || res.status === 425 || res.status === 429 || res.status >= 500;
      if (!retryable) return this.fail(d, problem);
      const ra = Number(res.headers.get('retry-after'));
      if (Number.isFinite(ra) && ra > 0) retryAfterMs = ra * 1000;
    } catch (e) {
      problem = (e as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : ((e as Error).cause as Error)?.message ?? (e as Error).message;
    }
    if (d.attempt >= this.maxAttempts || this.closed) return this.fail(d, problem);
    const backoff = Math.min(this.baseDelayMs * 2 ** (d.attempt - 1), this.maxDelayMs);
    // jitter spreads the retries of many instances hitting one recovering endpoint
    const delay = Math.min(Math.max(retryAfterMs ?? 0, backoff * (0.8 + Math.random() * 0.4)), this.maxDelayMs);
    this.metrics?.webhookDeliveries.inc({ outcome: 'retried' });
    this.log.debug({ url: redactUrl(d.target.url), event: d.event, attempt: d.attempt, problem, delayMs: Math.round(delay) }, 'webhook failed; will retry');
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.ready.push(d);
      this.pump();
    }, delay);
    timer.unref();
    this.retryTimers.set(timer, d);
  }

  private fail(d: Delivery, problem: string): void {
    this.metrics?.webhookDeliveries.inc({ outcome: 'failed' });
    this.log.warn({ url: redactUrl(d.target.url), event: d.event, attempts: d.attempt, problem }, 'webhook notification failed');
  }
}

/** Webhook URLs often carry a token in the path or query (Slack does): log only scheme, host and port. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(invalid url)';
  }
}
