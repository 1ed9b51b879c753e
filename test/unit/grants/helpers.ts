// Shared fixtures for grants tests: a config, an in-memory audit sink and an in-memory GrantStore.
import type { AuditEvent, AuditSink } from '../../../src/audit/events.js';
import { ConfigSchema, type Config } from '../../../src/config/schema.js';
import type { AccessRequest, Grant, GrantStore, Identity, ReviewRecord } from '../../../src/grants/model.js';

const HASH = '0'.repeat(64);

export const alice: Identity = { name: 'alice', groups: ['dev'] };
export const bob: Identity = { name: 'bob', groups: ['dba'] };
export const carol: Identity = { name: 'carol', groups: ['dba'] };
export const ci: Identity = { name: 'ci', groups: ['deploy'] };
export const mallory: Identity = { name: 'mallory', groups: [] };

export function testConfig(): Config {
  return ConfigSchema.parse({
    targets: {
      app: {
        protocol: 'postgres',
        host: '127.0.0.1',
        databases: ['app', 'reporting'],
        roles: { read: { user: 'app_ro' }, write: { user: 'app_rw' }, admin: { user: 'postgres' } },
      },
      shop: { protocol: 'mysql', host: '127.0.0.1', databases: ['shop'], roles: { read: { user: 'shop_ro' }, write: { user: 'shop_rw' } } },
    },
    identities: {
      alice: { tokenSha256: HASH, groups: ['dev'] },
      bob: { tokenSha256: HASH, groups: ['dba'] },
      carol: { tokenSha256: HASH, groups: ['dba'] },
      ci: { tokenSha256: HASH, groups: ['deploy'] },
      mallory: { tokenSha256: HASH },
    },
    access: [
      { name: 'read-self-service', requesters: ['group:dev', 'group:dba', 'ci'], access: ['read'], maxTtl: '8h', approvals: 0 },
      { name: 'write-needs-dba', requesters: ['group:dev', 'group:deploy'], targets: ['app'], access: ['write'], maxTtl: '2h', approvals: 1, approvers: ['group:dba'] },
      { name: 'shop-write-two-dbas', requesters: ['group:dev'], targets: ['shop'], access: ['write'], maxTtl: '1h', approvals: 2, approvers: ['group:dba'] },
      { name: 'break-glass', requesters: ['group:dba'], targets: ['app'], access: ['admin'], maxTtl: '30m', approvals: 0, alert: true },
    ],
  });
}

export class MemoryAudit implements AuditSink {
  readonly events: AuditEvent[] = [];
  record(event: AuditEvent): void {
    this.events.push(structuredClone(event));
  }
  types(): string[] {
    return this.events.map((e) => e.type);
  }
  async close(): Promise<void> {}
}

/** Documents are cloned on the way in and out, as a real store serialises them. */
export class MemoryStore implements GrantStore {
  readonly kind = 'embedded' as const;
  readonly requests = new Map<string, AccessRequest>();
  readonly grants = new Map<string, Grant>();
  readonly reviews = new Map<string, ReviewRecord>();
  async putRequest(r: AccessRequest) { this.requests.set(r.id, structuredClone(r)); }
  async getRequest(id: string) { return clone(this.requests.get(id)); }
  async listRequests(f: { status?: AccessRequest['status']; requester?: string } = {}) {
    return [...this.requests.values()].filter((r) => (!f.status || r.status === f.status) && (!f.requester || r.requester === f.requester)).map((r) => structuredClone(r));
  }
  async putGrant(g: Grant) { this.grants.set(g.id, structuredClone(g)); }
  async getGrant(id: string) { return clone(this.grants.get(id)); }
  async getGrantByLogin(login: string) { return clone([...this.grants.values()].find((g) => g.login === login)); }
  async listGrants(f: { status?: Grant['status'] } = {}) {
    return [...this.grants.values()].filter((g) => !f.status || g.status === f.status).map((g) => structuredClone(g));
  }
  async putReview(r: ReviewRecord) { this.reviews.set(r.id, structuredClone(r)); }
  async getReview(id: string) { return clone(this.reviews.get(id)); }
  async listReviews(f: { status?: ReviewRecord['status'] } = {}) {
    return [...this.reviews.values()].filter((r) => !f.status || r.status === f.status).map((r) => structuredClone(r));
  }
  ready() { return true; }
  async close() {}
}

function clone<T>(v: T | undefined): T | undefined {
  return v === undefined ? undefined : structuredClone(v);
}

/** Resolves with the BrokerError code and message of a rejected promise; fails when it resolves. */
export async function rejection(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as { code?: string; message: string };
    return { code: err.code ?? 'not a BrokerError', message: err.message };
  }
  throw new Error('expected the promise to reject');
}
