// The startup phase compared with the real PostgreSQL byte by byte: where the server closes without a word
// (invalid startup length, a Terminate before the StartupMessage, a cut-short packet, a CancelRequest), so does
// the broker; where it sends a FATAL, the broker sends one with the same severity, SQLSTATE and message.
import { connect as netConnect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const PG_PORT = 5432;
let b: TestBroker;

beforeAll(async () => {
  // the real server listens without TLS here; the broker is told the same so SSLRequest answers compare
  b = await startTestBroker({ tls: { clients: 'disable' } });
});
afterAll(async () => {
  await b?.close();
});

function startup(params: Record<string, string>, version = 0x30000): Buffer {
  const body = Buffer.concat([...Object.entries(params).flatMap(([k, v]) => [Buffer.from(k + '\0'), Buffer.from(v + '\0')]), Buffer.from([0])]);
  const head = Buffer.alloc(8);
  head.writeInt32BE(8 + body.length, 0);
  head.writeInt32BE(version, 4);
  return Buffer.concat([head, body]);
}

/** Everything a server sends in answer to `bytes` until it closes (or `open` if it still waits after 1.5 s). */
function exchange(port: number, bytes: Buffer, halfClose = false): Promise<{ bytes: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const s = netConnect(port, '127.0.0.1');
    const got: Buffer[] = [];
    s.on('data', (d) => got.push(d));
    s.on('error', () => undefined);
    s.on('connect', () => {
      if (bytes.length) s.write(bytes);
      if (halfClose) s.end();
    });
    const t = setTimeout(() => {
      s.destroy();
      resolve({ bytes: Buffer.concat(got), closed: false });
    }, 1500);
    s.on('close', () => {
      clearTimeout(t);
      resolve({ bytes: Buffer.concat(got), closed: true });
    });
  });
}

/** An ErrorResponse's fields, without the server's source location (F, L, R), which the broker has no reason to copy. */
function errorFields(buf: Buffer): Record<string, string> {
  expect(String.fromCharCode(buf[0]!)).toBe('E');
  const len = buf.readInt32BE(1);
  expect(buf.length).toBe(1 + len);
  const out: Record<string, string> = {};
  let off = 5;
  while (buf[off] !== 0) {
    const code = String.fromCharCode(buf[off]!);
    const end = buf.indexOf(0, off + 1);
    if (!'FLR'.includes(code)) out[code] = buf.toString('utf8', off + 1, end);
    off = end + 1;
  }
  return out;
}

const silent: [string, Buffer, boolean?][] = [
  ['a Terminate before the StartupMessage (node-postgres connect() + end())', Buffer.from([0x58, 0, 0, 0, 4])],
  ['a startup length below 8', Buffer.from([0, 0, 0, 3])],
  ['a startup length of 7 with its bytes', Buffer.from([0, 0, 0, 7, 1, 2, 3])],
  ['a startup length above 10000', Buffer.from([0, 0, 0x40, 0, 0, 3, 0, 0])],
  ['a negative startup length', Buffer.from([0xff, 0xff, 0xff, 0xf0])],
  ['garbage text (an HTTP request)', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
  ['a CancelRequest with an unknown key', Buffer.from([0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0, 1, 0, 0, 0, 2])],
  ['nothing, then end of stream', Buffer.alloc(0), true],
  ['a startup packet cut short, then end of stream', Buffer.from([0, 0, 0, 40, 0, 3, 0, 0, 0x75]), true],
];

const fatal: [string, Buffer][] = [
  ['protocol 4.0', startup({ user: 'x' }, 0x40000)],
  ['no user name', startup({ database: 'x' })],
  ['a parameter list without its terminator', (() => {
    const p = Buffer.concat([Buffer.alloc(8), Buffer.from('user\0x')]);
    p.writeInt32BE(p.length, 0);
    p.writeInt32BE(0x30000, 4);
    return p;
  })()],
];

describe('startup phase, broker against the real server', () => {
  for (const [name, bytes, halfClose] of silent) {
    it(`closes without a byte on ${name}, as PostgreSQL does`, async () => {
      const [direct, broker] = await Promise.all([exchange(PG_PORT, bytes, halfClose), exchange(b.pgPort, bytes, halfClose)]);
      expect(direct).toEqual({ bytes: Buffer.alloc(0), closed: true });
      expect(broker).toEqual(direct);
    });
  }

  it('answers a protocol 2.0 client with the same pre-3.0 error bytes', async () => {
    const bytes = startup({ user: 'x' }, 0x20000);
    const [direct, broker] = await Promise.all([exchange(PG_PORT, bytes), exchange(b.pgPort, bytes)]);
    expect(direct.closed).toBe(true);
    expect(broker.bytes.toString('latin1')).toBe(direct.bytes.toString('latin1'));
    expect(broker.closed).toBe(true);
  });

  for (const [name, bytes] of fatal) {
    it(`sends the server's FATAL for ${name}`, async () => {
      const [direct, broker] = await Promise.all([exchange(PG_PORT, bytes), exchange(b.pgPort, bytes)]);
      expect(direct.closed && broker.closed).toBe(true);
      const d = errorFields(direct.bytes);
      expect(d.S).toBe('FATAL');
      expect(errorFields(broker.bytes)).toEqual(d);
    });
  }

  it('waits, like the server, for the rest of a startup packet that is still coming', async () => {
    const bytes = Buffer.from([0, 0, 0, 40, 0, 3, 0, 0]);
    const [direct, broker] = await Promise.all([exchange(PG_PORT, bytes), exchange(b.pgPort, bytes)]);
    expect(direct).toEqual({ bytes: Buffer.alloc(0), closed: false });
    expect(broker).toEqual(direct);
  });

  it('node-postgres connect() followed at once by end() raises no error event, direct or through the broker', async () => {
    const cred = await b.grant();
    const outcomes: unknown[] = [];
    for (const port of [PG_PORT, b.pgPort]) {
      const errors: Error[] = [];
      const c = new pg.Client(port === PG_PORT
        ? { host: '127.0.0.1', port, user: 'postgres', database: 'dbw_app' }
        : { host: '127.0.0.1', port, user: cred.login, password: cred.password, database: 'dbw_app' });
      c.on('error', (e) => errors.push(e));
      // node-postgres leaves this connect() promise pending: only its error events count
      void c.connect().catch((e: Error) => errors.push(e));
      await c.end();
      await new Promise((r) => setTimeout(r, 300));
      outcomes.push(errors.map((e) => e.message));
    }
    expect(outcomes).toEqual([[], []]);
  });
});
