// tls.passwordOverTls: drivers without SCRAM may send a cleartext password, but only inside TLS.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

beforeAll(async () => {
  b = await startTestBroker({ tls: { clients: 'prefer', passwordOverTls: true } });
  cred = await b.grant({ access: 'read' });
});
afterAll(async () => {
  await b?.close();
});

/** Connects and reports which authentication request the broker sent. */
async function connect(ssl: boolean, password = cred.password): Promise<{ method: string; error?: { code?: string } }> {
  const c = new pg.Client({ host: '127.0.0.1', port: b.pgPort, user: cred.login, password, database: 'dbw_app', ssl: ssl ? { rejectUnauthorized: false } : false });
  let method = 'none';
  const conn = (c as unknown as { connection: NodeJS.EventEmitter }).connection;
  conn.once('authenticationCleartextPassword', () => (method = 'cleartext'));
  conn.once('authenticationSASL', () => (method = 'scram'));
  try {
    await c.connect();
    const r = await c.query('select current_user as u');
    expect(r.rows[0].u).toBe('dbw_ro');
    await c.end();
    return { method };
  } catch (e) {
    return { method, error: e as { code?: string } };
  }
}

describe('cleartext passwords over TLS', () => {
  it('asks a TLS client for its password in cleartext and checks it against the SCRAM verifier', async () => {
    expect(await connect(true)).toEqual({ method: 'cleartext' });
  });

  it('still uses SCRAM for a plaintext client (a password never crosses the wire unencrypted)', async () => {
    expect(await connect(false)).toEqual({ method: 'scram' });
  });

  it('refuses a wrong cleartext password and an unknown login with 28P01', async () => {
    const wrong = await connect(true, 'not-the-password');
    expect(wrong.method).toBe('cleartext');
    expect(wrong.error?.code).toBe('28P01');
    const c = new pg.Client({ host: '127.0.0.1', port: b.pgPort, user: 'nobody_zzzzzz', password: 'x', database: 'dbw_app', ssl: { rejectUnauthorized: false } });
    const e = await c.connect().catch((x) => x);
    expect(e.code).toBe('28P01');
  });
});
