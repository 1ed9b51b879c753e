// MySQL authentication and transport: both auth plugins, AuthSwitchRequest both ways, caching_sha2 full
// authentication over TLS and RSA, tls.clients: require, the broker's upstream side against a caching_sha2 +
// TLS server (a second broker), and hostile handshakes.
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cachingSha2Token } from '../../src/auth/caching-sha2-password.js';
import { nativeToken } from '../../src/auth/mysql-native-password.js';
import { Capability } from '../../src/mysql/codes.js';
import { PacketReader } from '../../src/mysql/packet-reader.js';
import { decodeErr, decodeHandshakeV10, encodeHandshakeResponse41, encodePacket } from '../../src/mysql/packets.js';
import { startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

let b: MysqlTestBroker;
let cred: Awaited<ReturnType<MysqlTestBroker['grant']>>;

beforeAll(async () => {
  b = await startMysqlTestBroker();
  cred = await b.grant({ access: 'read' });
});
afterAll(async () => {
  await b?.close();
});

const CAPS = (Capability.Protocol41 | Capability.SecureConnection | Capability.PluginAuth | Capability.PluginAuthLenencClientData |
  Capability.LongPassword | Capability.Transactions | Capability.ConnectWithDb) >>> 0;

function open(port: number): Promise<{ sock: Socket; reader: PacketReader }> {
  return new Promise((resolve, reject) => {
    const sock = netConnect({ host: '127.0.0.1', port }, () => resolve({ sock, reader: new PacketReader(sock, 1 << 20) }));
    sock.once('error', reject);
  });
}

/** A client written from the packet definitions: answers the greeting with `plugin`, follows one switch. */
async function rawLogin(port: number, login: string, password: string, plugin: string): Promise<{ switchedTo?: string; outcome: number | 'ok' }> {
  const { sock, reader } = await open(port);
  try {
    const hello = decodeHandshakeV10((await reader.read(5000, 0)).payload);
    const token = (p: string, s: Buffer) => (p === 'mysql_native_password' ? nativeToken(password, s) : cachingSha2Token(password, s));
    sock.write(encodePacket(1, encodeHandshakeResponse41({
      capabilities: CAPS, mariadbCapabilities: 0, maxPacketSize: 1 << 24, charset: 45, user: login,
      authResponse: token(plugin, hello.scramble), database: 'dbw_my', authPlugin: plugin, attributes: new Map(),
    })));
    let switchedTo: string | undefined;
    for (;;) {
      const { seq, payload } = await reader.read(5000);
      if (payload[0] === 0x00) return { switchedTo, outcome: 'ok' };
      if (payload[0] === 0xff) return { switchedTo, outcome: decodeErr(payload).errno };
      if (payload[0] === 0xfe) {
        const end = payload.indexOf(0, 1);
        switchedTo = payload.toString('latin1', 1, end);
        const scramble = payload.subarray(end + 1, end + 21);
        sock.write(encodePacket(seq + 1, token(switchedTo, scramble)));
      }
      // 0x01 0x03 (fast auth success): the OK follows
    }
  } finally {
    sock.destroy();
  }
}

const login = (extra: mysql.ConnectionOptions = {}, c = cred) =>
  mysql.createConnection({ host: '127.0.0.1', port: b.myPort, user: c.login, password: c.password, database: 'dbw_my', ...extra });

describe('client authentication', () => {
  it('mysql2 logs in with caching_sha2_password (fast path) and with mysql_native_password', async () => {
    const c = await login();
    expect((await c.query('SELECT 1 AS n'))[0]).toEqual([{ n: 1 }]);
    await c.end();
    b.mysql!.auth.plugins = ['mysql_native_password'];
    try {
      const n = await login();
      expect((await n.query('SELECT 2 AS n'))[0]).toEqual([{ n: 2 }]);
      await n.end();
      expect((await login({ password: 'nope' }).catch((e) => e)).errno).toBe(1045);
    } finally {
      b.mysql!.auth.plugins = ['caching_sha2_password', 'mysql_native_password'];
    }
  });

  it('switches a client to a plugin the broker accepts, both ways', async () => {
    b.mysql!.auth.plugins = ['caching_sha2_password'];
    try {
      expect(await rawLogin(b.myPort, cred.login, cred.password, 'mysql_native_password')).toEqual({ switchedTo: 'caching_sha2_password', outcome: 'ok' });
      expect(await rawLogin(b.myPort, cred.login, 'wrong', 'mysql_native_password')).toEqual({ switchedTo: 'caching_sha2_password', outcome: 1045 });
      b.mysql!.auth.plugins = ['mysql_native_password'];
      expect(await rawLogin(b.myPort, cred.login, cred.password, 'caching_sha2_password')).toEqual({ switchedTo: 'mysql_native_password', outcome: 'ok' });
      expect(await rawLogin(b.myPort, cred.login, cred.password, 'client_ed25519')).toEqual({ switchedTo: 'mysql_native_password', outcome: 'ok' });
    } finally {
      b.mysql!.auth.plugins = ['caching_sha2_password', 'mysql_native_password'];
    }
  });

  it('caching_sha2_password full authentication: RSA without TLS, the password itself over TLS', async () => {
    b.mysql!.auth.fullAuth = true;
    try {
      const rsa = await login();
      expect((await rsa.query('SELECT 3 AS n'))[0]).toEqual([{ n: 3 }]);
      await rsa.end();
      const tls = await login({ ssl: { rejectUnauthorized: false } });
      expect((tls as unknown as { connection: { stream: { encrypted?: boolean } } }).connection.stream.encrypted).toBe(true);
      expect((await tls.query('SELECT 4 AS n'))[0]).toEqual([{ n: 4 }]);
      await tls.end();
      expect((await login({ password: 'wrong' }).catch((e) => e)).errno).toBe(1045);
      expect((await login({ password: 'wrong', ssl: { rejectUnauthorized: false } }).catch((e) => e)).errno).toBe(1045);
    } finally {
      b.mysql!.auth.fullAuth = false;
    }
  });

  it('verifies the broker certificate when the client asks it to', async () => {
    const ca = join(b.stateDir, 'certs', 'broker.crt');
    const { readFileSync } = await import('node:fs');
    const c = await login({ ssl: { ca: readFileSync(ca, 'utf8') } });
    expect((await c.query('SELECT 5 AS n'))[0]).toEqual([{ n: 5 }]);
    await c.end();
  });
});

describe('tls.clients: require', () => {
  it('refuses a plaintext client with ERR 3159 and admits a TLS one', async () => {
    await using r = await startMysqlTestBroker({ tls: { clients: 'require' } });
    const g = await r.grant();
    const plain = await mysql.createConnection({ host: '127.0.0.1', port: r.myPort, user: g.login, password: g.password }).catch((e) => e);
    expect(plain.errno).toBe(3159);
    const tls = await mysql.createConnection({ host: '127.0.0.1', port: r.myPort, user: g.login, password: g.password, ssl: { rejectUnauthorized: false } });
    expect((await tls.query('SELECT 6 AS n'))[0]).toEqual([{ n: 6 }]);
    await tls.end();
  });
});

describe('upstream authentication and TLS (a second broker as a caching_sha2 + TLS upstream)', () => {
  it.each([
    { tls: 'disable', fullAuth: false },
    { tls: 'disable', fullAuth: true }, // full auth over RSA
    { tls: 'require', fullAuth: true }, // full auth with the password over TLS
    { tls: 'prefer', fullAuth: false },
    { tls: 'verify-full', fullAuth: false },
  ] as const)('upstream tls=$tls, full authentication=$fullAuth', async ({ tls, fullAuth }) => {
    b.mysql!.auth.fullAuth = fullAuth;
    try {
      const up = await b.grant({ access: 'write' });
      const role = { user: up.login, password: up.password };
      await using a = await startMysqlTestBroker({}, {
        port: b.myPort, tls, roles: { read: role, write: role, admin: role },
        ...(tls === 'verify-full' ? { caFile: join(b.stateDir, 'certs', 'broker.crt') } : {}),
      });
      const g = await a.grant({ access: 'read' });
      const c = await mysql.createConnection({ host: '127.0.0.1', port: a.myPort, user: g.login, password: g.password, database: 'dbw_my' });
      const [rows] = await c.query('SELECT CURRENT_USER() AS who');
      expect(rows).toEqual([{ who: 'dbw_my_rw@%' }]);
      // the outer broker's rules apply too
      expect((await c.query('DELETE FROM t').catch((e) => e)).errno).toBe(1227);
      await c.end();
    } finally {
      b.mysql!.auth.fullAuth = false;
    }
  });

  it('verify-full refuses an upstream certificate it cannot verify; require refuses an upstream without TLS', async () => {
    const up = await b.grant({ access: 'write' });
    const role = { user: up.login, password: up.password };
    await using a = await startMysqlTestBroker({}, { port: b.myPort, tls: 'verify-full', roles: { read: role, write: role, admin: role } });
    const g = await a.grant({ access: 'read' });
    const e = await mysql.createConnection({ host: '127.0.0.1', port: a.myPort, user: g.login, password: g.password }).catch((x) => x);
    expect(e.errno).toBe(1429);
    expect(e.message).toBe('dbwarden: upstream my unavailable');
    await using m = await startMysqlTestBroker({}, { tls: 'require' }); // the local MariaDB has TLS disabled
    const g2 = await m.grant({ access: 'read' });
    const e2 = await mysql.createConnection({ host: '127.0.0.1', port: m.myPort, user: g2.login, password: g2.password }).catch((x) => x);
    expect(e2.errno).toBe(1429);
  });
});

describe('hostile handshakes', () => {
  async function errAfter(bytes: Buffer, greet = true): Promise<{ errno?: number; closed: boolean }> {
    const { sock, reader } = await open(b.myPort);
    try {
      if (greet) await reader.read(5000, 0);
      sock.write(bytes);
      const closed = new Promise<boolean>((r) => sock.once('close', () => r(true)));
      const p = await reader.read(5000).catch(() => undefined);
      return { errno: p && p.payload[0] === 0xff ? decodeErr(p.payload).errno : undefined, closed: await Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]) };
    } finally {
      sock.destroy();
    }
  }
  const response = (o: Partial<Parameters<typeof encodeHandshakeResponse41>[0]> = {}) => encodeHandshakeResponse41({
    capabilities: CAPS | Capability.ConnectAttrs, mariadbCapabilities: 0, maxPacketSize: 1 << 24, charset: 45, user: cred.login,
    authResponse: Buffer.alloc(32), database: 'dbw_my', authPlugin: 'caching_sha2_password', attributes: new Map(), ...o,
  });

  it('garbage (an HTTP request) gets an ERR and a closed connection', async () => {
    const r = await errAfter(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect([1153, 1835]).toContain(r.errno);
    expect(r.closed).toBe(true);
  });

  it('a handshake response with the wrong sequence id is refused', async () => {
    const r = await errAfter(encodePacket(5, response()));
    expect(r.errno).toBe(1835);
    expect(r.closed).toBe(true);
  });

  it('oversized user name, auth response and attributes are refused', async () => {
    for (const bad of [
      response({ user: 'u'.repeat(400) }),
      response({ authResponse: Buffer.alloc(4000) }),
      response({ attributes: new Map([['k', 'v'.repeat(80_000)]]) }),
    ]) {
      const r = await errAfter(encodePacket(1, bad));
      expect(r.errno === 1835 || r.errno === 1153).toBe(true);
      expect(r.closed).toBe(true);
    }
  });

  it('a header claiming 16 MiB and then closing costs the broker nothing', async () => {
    const pre = await open(b.myPort);
    await pre.reader.read(5000, 0);
    pre.sock.end(Buffer.from('ffffff01', 'hex'));
    // after login too: a COM_QUERY header announcing 16 MiB, then the client hangs up
    const c = await login();
    const before = b.registry.size;
    const stream = (c as unknown as { connection: { stream: Socket } }).connection.stream;
    stream.end(Buffer.from('ffffff0003', 'hex'));
    await new Promise((r) => setTimeout(r, 300));
    expect(b.registry.size).toBe(before - 1);
    const again = await login();
    expect((await again.query('SELECT 8 AS n'))[0]).toEqual([{ n: 8 }]);
    await again.end();
  });

  it('a command with a wrong sequence id ends the session with ERR', async () => {
    const c = await login();
    const err = new Promise<Error & { errno?: number }>((r) => c.on('error', r));
    const stream = (c as unknown as { connection: { stream: Socket } }).connection.stream;
    stream.write(encodePacket(3, Buffer.from('\x03SELECT 1', 'latin1')));
    const e = await err;
    expect(e.message).toMatch(/packets out of order/);
  });
});
