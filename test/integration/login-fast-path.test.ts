// The login path's shortcuts (issue 15) keep every check: a revoked grant's next login is refused, a new session that
// starts on the shared catalog snapshot without waiting still decides calls by the live catalog, and a refusal after a
// correct password still reaches the client in the corked startup answer.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

let b: TestBroker;
const fn = `dbw_cx_fn_${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  b = await startTestBroker();
});
afterAll(async () => {
  await adminSql(`drop function if exists ${fn}_w(); drop function if exists ${fn}_r()`).catch(() => undefined);
  await b?.close();
});

async function login(cred: { login: string; password: string }, db = 'dbw_app'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: b.url(cred, db) });
  await c.connect();
  return c;
}

describe('login fast path', () => {
  it('a revoked grant that logged in before is refused at its next login', async () => {
    const g = await b.grant({ access: 'read' });
    for (let i = 0; i < 3; i++) {
      const c = await login(g);
      expect((await c.query('select 1 as one')).rows[0].one).toBe(1);
      await c.end();
    }
    const res = await fetch(`${b.admin.url}/v1/grants/${g.grantId}/revoke`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' }, body: '{}',
    });
    expect(res.ok).toBe(true);
    const e = await login(g).catch((x) => x);
    expect(e.code).toBe('28P01');
  });

  it('the startup answer arrives whole (parameters, key data) and a refusal after the password still arrives', async () => {
    const g = await b.grant({ access: 'read' });
    const c = await login(g);
    expect((c as unknown as { processID: number | null }).processID).toBeGreaterThan(0);
    expect((await c.query('show server_version')).rows[0].server_version).toMatch(/^\d+/);
    await c.end();
    const e = await login(g, 'postgres').catch((x) => x);
    expect(e.message).toMatch(/does not cover database "postgres"/);
  });

  it('a session that starts on the shared catalog snapshot still refuses a writing function created after it', async () => {
    const g = await b.grant({ access: 'read' });
    // the first session reads the target's catalog; later logins find it ready and do not wait
    const first = await login(g);
    await first.query('select 1');
    await adminSql(
      `create function ${fn}_w() returns int language plpgsql volatile as $f$ begin return 1; end $f$;
       create function ${fn}_r() returns int language sql immutable as $f$ select 2 $f$;
       grant execute on function ${fn}_w() to public; grant execute on function ${fn}_r() to public`,
    );
    const next = await login(g);
    const e = await next.query(`select ${fn}_w()`).catch((x) => x);
    expect(e.message).toMatch(/read-only/);
    expect((await next.query(`select ${fn}_r() as v`)).rows[0].v).toBe(2);
    await next.end();
    await first.end();
  });
});
