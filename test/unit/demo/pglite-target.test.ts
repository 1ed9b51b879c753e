// The demo's embedded PostgreSQL: pg client, sequential and concurrent connections, psql, persistence, close.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgliteTarget, type PgliteTarget } from '../../../src/demo/pglite-target.js';

const run = promisify(execFile);

function client(t: PgliteTarget, extra: Partial<pg.ClientConfig> = {}): pg.Client {
  return new pg.Client({ host: t.host, port: t.port, user: 'postgres', database: 'postgres', ...extra });
}

describe('startPgliteTarget (in memory)', () => {
  let target: PgliteTarget;
  beforeAll(async () => {
    target = await startPgliteTarget();
  });
  afterAll(async () => {
    await target?.close();
  });

  it('listens on a free loopback port and seeds the demo schema', async () => {
    expect(target.host).toBe('127.0.0.1');
    expect(target.port).toBeGreaterThan(0);
    expect(target.seeded).toBe(true);
    const c = client(target);
    await c.connect();
    const r = await c.query<{ name: string; email: string; orders: string }>(
      `SELECT c.name, c.email, count(o.id)::text AS orders FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
       GROUP BY c.id ORDER BY c.id`,
    );
    expect(r.rows.length).toBe(5);
    expect(r.rows[0]).toEqual({ name: 'Ada Lovelace', email: 'ada@example.com', orders: '2' });
    await c.end();
  });

  it('serves connections one after another', async () => {
    for (let i = 0; i < 3; i++) {
      const c = client(target);
      await c.connect();
      const r = await c.query<{ n: number }>('SELECT $1::int + 1 AS n', [i]);
      expect(r.rows[0]!.n).toBe(i + 1);
      await c.end();
    }
  });

  it('serves concurrent connections (multiplexed on one session) and isolates an open transaction', async () => {
    const a = client(target);
    const b = client(target);
    await Promise.all([a.connect(), b.connect()]);
    const [ra, rb] = await Promise.all([a.query('SELECT 1 AS x'), b.query('SELECT 2 AS x')]);
    expect(ra.rows[0].x).toBe(1);
    expect(rb.rows[0].x).toBe(2);

    await a.query('BEGIN');
    await a.query(`INSERT INTO orders (customer_id, item, quantity, amount) VALUES (2, 'pending item', 1, 1.00)`);
    // b's query waits until a's transaction ends, so it sees the rolled-back state
    const bCount = b.query<{ n: string }>(`SELECT count(*)::text AS n FROM orders WHERE item = 'pending item'`);
    await new Promise((r) => setTimeout(r, 50));
    await a.query('ROLLBACK');
    expect((await bCount).rows[0]!.n).toBe('0');
    await Promise.all([a.end(), b.end()]);
  });

  it('accepts any user name and password (no authentication)', async () => {
    const c = client(target, { user: 'app_ro', password: 'whatever', database: 'app' });
    await c.connect();
    const r = await c.query<{ u: string; d: string }>('SELECT current_user AS u, current_database() AS d');
    expect(r.rows[0]).toEqual({ u: 'postgres', d: 'postgres' });
    await c.end();
  });

  it('stock psql runs select 1', async () => {
    const { stdout } = await run('psql', ['-h', target.host, '-p', String(target.port), '-U', 'postgres', '-Atc', 'select 1'], {
      env: { ...process.env, PGCONNECT_TIMEOUT: '10' },
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe('1');
  });
});

describe('startPgliteTarget (on disk)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'dbwarden-pglite-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('seeds once and keeps data across restarts; close() is idempotent and ends open clients', async () => {
    const dataDir = join(dir, 'data');
    const first = await startPgliteTarget({ dataDir });
    expect(first.seeded).toBe(true);
    const c = client(first);
    await c.connect();
    await c.query(`INSERT INTO customers (name, email) VALUES ('Barbara Liskov', 'barbara@example.com')`);
    const ended = new Promise<void>((resolve) => c.on('error', () => resolve()).on('end', () => resolve()));
    await first.close();
    await first.close();
    await ended; // the open client was disconnected

    const second = await startPgliteTarget({ dataDir });
    try {
      expect(second.seeded).toBe(false);
      const d = client(second);
      await d.connect();
      const r = await d.query<{ n: string }>('SELECT count(*)::text AS n FROM customers');
      expect(r.rows[0]!.n).toBe('6');
      await d.end();
    } finally {
      await second.close();
    }
  });

  it('fails cleanly when the port is taken', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as AddressInfo).port;
    try {
      await expect(startPgliteTarget({ port })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });
});
