// Webhook notifier against a local HTTP server: filtering, payload, HMAC signature, retries, queue bound.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { silentLogger } from '../../../src/log.js';
import { notifyingSink } from '../../../src/notify/notifying-sink.js';
import { toWebhookEvents } from '../../../src/notify/webhook-events.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookNotifier, signWebhook } from '../../../src/notify/webhook-notifier.js';

interface Hit {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: { id: string; event: string; at: string; text: string; data: Record<string, unknown> };
}

const servers: Server[] = [];
const notifiers: WebhookNotifier[] = [];
afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close(0)));
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => {
    s.close(r);
    s.closeAllConnections();
  })));
});

/** A receiver; `answer(path, n)` picks the status of the n-th call (1-based) to a path. */
async function receiver(answer: (path: string, n: number) => number = () => 200): Promise<{ url: string; hits: Hit[] }> {
  const hits: Hit[] = [];
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = (counts.get(path) ?? 0) + 1;
      counts.set(path, n);
      hits.push({ path, headers: req.headers, body, json: JSON.parse(body) });
      res.statusCode = answer(path, n);
      res.end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits };
}

function notifier(webhooks: ConstructorParameters<typeof WebhookNotifier>[0]['webhooks'], extra: Partial<ConstructorParameters<typeof WebhookNotifier>[0]> = {}) {
  const n = new WebhookNotifier({ webhooks, logger: silentLogger, baseDelayMs: 20, maxDelayMs: 100, ...extra });
  notifiers.push(n);
  return n;
}

const activated = (alert = false) => ({
  type: 'grant.activated', actor: 'policy:p', requestId: 'req_1', grantId: 'gr_1', identity: 'bob', target: 'app', access: 'admin',
  databases: ['app'], login: 'bob_abc123', expiresAt: '2030-01-01T00:00:00.000Z', policy: 'break-glass', alert,
});

describe('toWebhookEvents', () => {
  it('maps audit events to webhook events with a Slack text, leaving statement text out', () => {
    expect(toWebhookEvents({ type: 'grant.requested', identity: 'ci', access: 'write', target: 'app', ttl: '10m', reason: 'deploy', approvalsRequired: 1, policy: 'w', requestId: 'req_9' })[0]).toMatchObject({
      event: 'request.created',
      text: expect.stringContaining('ci requests write access to app for 10m: "deploy" — needs 1 approval'),
    });
    const blocked = toWebhookEvents({ type: 'statement', session: 's', grant: 'g', identity: 'alice', target: 'app', database: 'db', text: "alter role x password 'hunter2'", kind: 'alter', action: 'block', rules: ['privilege-change'] });
    expect(blocked).toHaveLength(1);
    expect(blocked[0]!.event).toBe('statement.blocked');
    expect(JSON.stringify(blocked)).not.toContain('hunter2');
    expect(blocked[0]!.data).toMatchObject({ identity: 'alice', rules: ['privilege-change'], kind: 'alter' });
    expect(toWebhookEvents({ type: 'statement', action: 'allow' })).toEqual([]);
    expect(toWebhookEvents({ type: 'session.started' })).toEqual([]);
    expect(toWebhookEvents(activated(true)).map((e) => e.event)).toEqual(['grant.activated', 'break-glass.used']);
    expect(toWebhookEvents(activated(false)).map((e) => e.event)).toEqual(['grant.activated']);
  });
});

describe('WebhookNotifier', () => {
  it('POSTs subscribed events as signed JSON; break-glass reaches every webhook', async () => {
    const r = await receiver();
    const n = notifier([
      { url: `${r.url}/signed`, events: ['grant.activated'], secret: 's3cret' },
      { url: `${r.url}/blocked-only`, events: ['statement.blocked'] },
    ]);
    n.notify(activated(true));
    n.notify({ type: 'grant.revoked', grantId: 'gr_1' }); // nobody subscribed
    await n.idle();
    const byPath = (p: string) => r.hits.filter((h) => h.path === p).map((h) => h.json.event).sort();
    expect(byPath('/signed')).toEqual(['break-glass.used', 'grant.activated']);
    expect(byPath('/blocked-only')).toEqual(['break-glass.used']);
    const hit = r.hits.find((h) => h.path === '/signed' && h.json.event === 'grant.activated')!;
    expect(hit.headers['content-type']).toBe('application/json');
    expect(hit.headers['x-dbwarden-event']).toBe('grant.activated');
    expect(hit.headers[SIGNATURE_HEADER]).toBe(signWebhook('s3cret', String(hit.headers[TIMESTAMP_HEADER]), hit.body));
    expect(hit.json.data).toMatchObject({ grantId: 'gr_1', identity: 'bob', alert: true });
    expect(hit.json.text).toContain('bob has admin access to app');
    expect(r.hits.find((h) => h.path === '/blocked-only')!.headers[SIGNATURE_HEADER]).toBeUndefined();
    expect(r.hits.find((h) => h.json.event === 'break-glass.used')!.json.text).toMatch(/break-glass: bob has admin access to app/);
  });

  it('retries 5xx and network errors with backoff, gives up on other 4xx', async () => {
    const r = await receiver((path, n) => (path === '/flaky' ? (n < 3 ? 503 : 200) : 400));
    const metrics = createMetrics();
    const n = notifier([{ url: `${r.url}/flaky`, events: ['*'] }, { url: `${r.url}/bad`, events: ['*'] }, { url: 'http://127.0.0.1:1/closed', events: ['*'] }], { metrics, maxAttempts: 3 });
    n.notify({ type: 'grant.expired', grantId: 'gr_2' });
    await n.idle();
    expect(r.hits.filter((h) => h.path === '/flaky')).toHaveLength(3);
    expect(new Set(r.hits.filter((h) => h.path === '/flaky').map((h) => h.json.id)).size).toBe(1); // same delivery id on retries
    expect(r.hits.filter((h) => h.path === '/bad')).toHaveLength(1);
    const counts = Object.fromEntries((await metrics.webhookDeliveries.get()).values.map((v) => [v.labels.outcome, v.value]));
    expect(counts).toEqual({ delivered: 1, retried: 4, failed: 2 });
  });

  it('never blocks the caller and keeps the queue bounded, dropping the oldest', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const server = createServer((req, res) => {
      req.resume();
      void gate.then(() => res.end());
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const metrics = createMetrics();
    const n = notifier([{ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, events: ['*'] }], { metrics, maxQueue: 5, concurrency: 1 });
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) n.notify({ type: 'grant.revoked', grantId: `gr_${i}` });
    expect(performance.now() - t0).toBeLessThan(50);
    expect(n.pending).toBe(5);
    expect((await metrics.webhookDeliveries.get()).values.find((v) => v.labels.outcome === 'dropped')?.value).toBe(45);
    release();
    server.closeAllConnections();
  });

  it('feeds from the audit sink after recording', async () => {
    const order: string[] = [];
    const sink = notifyingSink({ record: (e: { type: string }) => void order.push(`audit:${e.type}`), close: async () => undefined }, { notify: (e) => void order.push(`notify:${e.type}`) });
    sink.record({ type: 'grant.revoked' });
    expect(order).toEqual(['audit:grant.revoked', 'notify:grant.revoked']);
  });
});

describe('config and notifier agree on event names', () => {
  it('the schema accepts exactly the events the notifier sends', async () => {
    const { WEBHOOK_EVENT_NAMES } = await import('../../../src/config/schema.js');
    const { WEBHOOK_EVENTS } = await import('../../../src/notify/webhook-events.js');
    expect([...WEBHOOK_EVENT_NAMES].sort()).toEqual([...WEBHOOK_EVENTS].sort());
  });
});
