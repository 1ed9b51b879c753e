// Client-facing TLS (generated certificate, verification, tls.clients: require) and hostile or malformed bytes on the
// PostgreSQL listener: each is refused on its own connection and the broker keeps serving everyone else.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const PROTOCOL_30 = 196608;
const PROTOCOL_32 = 196610;
const MAX_QUERY_BYTES = 4096;
const AUTH_DELAY_MS = 100;

let b: TestBroker;
let tlsOnly: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

beforeAll(async () => {
  [b, tlsOnly] = await Promise.all([
    startTestBroker({ limits: { maxQueryBytes: MAX_QUERY_BYTES, authFailureDelayMs: AUTH_DELAY_MS } }),
    startTestBroker({ tls: { clients: 'require' } }),
  ]);
  cred = await b.grant({ access: 'write' });
});
afterAll(async () => {
  await Promise.all([b?.close(), tlsOnly?.close()]);
});

function pgClient(broker: TestBroker, c: { login: string; password: string }, ssl: pg.ClientConfig['ssl'] = false): pg.Client {
  const client = new pg.Client({ host: '127.0.0.1', port: broker.pgPort, user: c.login, password: c.password, database: 'dbw_app', ssl });
  client.on('error', () => undefined);
  return client;
}

function streamOf(c: pg.Client): Socket | TLSSocket {
  return (c as unknown as { connection: { stream: Socket | TLSSocket } }).connection.stream;
}

// ---- raw protocol helpers ----

function startupPacket(protocol: number, params: Record<string, string>): Buffer {
  const body = Buffer.concat([...Object.entries(params).flatMap(([k, v]) => [Buffer.from(k + '\0'), Buffer.from(v + '\0')]), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(protocol, 4);
  return Buffer.concat([head, body]);
}

function requestPacket(code: number): Buffer {
  const b8 = Buffer.alloc(8);
  b8.writeInt32BE(8, 0);
  b8.writeInt32BE(code, 4);
  return b8;
}

/** A raw TCP client that keeps everything the broker sends and notices when it hangs up. */
class RawClient {
  data = Buffer.alloc(0);
  closed = false;
  private waiters: (() => void)[] = [];
  private constructor(readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ host: '127.0.0.1', port }, () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `done()` holds or the broker closes the connection; false on timeout. */
  async until(done: () => boolean, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (this.closed) return done();
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  untilClosed(timeoutMs = 5000): Promise<boolean> {
    return this.until(() => this.closed, timeoutMs);
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  destroy(): void {
    this.socket.destroy();
  }
}

interface BackendMessage {
  code: string;
  body: Buffer;
}

/** Splits typed backend messages starting at `offset`; an incomplete tail is left out. */
function messages(buf: Buffer, offset = 0): BackendMessage[] {
  const out: BackendMessage[] = [];
  let off = offset;
  while (off + 5 <= buf.length) {
    const len = buf.readInt32BE(off + 1);
    if (off + 1 + len > buf.length) break;
    out.push({ code: String.fromCharCode(buf[off]!), body: buf.subarray(off + 5, off + 1 + len) });
    off += 1 + len;
  }
  return out;
}

function errorFields(body: Buffer): Record<string, string> {
  const f: Record<string, string> = {};
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const end = body.indexOf(0, off + 1);
    f[String.fromCharCode(body[off]!)] = body.toString('utf8', off + 1, end);
    off = end + 1;
  }
  return f;
}

/** What a connection the broker must refuse looks like: closed, and at most one ErrorResponse with 08P01. */
function expectProtocolRefusal(c: RawClient): void {
  expect(c.closed).toBe(true);
  if (c.data.length > 0) {
    const msgs = messages(c.data);
    expect(msgs.map((m) => m.code)).toEqual(['E']);
    const f = errorFields(msgs[0]!.body);
    expect(f.S).toBe('FATAL');
    expect(f.C).toBe('08P01');
  }
}

async function brokerStillServes(): Promise<void> {
  const c = pgClient(b, cred);
  await c.connect();
  expect((await c.query('select 40 + 2 as n')).rows[0].n).toBe(42);
  await c.end();
}

describe('client TLS', () => {
  it('a client that does not verify connects over TLS with the certificate the broker generated', async () => {
    const certFile = join(b.stateDir, 'certs', 'broker.crt');
    expect(existsSync(certFile)).toBe(true);
    const c = pgClient(b, cred, { rejectUnauthorized: false });
    await c.connect();
    const s = streamOf(c) as TLSSocket;
    expect(s.encrypted).toBe(true);
    expect(s.getPeerCertificate().raw.equals(new X509Certificate(readFileSync(certFile)).raw)).toBe(true);
    expect((await c.query('select current_user as who')).rows[0].who).toBe('dbw_rw');
    await c.end();
  });

  it('a client verifies the broker against the generated certificate for the name localhost', async () => {
    const ca = readFileSync(join(b.stateDir, 'certs', 'broker.crt'));
    const c = pgClient(b, cred, { ca, servername: 'localhost' });
    await c.connect();
    expect((streamOf(c) as TLSSocket).authorized).toBe(true);
    expect((await c.query('select 1 as n')).rows[0].n).toBe(1);
    await c.end();
    // a different broker's certificate must not verify this one: the check is real
    const otherCa = readFileSync(join(tlsOnly.stateDir, 'certs', 'broker.crt'));
    const wrong = pgClient(b, cred, { ca: otherCa, servername: 'localhost' });
    const err = await wrong.connect().then(() => null, (e: Error) => e);
    expect(err?.message).toMatch(/self[- ]signed|unable to verify|certificate/i);
  });

  it('tls.clients: require refuses a plaintext client with FATAL 28000 naming TLS and accepts TLS', async () => {
    const g = await tlsOnly.grant({ access: 'read' });
    const plain = pgClient(tlsOnly, g, false);
    const err = (await plain.connect().then(() => null, (e: Error) => e)) as (Error & { code?: string; severity?: string }) | null;
    expect(err?.code).toBe('28000');
    expect(err?.severity).toBe('FATAL');
    expect(err?.message).toMatch(/TLS/);
    const secure = pgClient(tlsOnly, g, { rejectUnauthorized: false });
    await secure.connect();
    expect((streamOf(secure) as TLSSocket).encrypted).toBe(true);
    expect((await secure.query('select current_user as who')).rows[0].who).toBe('dbw_ro');
    await secure.end();
  });
});

describe('malformed startup traffic', () => {
  it('garbage as the first packet closes the connection', async () => {
    const c = await RawClient.open(b.pgPort);
    c.write(Buffer.from('GET / HTTP/1.1\r\nHost: dbwarden\r\n\r\n'));
    expect(await c.untilClosed()).toBe(true);
    expectProtocolRefusal(c);
  });

  it('a startup packet claiming 2 GB closes the connection', async () => {
    const c = await RawClient.open(b.pgPort);
    const p = startupPacket(PROTOCOL_30, { user: cred.login });
    p.writeInt32BE(0x7fffffff, 0);
    c.write(p);
    expect(await c.untilClosed()).toBe(true);
    expectProtocolRefusal(c);
  });

  it('SSLRequest followed by bytes in the same write is refused without an S', async () => {
    const c = await RawClient.open(b.pgPort);
    // the extra bytes would arrive before the TLS handshake, where a man in the middle could have put them
    c.write(Buffer.concat([requestPacket(SSL_REQUEST), startupPacket(PROTOCOL_30, { user: cred.login, database: 'dbw_app' })]));
    expect(await c.untilClosed()).toBe(true);
    expect(c.data[0]).not.toBe(0x53);
    expectProtocolRefusal(c);
  });

  it('GSSENCRequest is answered N and a startup may follow', async () => {
    const c = await RawClient.open(b.pgPort);
    c.write(requestPacket(GSSENC_REQUEST));
    expect(await c.until(() => c.data.length >= 1)).toBe(true);
    expect(c.data.toString('latin1', 0, 1)).toBe('N');
    c.write(startupPacket(PROTOCOL_30, { user: cred.login, database: 'dbw_app' }));
    expect(await c.until(() => messages(c.data, 1).length >= 1)).toBe(true);
    const [auth] = messages(c.data, 1);
    expect(auth!.code).toBe('R');
    expect(auth!.body.readInt32BE(0)).toBe(10); // AuthenticationSASL
    expect(auth!.body.toString('latin1')).toContain('SCRAM-SHA-256');
    c.destroy();
  });

  it('a startup packet without a user gets ErrorResponse 28000', async () => {
    const c = await RawClient.open(b.pgPort);
    c.write(startupPacket(PROTOCOL_30, { database: 'dbw_app' }));
    expect(await c.untilClosed()).toBe(true);
    const msgs = messages(c.data);
    expect(msgs.map((m) => m.code)).toEqual(['E']);
    expect(errorFields(msgs[0]!.body).C).toBe('28000');
  });

  it('protocol 3.2 with a _pq_ option gets NegotiateProtocolVersion (minor 0, the option) before authentication', async () => {
    const c = await RawClient.open(b.pgPort);
    c.write(startupPacket(PROTOCOL_32, { user: cred.login, database: 'dbw_app', '_pq_.foo': 'bar' }));
    expect(await c.until(() => messages(c.data).length >= 2)).toBe(true);
    const [v, r] = messages(c.data);
    expect(v!.code).toBe('v');
    expect(v!.body.readInt32BE(0)).toBe(0);
    expect(v!.body.readInt32BE(4)).toBe(1);
    expect(v!.body.toString('utf8', 8)).toBe('_pq_.foo\0');
    expect(r!.code).toBe('R');
    expect(r!.body.readInt32BE(0)).toBe(10);
    c.destroy();
  });
});

describe('malformed messages after authentication', () => {
  it('a message claiming 2 GB gets FATAL 08P01 and the connection closes', async () => {
    const c = pgClient(b, cred);
    await c.connect();
    const errored = new Promise<Error & { code?: string; severity?: string }>((resolve) => c.on('error', resolve));
    const ended = new Promise<void>((resolve) => c.on('end', () => resolve()));
    streamOf(c).write(Buffer.from([0x51, 0x80, 0x00, 0x00, 0x00])); // 'Q', length 0x80000000
    const err = await errored;
    expect(err.code).toBe('08P01');
    expect(err.severity).toBe('FATAL');
    await ended;
  });

  it('a Query over limits.maxQueryBytes gets FATAL and the connection closes', async () => {
    const c = pgClient(b, cred);
    await c.connect();
    const ended = new Promise<void>((resolve) => c.on('end', () => resolve()));
    const err = (await c.query(`select '${'x'.repeat(MAX_QUERY_BYTES + 100)}' as big`).then(() => null, (e: Error) => e)) as (Error & { code?: string; severity?: string }) | null;
    expect(err?.severity).toBe('FATAL');
    expect(err?.code).toBe('08P01');
    expect(err?.message).toMatch(/exceeds the limit/);
    await ended;
    // a query just under the limit still runs
    await brokerStillServes();
    const ok = pgClient(b, cred);
    await ok.connect();
    const r = await ok.query(`select length('${'y'.repeat(MAX_QUERY_BYTES - 200)}') as n`);
    expect(r.rows[0].n).toBe(MAX_QUERY_BYTES - 200);
    await ok.end();
  });

  it('after all of the above the broker still serves a normal client', async () => {
    await brokerStillServes();
  });
});

describe('failed logins', () => {
  it('repeated failures from one address are answered more and more slowly', async () => {
    const attempt = async () => {
      const c = pgClient(b, { login: cred.login, password: 'wrong-password' });
      const t0 = performance.now();
      const err = (await c.connect().then(() => null, (e: Error) => e)) as (Error & { code?: string }) | null;
      expect(err?.code).toBe('28P01');
      return performance.now() - t0;
    };
    const first = await attempt();
    await attempt();
    await attempt();
    const fourth = await attempt();
    // base delay, then doubling: 1x for the first failure, 8x for the fourth
    expect(first).toBeGreaterThanOrEqual(AUTH_DELAY_MS * 0.9);
    expect(fourth).toBeGreaterThanOrEqual(AUTH_DELAY_MS * 8 * 0.9);
    expect(fourth - first).toBeGreaterThan(AUTH_DELAY_MS * 5);
    // a successful login from the address clears the slowdown
    await brokerStillServes();
    expect(await attempt()).toBeLessThan(AUTH_DELAY_MS * 4);
  });
});

describe('statement text that is not UTF-8', () => {
  it('is refused as unparsed (the broker would read something other than the server)', async () => {
    await using b = await startTestBroker();
    const g = await b.grant({ access: 'read' });
    const c = new pg.Client({ connectionString: b.url(g) });
    await c.connect();
    const stream = (c as unknown as { connection: { stream: NodeJS.WritableStream } }).connection.stream;
    const text = Buffer.concat([Buffer.from('SELECT 1 AS "'), Buffer.from([0xe9]), Buffer.from('"\0')]);
    const msg = Buffer.alloc(5 + text.length);
    msg[0] = 0x51;
    msg.writeInt32BE(4 + text.length, 1);
    text.copy(msg, 5);
    const err = await new Promise<Error & { code?: string }>((resolve) => {
      c.once('error', resolve);
      // pg's protocol parser reports the ErrorResponse of a query it did not send as an error event
      (c as unknown as { connection: NodeJS.EventEmitter }).connection.once('errorMessage', resolve);
      stream.write(msg);
    });
    expect(err.message).toMatch(/dbwarden: blocked by rule unparsed/);
    await c.end().catch(() => undefined);
  });
});
