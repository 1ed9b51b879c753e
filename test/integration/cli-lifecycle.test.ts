// `dbwarden serve` as a deploy sees it: graceful drain on SIGTERM/SIGINT with live psql/mariadb sessions, a second
// signal, startup failures as one line, startup/readyz upstream checks, help/version without starting anything, EPIPE.
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, TOKENS, testConfigObject } from '../helpers/broker.js';
import { ensureMysqlFixtures, mysqlTarget } from '../helpers/mysql.js';
import { freePort, spawnLogged, type Spawned } from '../helpers/process.js';

const run = promisify(execFile);
const MAIN = 'dist/bin.js';
const SUFFIX = `op_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

interface Serve {
  dir: string;
  proc: Spawned;
  adminUrl: string;
  pgPort: number;
  myPort: number;
  auditFile: string;
}

async function startServe(overrides: Record<string, unknown> = {}): Promise<Serve> {
  await ensureMysqlFixtures();
  const dir = mkdtempSync(join(tmpdir(), 'dbw-life-'));
  const [pgPort, myPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const base = testConfigObject(join(dir, 'state'), {
    listen: { postgres: `127.0.0.1:${pgPort}`, mysql: `127.0.0.1:${myPort}`, admin: `127.0.0.1:${adminPort}` },
    log: { level: 'info' },
  });
  const cfg = { ...base, targets: { ...(base.targets as object), my: mysqlTarget() }, ...overrides };
  writeFileSync(join(dir, 'dbwarden.yaml'), stringify(cfg));
  const proc = spawnLogged('node', [MAIN, 'serve', '--config', join(dir, 'dbwarden.yaml')]);
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  for (let i = 0; i < 200; i++) {
    if (await fetch(`${adminUrl}/healthz`).then((r) => r.ok, () => false)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { dir, proc, adminUrl, pgPort, myPort, auditFile: join(dir, 'state', 'audit.jsonl') };
}

async function grant(s: Serve, target: string, access: string, databases: string[]) {
  const res = await fetch(`${s.adminUrl}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, access, ttl: '10m', reason: 'lifecycle test', databases }),
  });
  const body = (await res.json()) as { grant: { grantId: string; login: string; password: string } };
  expect(res.status).toBe(201);
  return body.grant;
}

function auditEvents(file: string): { type: string; session?: string; reason?: string }[] {
  return readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

describe('graceful drain of dbwarden serve', () => {
  const table = `public.${SUFFIX}_drain`;
  beforeAll(async () => {
    await adminSql(`create table ${table} (id int primary key, note text); grant all on ${table} to dbw_rw`);
  });
  afterAll(async () => {
    await adminSql(`drop table if exists ${table}`);
  });

  it('SIGTERM: idle sessions get 57P01 / 1927 at once, an open transaction may COMMIT within the grace, every session.ended audited, exit 0', async () => {
    const s = await startServe({ broker: { shutdownGrace: '20s' } });
    try {
      const ro = await grant(s, 'app', 'read', ['dbw_app']);
      const rw = await grant(s, 'app', 'write', ['dbw_app']);
      const my = await grant(s, 'my', 'read', ['dbw_my']);

      // an idle node-postgres session: the error arrives asynchronously
      const idle = new pg.Client({ host: '127.0.0.1', port: s.pgPort, user: ro.login, password: ro.password, database: 'dbw_app', ssl: false });
      await idle.connect();
      const idleError = new Promise<{ code?: string; message: string }>((resolve) => idle.on('error', (e) => resolve(e as never)));

      // an idle mariadb CLI session reading statements from a pipe we hold open
      const mariadb = spawn('mariadb', ['-h', '127.0.0.1', '-P', String(s.myPort), '-u', my.login, 'dbw_my', '--skip-ssl', '-N', '--unbuffered'], {
        env: { ...process.env, MYSQL_PWD: my.password }, stdio: ['pipe', 'pipe', 'pipe'],
      });
      let myOut = '';
      mariadb.stdout.on('data', (b) => (myOut += b));
      mariadb.stderr.on('data', (b) => (myOut += b));
      mariadb.stdin.write('select 41 + 1;\n');
      for (let i = 0; i < 100 && !myOut.includes('42'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(myOut).toContain('42');
      const myExited = new Promise<number | null>((r) => mariadb.once('exit', r));

      // psql inside a transaction block: it writes, then waits for us before committing
      const psql = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=1', `postgresql://${rw.login}@127.0.0.1:${s.pgPort}/dbw_app?sslmode=disable`], {
        env: { ...process.env, PGPASSWORD: rw.password }, stdio: ['pipe', 'pipe', 'pipe'],
      });
      let psqlOut = '';
      psql.stdout.on('data', (b) => (psqlOut += b));
      psql.stderr.on('data', (b) => (psqlOut += b));
      psql.stdin.write(`begin;\ninsert into ${table} values (1, 'written during the drain');\n\\echo inserted\n`);
      for (let i = 0; i < 100 && !psqlOut.includes('inserted'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(psqlOut).toContain('INSERT 0 1');
      const psqlExited = new Promise<number | null>((r) => psql.once('exit', r));

      let exitCode: number | null | undefined;
      void s.proc.exited.then((c) => (exitCode = c));
      s.proc.child.kill('SIGTERM');

      const e = await idleError;
      expect(e.code).toBe('57P01');
      expect(e.message).toBe('dbwarden: broker shutting down');
      // the new-connection door is shut while the transaction is still open
      await new Promise((r) => setTimeout(r, 300));
      const late = await run('psql', [`postgresql://${ro.login}@127.0.0.1:${s.pgPort}/dbw_app`, '-XAtc', 'select 1'], { env: { ...process.env, PGPASSWORD: ro.password } }).catch((x) => x);
      expect(late.code).not.toBe(0);
      expect(exitCode).toBeUndefined();

      // the mariadb CLI sees its connection ended with ERR 1927 on its next statement
      mariadb.stdin.write('select 1;\n');
      mariadb.stdin.end();
      expect(await myExited).not.toBe(0);
      expect(myOut).toMatch(/1927|broker shutting down|Lost connection|server has gone away/);

      // the open transaction commits within the grace, then its session ends too
      psql.stdin.write('commit;\n');
      psql.stdin.end();
      await psqlExited;
      expect(psqlOut).toContain('COMMIT');
      expect((await adminSql(`select note from ${table} where id = 1`) as pg.QueryResult).rows).toEqual([{ note: 'written during the drain' }]);

      expect(await s.proc.exited).toBe(0);
      expect(s.proc.output()).not.toMatch(/not recorded|is closed/);
      const events = auditEvents(s.auditFile);
      const started = events.filter((x) => x.type === 'session.started').map((x) => x.session).sort();
      const ended = events.filter((x) => x.type === 'session.ended').map((x) => x.session).sort();
      expect(started.length).toBe(3);
      expect(ended).toEqual(started);
      expect(events.filter((x) => x.type === 'session.ended').every((x) => x.reason === 'shutdown' || x.reason === 'client closed'), JSON.stringify(events.filter((x) => x.type === 'session.ended'))).toBe(true);
      const verify = await run('node', [MAIN, 'audit', 'verify', s.auditFile]);
      expect(verify.stdout).toMatch(/^ok: \d+ events/);
      await idle.end().catch(() => undefined);
    } finally {
      s.proc.child.kill('SIGKILL');
      rmSync(s.dir, { recursive: true, force: true });
    }
  }, 90_000);

  it('SIGINT drains the same way; a second signal exits at once without waiting for the grace', async () => {
    const s = await startServe({ broker: { shutdownGrace: '60s' } });
    try {
      const rw = await grant(s, 'app', 'write', ['dbw_app']);
      const c = new pg.Client({ host: '127.0.0.1', port: s.pgPort, user: rw.login, password: rw.password, database: 'dbw_app', ssl: false });
      c.on('error', () => undefined);
      await c.connect();
      await c.query('begin');
      s.proc.child.kill('SIGINT');
      await s.proc.waitFor(/draining sessions/, 10_000);
      await new Promise((r) => setTimeout(r, 500));
      const t0 = Date.now();
      s.proc.child.kill('SIGINT');
      const code = await s.proc.exited;
      expect(Date.now() - t0).toBeLessThan(3_000);
      expect(code).toBe(1);
      expect(s.proc.output()).toContain('again: exiting now');
    } finally {
      s.proc.child.kill('SIGKILL');
      rmSync(s.dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('with no session open, SIGTERM exits 0 at once', async () => {
    const s = await startServe();
    try {
      const t0 = Date.now();
      s.proc.child.kill('SIGTERM');
      expect(await s.proc.exited).toBe(0);
      expect(Date.now() - t0).toBeLessThan(5_000);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('startup failures and checks', () => {
  let squatter: Server;
  let busyPort: number;
  beforeAll(async () => {
    squatter = createServer();
    await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', r));
    busyPort = (squatter.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => squatter.close(() => r())));

  it.each([
    ['listen.postgres', (p: number) => ({ postgres: `127.0.0.1:${p}` })],
    ['listen.admin', (p: number) => ({ admin: `127.0.0.1:${p}` })],
  ])('a port in use (%s) is one line naming the address and the config key, exit 1', async (key, listen) => {
    const dir = mkdtempSync(join(tmpdir(), 'dbw-busy-'));
    try {
      const cfg = testConfigObject(join(dir, 'state'), { listen: { postgres: '127.0.0.1:0', admin: '127.0.0.1:0', ...listen(busyPort) } });
      writeFileSync(join(dir, 'dbwarden.yaml'), stringify(cfg));
      const r = await run('node', [MAIN, 'serve', '--config', join(dir, 'dbwarden.yaml')], { timeout: 30_000 }).catch((e) => e);
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toEqual([`dbwarden: cannot listen on 127.0.0.1:${busyPort} (${key}): address already in use (another process listens there: stop it or choose another port)`]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 40_000);

  it('startup and /readyz warn about an unreachable target and a role that cannot log in, naming target and role', async () => {
    const unreachable = await freePort();
    const base = testConfigObject('x') as { targets: Record<string, Record<string, unknown>> };
    const s = await startServe({
      targets: {
        app: { ...base.targets.app, roles: { read: { user: 'dbw_ro', password: 'dbw_ro_secret' }, write: { user: `${SUFFIX}_missing`, password: 'wrong-password' }, admin: { user: 'postgres' } } },
        gone: { protocol: 'postgres', host: '127.0.0.1', port: unreachable, databases: ['x'], tls: 'disable', roles: { read: { user: 'nobody' } } },
        my: mysqlTarget({ roles: { read: { user: 'dbw_my_ro', password: 'not-it' } } }),
      },
    });
    try {
      await s.proc.waitFor(/target my: role for read access/, 20_000);
      await s.proc.waitFor(/target gone: unreachable/, 20_000);
      await s.proc.waitFor(/target app: role for write access/, 20_000);
      const out = s.proc.output();
      // the local PostgreSQL trusts every password, so a role that does not exist stands in for a bad login
      expect(out).toContain(`target app: role for write access (user ${SUFFIX}_missing) cannot log in`);
      expect(out).toContain(`target gone: unreachable at 127.0.0.1:${unreachable}`);
      expect(out).toContain('target my: role for read access (user dbw_my_ro) cannot log in');
      expect(out).not.toContain('wrong-password');
      expect(out).not.toContain('not-it');
      const r = await fetch(`${s.adminUrl}/readyz`);
      expect(r.status).toBe(200);
      const body = (await r.json()) as { ok: boolean; warnings: string[] };
      expect(body.warnings.some((w) => w.startsWith(`target app: role for write access (user ${SUFFIX}_missing)`))).toBe(true);
      expect(body.warnings.some((w) => w.startsWith('target gone: unreachable'))).toBe(true);
      expect(body.warnings.some((w) => w.includes('target app: role for read'))).toBe(false);
    } finally {
      s.proc.child.kill('SIGTERM');
      await s.proc.exited;
      rmSync(s.dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the executable: help, version, closed pipes', () => {
  it.each([['serve'], ['demo']])('%s --help prints its usage and starts nothing', async (cmd) => {
    const port = await freePort();
    const r = await run('node', [MAIN, cmd, '--help', '--listen', `127.0.0.1:${port}`], { timeout: 10_000 });
    expect(r.stdout).toContain(`usage: dbwarden ${cmd}`);
    expect(r.stderr).toBe('');
  });

  it('--version and version print the package version', async () => {
    const { version } = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
    expect((await run('node', [MAIN, '--version'])).stdout).toBe(`dbwarden ${version}\n`);
    expect((await run('node', [MAIN, 'version'])).stdout).toBe(`dbwarden ${version}\n`);
  });

  it('audit tail | head exits quietly (no EPIPE), as does --help | head', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dbw-pipe-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const lines: string[] = [];
      for (let i = 1; i <= 20000; i++) lines.push(JSON.stringify({ seq: i, ts: new Date().toISOString(), type: 'admin.test', actor: 'x', note: 'y'.repeat(80) }));
      writeFileSync(file, lines.join('\n') + '\n');
      for (const cmd of [`node ${MAIN} audit tail ${file} | head -1`, `node ${MAIN} --help | head -1`]) {
        const r = await run('bash', ['-o', 'pipefail', '-c', cmd]);
        expect(r.stderr, cmd).toBe('');
        expect(r.stdout.split('\n').length, cmd).toBe(2);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
