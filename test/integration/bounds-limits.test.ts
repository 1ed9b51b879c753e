// Resource bounds through a live broker, both protocols: a partial message that stalls ends the session with a
// protocol error after limits.partialMessageTimeoutMs; partial-message bytes are capped per grant and per broker;
// a grant's concurrent sessions are capped at login; state.dir and every file in it are owner-only.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { startBroker, type Broker } from '../../src/main.js';
import { TOKENS, testConfigObject } from '../helpers/broker.js';
import { ensureMysqlFixtures, mysqlTarget } from '../helpers/mysql.js';

interface Handle {
  b: Broker;
  dir: string;
}

async function start(limits: Record<string, unknown>, dir = mkdtempSync(join(tmpdir(), 'dbw-bounds-'))): Promise<Handle> {
  await ensureMysqlFixtures();
  const base = testConfigObject(dir);
  const obj = {
    ...base,
    listen: { postgres: '127.0.0.1:0', mysql: '127.0.0.1:0', admin: '127.0.0.1:0' },
    targets: { ...(base.targets as Record<string, unknown>), my: mysqlTarget() },
    limits,
  };
  const b = await startBroker(parseConfig(stringify(obj), join(dir, 'dbwarden.yaml'), {}), { logger: silentLogger });
  return { b, dir };
}

async function stop(h: Handle | undefined): Promise<void> {
  if (!h) return;
  await h.b.close();
  rmSync(h.dir, { recursive: true, force: true });
}

async function grant(h: Handle, target: 'app' | 'my', access: 'read' | 'write' = 'read') {
  const res = await fetch(`${h.b.admin.url}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, access, ttl: '10m', reason: 'bounds test', databases: [target === 'app' ? 'dbw_app' : 'dbw_my'] }),
  });
  const body = (await res.json()) as { grant: { login: string; password: string } };
  return body.grant;
}

const pgConnect = async (h: Handle, g: { login: string; password: string }) => {
  const c = new pg.Client({ host: '127.0.0.1', port: h.b.pg!.port, user: g.login, password: g.password, database: 'dbw_app' });
  c.on('error', () => undefined);
  await c.connect();
  return c;
};
const myConnect = (h: Handle, g: { login: string; password: string }) =>
  mysql.createConnection({ host: '127.0.0.1', port: h.b.mysql!.port, user: g.login, password: g.password, database: 'dbw_my' });

/** The socket under a connected driver, with everything it receives from now on and a promise of its close. */
function rawOf(stream: Duplex): { received: () => string; closed: Promise<void> } {
  let got = Buffer.alloc(0);
  stream.on('data', (b: Buffer) => (got = Buffer.concat([got, b])));
  const closed = new Promise<void>((r) => stream.once('close', () => r()));
  return { received: () => got.toString('latin1'), closed };
}

/** PostgreSQL Query header announcing `total` body bytes, then `sent` of them. */
function pgPartial(total: number, sent: number): Buffer {
  const head = Buffer.alloc(5);
  head[0] = 0x51;
  head.writeInt32BE(total + 4, 1);
  return Buffer.concat([head, Buffer.from('SELECT '), Buffer.alloc(sent - 7, 0x20)]);
}

/** MySQL COM_QUERY packet header announcing `total` payload bytes, then `sent` of them. */
function myPartial(total: number, sent: number): Buffer {
  const head = Buffer.alloc(4);
  head.writeUIntLE(total, 0, 3);
  head[3] = 0;
  return Buffer.concat([head, Buffer.from([0x03]), Buffer.from('SELECT '), Buffer.alloc(sent - 8, 0x20)]);
}

const MiB = 1 << 20;

describe('partial-message timeout', () => {
  let h: Handle | undefined;
  beforeAll(async () => {
    h = await start({ partialMessageTimeoutMs: 1500 });
  });
  afterAll(() => stop(h));

  it('postgres: a Query announced at 15 MiB that stops after 14 MiB ends the session with 08P01 after the timeout', async () => {
    const c = await pgConnect(h!, await grant(h!, 'app'));
    const stream = (c as unknown as { connection: { stream: Duplex } }).connection.stream;
    const raw = rawOf(stream);
    const t0 = Date.now();
    stream.write(pgPartial(15 * MiB, 14 * MiB));
    await raw.closed;
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(1400);
    expect(waited).toBeLessThan(15_000);
    expect(raw.received()).toContain('08P01');
    expect(raw.received()).toContain('partial message stayed incomplete');
    expect(h!.b.registry.buffers.total).toBe(0);
  });

  it('mysql: a COM_QUERY announced at 15 MiB that stops after 14 MiB ends the session with a protocol error', async () => {
    const c = await myConnect(h!, await grant(h!, 'my'));
    c.on('error', () => undefined);
    const stream = (c as unknown as { connection: { stream: Duplex } }).connection.stream;
    const raw = rawOf(stream);
    stream.write(myPartial(15 * MiB, 14 * MiB));
    await raw.closed;
    expect(raw.received()).toContain('partial message stayed incomplete');
    expect(raw.received()).toContain(String.fromCharCode(1835 & 0xff, 1835 >> 8)); // ERR errno 1835 little-endian
    expect(h!.b.registry.buffers.total).toBe(0);
  });

  it('complete messages sent slowly in small pieces are fine: the clock runs per message', async () => {
    const c = await pgConnect(h!, await grant(h!, 'app'));
    const r = await c.query('SELECT 1 AS one');
    expect(r.rows[0].one).toBe(1);
    await new Promise((res) => setTimeout(res, 2000));
    expect((await c.query('SELECT 2 AS two')).rows[0].two).toBe(2);
    await c.end();
  });
});

describe('partial-message byte caps', () => {
  let h: Handle | undefined;
  beforeAll(async () => {
    h = await start({ partialMessageTimeoutMs: 60_000, partialBytesPerGrant: 4 * MiB, partialBytesTotal: 6 * MiB });
  });
  afterAll(() => stop(h));

  it('per grant (postgres) and per broker (mysql): the session that would pass a cap ends, the others keep their bytes', async () => {
    const g = await grant(h!, 'app');
    const clients = await Promise.all([0, 1, 2].map(() => pgConnect(h!, g)));
    const raws = clients.map((c) => {
      const s = (c as unknown as { connection: { stream: Duplex } }).connection.stream;
      return { s, raw: rawOf(s) };
    });
    for (const { s } of raws.slice(0, 2)) s.write(pgPartial(3 * MiB, Math.floor(1.5 * MiB)));
    await new Promise((r) => setTimeout(r, 300));
    expect(h!.b.registry.buffers.total).toBeGreaterThanOrEqual(3 * MiB);
    raws[2]!.s.write(pgPartial(3 * MiB, Math.floor(1.5 * MiB)));
    await raws[2]!.raw.closed;
    expect(raws[2]!.raw.received()).toContain('08P01');
    expect(raws[2]!.raw.received()).toContain('across the sessions of this grant (limit 4194304)');
    // a second grant may still buffer (its own cap), until the broker-wide cap is reached
    const g2 = await grant(h!, 'my');
    const m = await Promise.all([0, 1].map(() => myConnect(h!, g2)));
    const mraws = m.map((c) => {
      c.on('error', () => undefined);
      const s = (c as unknown as { connection: { stream: Duplex } }).connection.stream;
      return { s, raw: rawOf(s) };
    });
    mraws[0]!.s.write(myPartial(3 * MiB, Math.floor(1.5 * MiB)));
    await new Promise((r) => setTimeout(r, 300));
    expect(h!.b.registry.buffers.total).toBeGreaterThanOrEqual(4.5 * MiB);
    // 3 + 1.5 + 1.8 MiB passes the broker's 6 MiB while the second grant stays under its own 4 MiB
    mraws[1]!.s.write(myPartial(3 * MiB, Math.floor(1.8 * MiB)));
    await mraws[1]!.raw.closed;
    expect(mraws[1]!.raw.received()).toContain('across all sessions of this broker (limit 6291456)');
    expect(h!.b.registry.buffers.total).toBeLessThanOrEqual(6 * MiB);
    for (const { s } of [...raws, ...mraws]) s.destroy();
    await new Promise((r) => setTimeout(r, 500));
    expect(h!.b.registry.buffers.total).toBe(0);
  });
});

describe('sessions per grant', () => {
  let h: Handle | undefined;
  beforeAll(async () => {
    h = await start({ maxSessionsPerGrant: 2 });
  });
  afterAll(() => stop(h));

  it('postgres: the third concurrent login of one grant gets 53300 naming the limit; after one closes, logins work again', async () => {
    const g = await grant(h!, 'app');
    const a = await pgConnect(h!, g);
    const b = await pgConnect(h!, g);
    const err = await pgConnect(h!, g).then(() => null, (e: Error & { code?: string }) => e);
    expect(err?.code).toBe('53300');
    expect(err?.message).toMatch(/already has 2 open sessions \(limit 2, limits\.maxSessionsPerGrant\)/);
    // another grant is not affected
    const other = await pgConnect(h!, await grant(h!, 'app'));
    await other.end();
    await a.end();
    await new Promise((r) => setTimeout(r, 300));
    const c = await pgConnect(h!, g);
    expect((await c.query('SELECT 1 AS x')).rows[0].x).toBe(1);
    await Promise.all([b.end(), c.end()]);
  });

  it('mysql: the third concurrent login of one grant gets errno 1203', async () => {
    const g = await grant(h!, 'my');
    const a = await myConnect(h!, g);
    const b = await myConnect(h!, g);
    const err = await myConnect(h!, g).then(() => null, (e: Error & { errno?: number }) => e);
    expect(err?.errno).toBe(1203);
    expect(err?.message).toMatch(/limit 2, limits\.maxSessionsPerGrant/);
    await Promise.all([a.end(), b.end()]);
  });
});

describe('state.dir file modes', () => {
  it('a pre-existing world-readable state.dir and its files become 0700/0600; the store, WAL, SHM, keys, certs and audit are 0600', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbw-bounds-modes-'));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'certs'), { mode: 0o755 });
    writeFileSync(join(dir, 'leftover.txt'), 'x', { mode: 0o644 });
    writeFileSync(join(dir, 'dbwarden.db-wal'), '', { mode: 0o644 });
    chmodSync(join(dir, 'dbwarden.db-wal'), 0o644);
    const h = await start({}, dir);
    try {
      // a statement and a grant so that the WAL, SHM and audit have been written
      const c = await pgConnect(h, await grant(h, 'app'));
      await c.query('SELECT 1');
      await c.end();
      const seen: Record<string, number> = {};
      const walk = (d: string) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) {
            expect(statSync(p).mode & 0o777, p).toBe(0o700);
            walk(p);
          } else seen[p.slice(dir.length + 1)] = statSync(p).mode & 0o777;
        }
      };
      expect(statSync(dir).mode & 0o777).toBe(0o700);
      walk(dir);
      for (const f of ['dbwarden.db', 'dbwarden.db-wal', 'dbwarden.db-shm', 'audit.jsonl', 'mask-hash.key', 'certs/broker.key', 'certs/broker.crt', 'leftover.txt']) {
        expect(seen[f], f).toBe(0o600);
      }
      expect(Object.values(seen).every((m) => m === 0o600)).toBe(true);
    } finally {
      await stop(h);
    }
  });
});
