// The audit disk really fills up: a 1 MiB tmpfs holds audit.file of a `dbwarden serve` process. Once a line
// cannot be written the broker refuses every statement with a clear error instead of running it unaudited (the
// refused write never reaches PostgreSQL), the hash chain stays whole across the outage, and the broker takes
// statements again by itself as soon as space returns; `dbwarden audit verify` passes and every row that reached
// the upstream has its statement line in the trail.
import { execFile } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, adminSql, testConfigObject } from '../helpers/broker.js';
import { freePort, spawnLogged, type Spawned, untilReady, requestGrant } from '../helpers/process.js';

const run = promisify(execFile);
const TABLE = `dbw_auditfull_${Math.random().toString(36).slice(2, 8)}`;
let dir: string;
let mnt: string;
let mounted = false;
let serve: Spawned | undefined;
let pgPort: number;
let adminUrl: string;

/** Fills the file system holding `path` until ENOSPC; returns the bytes written. */
function fill(path: string): number {
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(4096, 0x78);
  let total = 0;
  try {
    for (;;) total += writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  } finally {
    closeSync(fd);
  }
  return total;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dbw-auditfull-'));
  mnt = join(dir, 'audit');
  mkdirSync(mnt);
  // we run as root in CI and in the dev container; a tmpfs of 1 MiB is a disk that really runs full
  await run('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mnt]);
  mounted = true;
  await adminSql(`create table ${TABLE} (id int primary key, note text); grant select, insert on ${TABLE} to dbw_rw`);
  pgPort = await freePort();
  const adminPort = await freePort();
  adminUrl = `http://127.0.0.1:${adminPort}`;
  const cfg = testConfigObject(join(dir, 'state'), {
    listen: { postgres: `127.0.0.1:${pgPort}`, admin: `127.0.0.1:${adminPort}` },
    tls: { clients: 'disable' },
    audit: { file: join(mnt, 'audit.jsonl'), maxBytes: 0 },
  });
  writeFileSync(join(dir, 'dbwarden.yaml'), stringify(cfg));
  serve = spawnLogged('node', ['dist/bin.js', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
  await untilReady(adminUrl);
}, 60_000);

afterAll(async () => {
  if (serve && serve.child.exitCode === null) {
    serve.child.kill('SIGKILL');
    await serve.exited;
  }
  if (mounted) await run('umount', [mnt]).catch(() => run('umount', ['-l', mnt]));
  rmSync(dir, { recursive: true, force: true });
  await adminSql(`drop table if exists ${TABLE}`).catch(() => undefined);
});

describe('audit disk full (1 MiB tmpfs)', () => {
  it('refuses statements while the trail cannot be written, keeps the chain whole and resumes when space returns', async () => {
    const grant = await requestGrant(adminUrl, TOKENS.alice, { target: 'app', access: 'write', reason: 'audit disk full', databases: ['dbw_app'] });
    const c = new pg.Client({ host: '127.0.0.1', port: pgPort, user: grant.login, password: grant.password, database: 'dbw_app' });
    c.on('error', () => undefined);
    await c.connect();
    const pad = 'p'.repeat(2000);
    let id = 0;
    const insert = () => c.query(`insert into ${TABLE} values (${++id}, '${pad}')`).then(() => ({ id, err: null }), (e: Error & { code?: string }) => ({ id, err: e }));
    for (let i = 0; i < 5; i++) expect((await insert()).err).toBeNull();

    // the disk fills up (another writer took the space): the next audit line cannot be written
    const filler = join(mnt, 'filler');
    expect(fill(filler)).toBeGreaterThan(0);
    const refused: number[] = [];
    const ran: number[] = [];
    for (let i = 0; i < 40 && refused.length < 5; i++) {
      const r = await insert();
      if (r.err) {
        expect(r.err.code).toBe('42501');
        expect(r.err.message).toMatch(/^dbwarden: blocked by rule audit-unavailable: the audit trail cannot be written \(disk full or I\/O error\)/);
        refused.push(r.id);
      } else {
        // at most the statement whose line first failed ran: its line is held in memory, chained, and written later
        expect(refused).toEqual([]);
        ran.push(r.id);
      }
    }
    expect(refused.length).toBe(5);
    expect(ran.length).toBeLessThanOrEqual(1);
    // the refusal is a mechanism, not a one-off: reads are refused too, and nothing refused reached the upstream
    await expect(c.query('select 1')).rejects.toThrow(/audit-unavailable/);
    const upstream = (await adminSql(`select id from ${TABLE} order by id`)) as pg.QueryResult;
    const present = upstream.rows.map((r: { id: number }) => r.id);
    for (const r of refused) expect(present).not.toContain(r);
    expect(serve!.output()).toMatch(/audit file cannot be written; refusing statements until it can/);

    // space returns: the held lines are written in order and statements run again, with no restart
    unlinkSync(filler);
    const back = await insert();
    expect(back.err).toBeNull();
    for (let i = 0; i < 3; i++) expect((await insert()).err).toBeNull();
    expect(serve!.output()).toMatch(/audit file writable again/);
    await c.end();

    serve!.child.kill('SIGTERM');
    expect(await serve!.exited).toBe(0);
    const file = join(mnt, 'audit.jsonl');
    const verify = await run('node', ['dist/bin.js', 'audit', 'verify', file]).then((r) => ({ code: 0, out: r.stdout + r.stderr }), (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }));
    expect(verify.code, verify.out).toBe(0);

    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const seqs = lines.map((l) => l.seq as number);
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
    const statementOf = (n: number) => lines.filter((l) => l.type === 'statement' && typeof l.text === 'string' && (l.text as string).startsWith(`insert into ${TABLE} values (${n},`));
    // every row the upstream holds was audited as run; every refusal was audited as the audit-unavailable block
    const final = ((await adminSql(`select id from ${TABLE} order by id`)) as pg.QueryResult).rows.map((r: { id: number }) => r.id);
    expect(final.length).toBe(5 + ran.length + 4);
    for (const n of final) expect(statementOf(n).map((l) => l.action), `row ${n}`).toEqual(['allow']);
    for (const n of refused) {
      const [l] = statementOf(n);
      expect(l?.action, `refused ${n}`).toBe('block');
      expect(JSON.stringify(l?.rules)).toMatch(/audit-unavailable/);
    }
  }, 90_000);
});
