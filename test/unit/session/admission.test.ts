// Login admission for both protocols: one table of situations, the same code and audit reason on either listener.
import { describe, expect, it } from 'vitest';
import type { AuditEvent, AuditSink } from '../../../src/audit/events.js';
import type { TargetConfig } from '../../../src/config/schema.js';
import { BrokerError, ErrorCode } from '../../../src/errors.js';
import type { Grant } from '../../../src/grants/model.js';
import { silentLogger } from '../../../src/log.js';
import { createMetrics } from '../../../src/metrics/metrics.js';
import { Admissions, type AdmissionDeps } from '../../../src/session/admission.js';
import { AuthFailureTracker } from '../../../src/session/auth-failures.js';

const role = { user: 'u', password: 'p' };
const target = (protocol: 'postgres' | 'mysql') => ({ protocol, host: '127.0.0.1', port: 1, databases: ['app', 'rep'], roles: { read: role } }) as unknown as TargetConfig;
const grant = (over: Partial<Grant> = {}): Grant => ({
  id: 'gr_1', requestId: 'req_1', identity: 'alice', groups: [], target: 'pgt', access: 'read', databases: ['app', 'rep'], login: 'alice_x',
  activatedAt: new Date(0).toISOString(), expiresAt: new Date(Date.now() + 60_000).toISOString(), status: 'active', ...over,
});

function setup(over: Partial<AdmissionDeps> = {}) {
  const events: AuditEvent[] = [];
  const audit: AuditSink = { record: (e) => void events.push(e), close: async () => undefined };
  let limitHit = false;
  const deps: AdmissionDeps = {
    targets: { pgt: target('postgres'), myt: target('mysql'), norole: { ...target('postgres'), roles: {} } as unknown as TargetConfig, mynorole: { ...target('mysql'), roles: {} } as unknown as TargetConfig },
    findGrant: async () => undefined,
    checkSessionLimit: (g) => {
      if (limitHit) throw new BrokerError(ErrorCode.SESSION_LIMIT, `dbwarden: grant ${g.id} already has 1 open sessions`);
    },
    authFailures: new AuthFailureTracker(0),
    audit, metrics: createMetrics(), logger: silentLogger,
    acceptingLogins: () => true,
    tlsClients: 'prefer',
    listeners: { postgres: '127.0.0.1:6432', mysql: '127.0.0.1:6033' },
    ...over,
  };
  return { a: new Admissions(deps), events, hitLimit: () => (limitHit = true) };
}

const attempt = (protocol: 'postgres' | 'mysql', g: Grant | undefined, ok = true, database?: string) =>
  ({ protocol, login: 'alice_x', address: '10.0.0.5', client: '10.0.0.5:1234', database, grant: g, proof: { ok, passwordGiven: true } });

describe('Admissions.admit', () => {
  const cases: { name: string; g?: Grant; ok?: boolean; db?: string; code: string; reason?: string }[] = [
    { name: 'unknown login', g: undefined, code: ErrorCode.AUTH_FAILED, reason: 'unknown or inactive login' },
    { name: 'bad password', g: grant(), ok: false, code: ErrorCode.AUTH_FAILED, reason: 'bad password' },
    { name: 'expired grant (recorded as expired on both listeners)', g: grant({ expiresAt: new Date(Date.now() - 1).toISOString() }), code: ErrorCode.AUTH_FAILED, reason: 'grant expired' },
    { name: 'database outside the grant', g: grant(), db: 'other', code: ErrorCode.DATABASE_NOT_GRANTED },
    { name: 'no role for the access level', g: grant({ target: 'norole' }), code: ErrorCode.UPSTREAM_UNAVAILABLE },
  ];
  for (const protocol of ['postgres', 'mysql'] as const) {
    for (const c of cases) {
      it(`${protocol}: ${c.name} → ${c.code}`, async () => {
        const { a, events } = setup();
        const g = c.g && protocol === 'mysql' ? { ...c.g, target: c.g.target === 'pgt' ? 'myt' : 'mynorole' } : c.g;
        const r = await a.admit(attempt(protocol, g, c.ok ?? true, c.db));
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(r.code).toBe(c.code);
        const failed = events.filter((e) => e.type === 'auth.failed');
        expect(failed.map((e) => (e as { reason: string }).reason)).toEqual(c.reason ? [c.reason] : []);
      });
    }
  }

  it('the same failure text whether the login exists or not (no oracle), in each protocol’s words', async () => {
    const { a } = setup();
    const texts = await Promise.all([undefined, grant({ target: 'myt' })].map(async (g) => ((await a.admit(attempt('mysql', g, false))) as { message: string }).message));
    expect(new Set(texts).size).toBe(1);
    expect(texts[0]).toBe("Access denied for user 'alice_x'@'10.0.0.5' (using password: YES)");
    const pg = await a.admit(attempt('postgres', undefined));
    expect(pg).toMatchObject({ ok: false, message: 'password authentication failed for user "alice_x"' });
  });

  it('a login of the other protocol is told which listener to use', async () => {
    const { a } = setup();
    const r = await a.admit(attempt('mysql', grant()));
    expect(r).toMatchObject({ ok: false, code: ErrorCode.WRONG_LISTENER });
    expect((r as { message: string }).message).toBe('dbwarden: grant gr_1 is for the PostgreSQL target "pgt": connect with a PostgreSQL client to the broker\'s PostgreSQL listener at 127.0.0.1:6432');
    const r2 = await setup({ listeners: {} }).a.admit(attempt('postgres', grant({ target: 'myt' })));
    expect((r2 as { message: string }).message).toContain('this broker has no MySQL listener (listen.mysql)');
  });

  it('the session limit refuses with its own code; a good login is admitted to the grant\'s first database by default', async () => {
    const s = setup();
    const ok = await s.a.admit(attempt('postgres', grant()));
    expect(ok).toMatchObject({ ok: true, database: 'app', role });
    s.hitLimit();
    expect(await s.a.admit(attempt('postgres', grant(), true, 'rep'))).toMatchObject({ ok: false, code: ErrorCode.SESSION_LIMIT });
  });

  it('opening: TLS required before anything else, then a store that can answer', () => {
    expect(setup({ tlsClients: 'require' }).a.opening('mysql', false)).toMatchObject({ code: ErrorCode.TLS_REQUIRED, message: 'dbwarden: TLS is required: connect with --ssl (ssl-mode=REQUIRED)' });
    expect(setup({ tlsClients: 'require' }).a.opening('postgres', true)).toBeNull();
    expect(setup({ acceptingLogins: () => false }).a.opening('postgres', false)).toMatchObject({ code: ErrorCode.STORE_UNAVAILABLE });
  });

  it('failed logins from one address are slowed down, whichever listener they use', async () => {
    const tracker = new AuthFailureTracker(100);
    const { a } = setup({ authFailures: { fail: (x) => (tracker.fail(x), 0), succeed: (x) => tracker.succeed(x) } });
    await a.admit(attempt('postgres', undefined));
    await a.admit(attempt('mysql', undefined));
    expect(tracker.delayFor('10.0.0.5')).toBe(200);
    await a.admit(attempt('postgres', grant()));
    expect(tracker.delayFor('10.0.0.5')).toBe(0);
  });
});
