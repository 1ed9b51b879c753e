// Soak: many concurrent sessions on both protocols and on read and write grants run a pgbench/sysbench-like mix
// through a `dbwarden serve` child while grants are requested, extended, expire and are revoked underneath.
// Checks: every expiry and revoke lands within 1 s (the distribution is reported), no session of a live grant is
// ended, the broker's RSS / file descriptors / active handles return to their baseline, the audit chain verifies and
// the statement events in it match what the clients sent.
//
//   npx tsx bench/soak.ts --minutes 30 --sessions 1000     (the long run; needs upstream max_connections above it)
//   npx tsx bench/soak.ts --minutes 1 --sessions 60        (what the test suite runs, a smaller version)
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { stringify } from 'yaml';
import { trailFiles } from '../src/audit/trail-files.js';
import { verifyAuditTrail } from '../src/audit/verify.js';
import { freePort } from './lib/free-port.js';

export interface SoakOptions {
  durationMs: number;
  /** concurrent sessions, split evenly between PostgreSQL and MySQL */
  sessions: number;
  pg: { host: string; port: number; database: string; rw: Cred; ro: Cred; admin: Cred };
  mysql?: { host: string; port: number; database: string; rw: Cred; ro: Cred; admin: Cred };
  /** how the broker is started: node arguments before `serve --config FILE` */
  entry?: string[];
  /** between statements of one session */
  thinkMs?: number;
  log?: (line: string) => void;
}

interface Cred {
  user: string;
  password?: string;
}

export interface SoakReport {
  statementsSent: number;
  statementsAnswered: number;
  statementsAudited: number;
  sessionsOpened: number;
  /** session ends caused by expiry/revoke, with how late each landed after the deadline or the revoke call (ms) */
  endLatencies: number[];
  /** sessions that ended although their grant was live, with the error seen */
  wrongEnds: string[];
  /**
   * expiries and revokes that a session logged in before the due time did not see within 1 s (it went on). A
   * login still under way at the due time is judged when it completes (it must be refused or end at once).
   */
  missedEnds: string[];
  /**
   * The same ends as the broker recorded them: from the revoke's audit event (or the deadline) to the session's
   * `session.ended` event, written once both of its sockets are closed. The upstream side is closed gracefully
   * (COM_QUIT / Terminate, up to a second), so this is when the session's resources were released, not when the
   * client was told (ms)
   */
  releaseLatencies: number[];
  /** ends that landed 800 ms or more after their due time, and missed ends, with what the session was doing */
  slowEnds: string[];
  grants: { requested: number; extended: number; revoked: number; expired: number };
  baseline: Usage;
  after: Usage;
  peak: Usage;
  /** from the end of the run (no session listed) until fds and handles were back at the baseline (or 60 s) */
  settleMs?: number;
  auditOk: boolean;
  auditReason?: string;
}

export interface Usage {
  rssMb: number;
  fds: number;
  handles: number;
  /** live timers (prom-client's nodejs_active_resources of type Timeout) */
  timers?: number;
  /** V8 heap in use: what RSS holds beyond it is memory V8 keeps for reuse, not live objects */
  heapUsedMb?: number;
}

const sha = (t: string) => createHash('sha256').update(t).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function usage(pid: number, adminUrl: string): Promise<Usage> {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const metrics = await fetch(`${adminUrl}/metrics`).then((r) => r.text());
  let handles = 0;
  for (const m of metrics.matchAll(/^nodejs_active_handles\{[^}]*\} (\d+)/gm)) handles += Number(m[1]);
  const timers = Number(/^nodejs_active_resources\{type="Timeout"\} (\d+)/m.exec(metrics)?.[1] ?? 0);
  const heap = Number(/^nodejs_heap_size_used_bytes (\d+)/m.exec(metrics)?.[1] ?? 0) / (1 << 20);
  return { rssMb: Math.round(rss * 10) / 10, fds, handles, timers, heapUsedMb: Math.round(heap * 10) / 10 };
}

interface LiveGrant {
  id: string;
  login: string;
  password: string;
  protocol: 'postgres' | 'mysql';
  access: 'read' | 'write';
  expiresAt: number;
  /** set when a revoke was requested: the time of the call */
  revokedAt?: number;
  ended: boolean;
  sessions: Set<Worker>;
}

interface Worker {
  grant: LiveGrant;
  stop: boolean;
  /** when the login started and when it completed (epoch ms) */
  loginStartedAt?: number;
  loggedInAt?: number;
  /** when the statement in flight was sent (undefined between statements) */
  inFlightSince?: number;
  /** when the client got the error that ended it (an idle client gets it as an event) */
  endSeenAt?: number;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const log = o.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'dbw-soak-'));
  const token = randomBytes(18).toString('base64url');
  const [pgPort, myPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  const table = `soak_${randomBytes(4).toString('hex')}`;
  const targets: Record<string, unknown> = {
    spg: {
      protocol: 'postgres', host: o.pg.host, port: o.pg.port, databases: [o.pg.database], tls: 'disable', rulesets: ['safe-defaults'],
      roles: { read: o.pg.ro, write: o.pg.rw },
    },
  };
  if (o.mysql) {
    targets.smy = {
      protocol: 'mysql', host: o.mysql.host, port: o.mysql.port, databases: [o.mysql.database], tls: 'disable', rulesets: ['safe-defaults'],
      roles: { read: o.mysql.ro, write: o.mysql.rw },
    };
  }
  writeFileSync(join(dir, 'dbwarden.yaml'), stringify({
    listen: { postgres: `127.0.0.1:${pgPort}`, ...(o.mysql ? { mysql: `127.0.0.1:${myPort}` } : {}), admin: `127.0.0.1:${adminPort}` },
    tls: { clients: 'disable' },
    state: { dir: join(dir, 'state') },
    rules: resolve('rules'),
    log: { level: 'warn' },
    targets,
    identities: { soak: { tokenSha256: sha(token), groups: ['soak'] } },
    access: [{ name: 'soak', requesters: ['soak'], access: ['read', 'write'], maxTtl: '2h', approvals: 0 }],
  }));

  // fixtures: one table per upstream, written by the write role, read by the read role
  const pgAdmin = new pg.Client({ host: o.pg.host, port: o.pg.port, database: o.pg.database, user: o.pg.admin.user, password: o.pg.admin.password });
  await pgAdmin.connect();
  await pgAdmin.query(`create table ${table} (aid int primary key, abalance int not null default 0)`);
  await pgAdmin.query(`insert into ${table} select g, 0 from generate_series(1, 10000) g`);
  await pgAdmin.query(`grant select on ${table} to ${o.pg.ro.user}; grant select, update on ${table} to ${o.pg.rw.user}`);
  let myAdmin: mysql.Connection | undefined;
  if (o.mysql) {
    myAdmin = await mysql.createConnection({ host: o.mysql.host, port: o.mysql.port, database: o.mysql.database, user: o.mysql.admin.user, password: o.mysql.admin.password, multipleStatements: true });
    await myAdmin.query(`CREATE TABLE ${table} (aid INT PRIMARY KEY, abalance INT NOT NULL DEFAULT 0) ENGINE=InnoDB;
      INSERT INTO ${table} SELECT seq, 0 FROM seq_1_to_10000;`);
  }

  const child: ChildProcess = spawn('node', [...(o.entry ?? ['--import', 'tsx', 'src/bin.ts']), 'serve', '--config', join(dir, 'dbwarden.yaml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let childOut = '';
  child.stdout!.on('data', (d: Buffer) => (childOut = (childOut + d).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (childOut = (childOut + d).slice(-20_000)));
  const api = async (method: string, path: string, body?: unknown) => {
    const send = () => fetch(`${adminUrl}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    let r: Response;
    try {
      r = await send();
    } catch (e) {
      // a kept-alive connection the server closed just as the request went out (ECONNRESET): the request never
      // reached a handler, so sending it once more on a fresh connection is safe
      log(`${method} ${path}: ${(e as Error).message} (${String((e as { cause?: { code?: string } }).cause?.code)}); sent again`);
      r = await send();
    }
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`);
    return JSON.parse(text);
  };

  const report: SoakReport = {
    statementsSent: 0, statementsAnswered: 0, statementsAudited: 0, sessionsOpened: 0, endLatencies: [], wrongEnds: [], missedEnds: [], slowEnds: [], releaseLatencies: [],
    grants: { requested: 0, extended: 0, revoked: 0, expired: 0 },
    baseline: { rssMb: 0, fds: 0, handles: 0 }, after: { rssMb: 0, fds: 0, handles: 0 }, peak: { rssMb: 0, fds: 0, handles: 0 }, auditOk: false,
  };

  try {
    for (let i = 0; i < 300; i++) {
      if (await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false)) break;
      if (child.exitCode !== null) throw new Error(`broker exited:\n${childOut}`);
      await sleep(100);
    }
    report.baseline = await usage(child.pid!, adminUrl);
    log(`baseline ${JSON.stringify(report.baseline)}`);

    const grants = new Set<LiveGrant>();
    const newGrant = async (protocol: 'postgres' | 'mysql', access: 'read' | 'write'): Promise<LiveGrant> => {
      // most grants live longer than the run; some expire or are revoked underneath their sessions
      const ttlS = Math.random() < 0.35 ? 8 + Math.floor(Math.random() * Math.max(4, o.durationMs / 3000)) : Math.ceil(o.durationMs / 1000) + 120;
      const target = protocol === 'postgres' ? 'spg' : 'smy';
      const db = protocol === 'postgres' ? o.pg.database : o.mysql!.database;
      const r = await api('POST', '/v1/requests', { target, access, ttl: `${ttlS}s`, reason: 'soak', databases: [db] });
      report.grants.requested++;
      const g: LiveGrant = { id: r.grant.id ?? r.grant.grantId, login: r.grant.login, password: r.grant.password, protocol, access, expiresAt: Date.parse(r.grant.expiresAt), ended: false, sessions: new Set() };
      grants.add(g);
      return g;
    };

    let stopping = false;
    const endOfRun = Date.now() + o.durationMs;
    const think = o.thinkMs ?? 20;
    const workers = new Set<Promise<void>>();

    /** What a session was doing at its grant's due time, relative to it (for slow and missed ends). */
    const doing = (w: Worker, due: number): string => {
      const rel = (t?: number) => (t === undefined ? 'never' : `${t - due} ms`);
      return `login started ${rel(w.loginStartedAt)}, logged in ${rel(w.loggedInAt)}, statement in flight since ${rel(w.inFlightSince)}`;
    };

    /** Classifies the end of a session: due to its grant's expiry/revoke (latency recorded), or wrong. */
    const ended = (w: Worker, err: Error, at: number) => {
      const g = w.grant;
      g.sessions.delete(w);
      const msg = err.message;
      const late = (due: number, lat: number) => {
        report.endLatencies.push(lat);
        if (lat >= 800) report.slowEnds.push(`${g.protocol}/${g.access} ${g.id} ${g.revokedAt ? 'revoke' : 'expiry'} seen after ${lat} ms; ${doing(w, due)}`);
      };
      // a session that logged in after the due time (its login was under way) is measured from its login
      const from = (due: number) => Math.max(due, w.loggedInAt ?? due);
      if (/grant revoked/.test(msg) && g.revokedAt) {
        late(g.revokedAt, at - from(g.revokedAt));
      } else if (/grant expired/.test(msg) && at >= g.expiresAt - 50) {
        late(g.expiresAt, Math.max(0, at - from(g.expiresAt)));
      } else if (!stopping) {
        report.wrongEnds.push(`${g.protocol}/${g.access} ${g.id}: ${msg}`);
      }
    };

    const runWorker = async (protocol: 'postgres' | 'mysql', access: 'read' | 'write'): Promise<void> => {
      while (!stopping && Date.now() < endOfRun) {
        // reuse a live grant of the same kind, or ask for a new one
        let g = [...grants].find((x) => !x.ended && !x.revokedAt && x.protocol === protocol && x.access === access && x.expiresAt - Date.now() > 3000 && x.sessions.size < 8);
        g ??= await newGrant(protocol, access);
        const w: Worker = { grant: g, stop: false };
        g.sessions.add(w);
        report.sessionsOpened++;
        try {
          if (protocol === 'postgres') await pgSession(w);
          else await mySession(w);
        } finally {
          g.sessions.delete(w);
        }
      }
    };

    const statement = (access: 'read' | 'write', dialectPg: boolean): string => {
      const aid = 1 + Math.floor(Math.random() * 10000);
      const r = Math.random();
      if (access === 'write' && r < 0.3) return `update ${table} set abalance = abalance + 1 where aid = ${aid}`;
      if (r < 0.5) return `select abalance from ${table} where aid = ${aid}`;
      if (r < 0.8) return dialectPg ? `select sum(abalance) from ${table} where aid between ${aid} and ${aid + 10}` : `SELECT SUM(abalance) FROM ${table} WHERE aid BETWEEN ${aid} AND ${aid + 10}`;
      return `select count(*) from ${table} where aid < ${aid}`;
    };

    /** A connected client of either driver, as the session loop needs it. */
    interface Driver {
      query(sql: string): Promise<unknown>;
      /** registers the handler of errors that arrive while the client is idle (a FATAL / ERR from the broker) */
      onError(f: (e: Error) => void): void;
      close(): Promise<void>;
    }

    /** Logs in, then sends statements until the run ends or the session is ended; classifies how it ended. */
    const drive = async (w: Worker, connect: () => Promise<Driver>, pgDialect: boolean) => {
      let c: Driver;
      try {
        w.loginStartedAt = Date.now();
        c = await connect();
        w.loggedInAt = Date.now();
      } catch (e) {
        // a grant that expired or was revoked between choosing it and logging in is refused at login: fine
        if (w.grant.revokedAt || Date.now() >= w.grant.expiresAt - 100) return;
        report.wrongEnds.push(`login ${w.grant.id}: ${(e as Error).message}`);
        return;
      }
      let failure: Error | undefined;
      let failedAt = 0;
      const fail = (e: Error) => {
        if (failure) return;
        failure = e;
        failedAt = Date.now();
        // seen now, even if the loop only notices after its think time
        w.endSeenAt = failedAt;
      };
      c.onError(fail);
      try {
        while (!stopping && Date.now() < endOfRun && !failure) {
          report.statementsSent++;
          try {
            w.inFlightSince = Date.now();
            await c.query(statement(w.grant.access, pgDialect));
            w.inFlightSince = undefined;
            report.statementsAnswered++;
          } catch (e) {
            fail(e as Error);
            break;
          }
          await sleep(think);
        }
        if (failure) ended(w, failure, failedAt);
      } finally {
        await c.close();
      }
    };

    const pgSession = (w: Worker) => drive(w, async () => {
      const c = new pg.Client({ host: '127.0.0.1', port: pgPort, database: o.pg.database, user: w.grant.login, password: w.grant.password });
      const early: Error[] = [];
      let handler: (e: Error) => void = (e) => void early.push(e);
      c.on('error', (e) => handler(e));
      await c.connect();
      return {
        query: (sql) => c.query(sql),
        onError: (f) => {
          handler = f;
          for (const e of early) f(e);
        },
        close: () => closeWithin(c.end(), () => (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy()),
      };
    }, true);

    const mySession = (w: Worker) => drive(w, async () => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, database: o.mysql!.database, user: w.grant.login, password: w.grant.password });
      return {
        query: (sql) => c.query(sql),
        // an ERR the broker sends while the client is idle arrives as an 'error' event
        onError: (f) => void c.on('error', f),
        close: () => closeWithin(c.end(), () => c.destroy()),
      };
    }, false);

    const kinds: ['postgres' | 'mysql', 'read' | 'write'][] = [];
    for (let i = 0; i < o.sessions; i++) {
      const protocol = o.mysql && i % 2 ? 'mysql' : 'postgres';
      kinds.push([protocol, i % 4 < 2 ? 'read' : 'write']);
    }
    for (const [p, a] of kinds) {
      const run = runWorker(p, a).catch((e) => void report.wrongEnds.push(`worker: ${(e as Error).message}`));
      workers.add(run);
      await sleep(5); // stagger logins
    }

    // grant churn underneath: extend some, revoke some, watch that each end lands
    const watch = new Set<Promise<void>>();
    const churn = (async () => {
      try {
        await churnLoop();
      } catch (e) {
        report.wrongEnds.push(`churn: ${(e as Error).message}`);
      }
    })();
    async function churnLoop(): Promise<void> {
      while (!stopping && Date.now() < endOfRun - 2000) {
        await sleep(1000 + Math.random() * 1000);
        const live = [...grants].filter((g) => !g.ended && !g.revokedAt && g.expiresAt - Date.now() > 2000 && g.sessions.size > 0);
        const pick = live[Math.floor(Math.random() * live.length)];
        if (!pick) continue;
        if (Math.random() < 0.5) {
          pick.revokedAt = Date.now();
          await api('POST', `/v1/grants/${pick.id}/revoke`, { reason: 'soak' });
          report.grants.revoked++;
        } else {
          const r = await api('POST', `/v1/grants/${pick.id}/extend`, { ttl: `${10 + Math.floor(Math.random() * 20)}s` });
          pick.expiresAt = Date.parse(r.expiresAt);
          report.grants.extended++;
        }
      }
    }

    // a grant whose deadline or revoke passed must have no session left a second later
    const deadlines = (async () => {
      while (!stopping && Date.now() < endOfRun) {
        await sleep(250);
        const now = Date.now();
        for (const g of grants) {
          if (g.ended) continue;
          const due = g.revokedAt ?? (g.expiresAt <= now ? g.expiresAt : undefined);
          if (due === undefined) continue;
          if (!g.revokedAt) report.grants.expired++;
          g.ended = true;
          watch.add((async () => {
            await sleep(Math.max(0, due + 1000 - Date.now()));
            // sessions that saw nothing by then are still issuing statements: the end did not land
            for (const w of g.sessions) {
              // a login still under way at the due time has no session yet: it must be refused, or end at once
              // once it completes (judged by `ended`, from the time it logged in)
              if (w.loggedInAt === undefined || w.loggedInAt > due || w.endSeenAt !== undefined) continue;
              report.missedEnds.push(`${g.protocol}/${g.access} ${g.id} (${g.revokedAt ? 'revoke' : 'expiry'})`);
              report.slowEnds.push(`${g.protocol}/${g.access} ${g.id} ${g.revokedAt ? 'revoke' : 'expiry'} not seen after 1 s; ${doing(w, due)}`);
            }
          })());
        }
      }
    })();

    const sampler = setInterval(() => {
      void usage(child.pid!, adminUrl).then((u) => {
        const p = report.peak;
        report.peak = { rssMb: Math.max(p.rssMb, u.rssMb), fds: Math.max(p.fds, u.fds), handles: Math.max(p.handles, u.handles), timers: Math.max(p.timers ?? 0, u.timers ?? 0), heapUsedMb: Math.max(p.heapUsedMb ?? 0, u.heapUsedMb ?? 0) };
      }, () => undefined);
    }, 1000);

    await sleep(o.durationMs);
    stopping = true;
    await Promise.all([...workers, churn, deadlines]);
    await Promise.all([...watch]);
    clearInterval(sampler);
    log(`run over: ${report.statementsSent} sent, ${report.sessionsOpened} sessions; waiting for the broker to settle`);

    // settle: every session closed on the broker, then measure
    for (let i = 0; i < 100; i++) {
      const sessions = await api('GET', '/v1/sessions');
      if ((Array.isArray(sessions) ? sessions : sessions.sessions ?? []).length === 0) break;
      await sleep(100);
    }
    // logins still in flight when the run stopped (a client that gave up, an upstream connect under way) end on
    // their own timeouts: wait for the baseline up to a minute, and say how long it took
    const settleStart = Date.now();
    await sleep(2500);
    for (;;) {
      report.after = await usage(child.pid!, adminUrl);
      if ((report.after.fds <= report.baseline.fds + 4 && report.after.handles <= report.baseline.handles + 4) || Date.now() - settleStart > 60_000) break;
      await sleep(500);
    }
    report.settleMs = Date.now() - settleStart;

    const file = join(dir, 'state', 'audit.jsonl');
    // stop the broker so the last audit lines are flushed, then read the trail
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    const v = verifyAuditTrail(file);
    report.auditOk = v.ok;
    if (!v.ok) report.auditReason = JSON.stringify(v);
    const revokedAt = new Map<string, number>();
    const sessionEnds: { grant: string; reason: string; ts: number }[] = [];
    for (const f of trailFiles(file)) {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        if (line.includes('"type":"statement"') && line.includes(table)) report.statementsAudited++;
        else if (line.includes('"type":"grant.revoked"')) {
          const e = JSON.parse(line) as { grantId: string; ts: string };
          revokedAt.set(e.grantId, Date.parse(e.ts));
        } else if (line.includes('"type":"session.ended"')) {
          const e = JSON.parse(line) as { grant: string; reason: string; ts: string };
          sessionEnds.push({ grant: e.grant, reason: e.reason, ts: Date.parse(e.ts) });
        }
      }
    }
    const deadlineOf = new Map([...grants].map((g) => [g.id, g.expiresAt]));
    for (const e of sessionEnds) {
      const due = /revok/.test(e.reason) ? revokedAt.get(e.grant) : /expir/.test(e.reason) ? deadlineOf.get(e.grant) : undefined;
      if (due !== undefined) report.releaseLatencies.push(Math.max(0, e.ts - due));
    }
    return report;
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await pgAdmin.query(`drop table if exists ${table}`).catch(() => undefined);
    await pgAdmin.end().catch(() => undefined);
    if (myAdmin) {
      await myAdmin.query(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
      await myAdmin.end().catch(() => undefined);
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits for a client's orderly close, but not forever: a connection the server already closed may never answer. */
async function closeWithin(p: Promise<unknown>, destroy: () => void, ms = 1000): Promise<void> {
  let t: NodeJS.Timeout | undefined;
  const ok = await Promise.race([p.then(() => true, () => true), new Promise<boolean>((r) => (t = setTimeout(() => r(false), ms)))]);
  clearTimeout(t);
  if (!ok) destroy();
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      sessions: { type: 'string', default: '1000' },
      'pg-port': { type: 'string', default: '5432' },
      'mysql-port': { type: 'string', default: '3306' },
    },
  });
  const r = await runSoak({
    durationMs: Number(values.minutes) * 60_000,
    sessions: Number(values.sessions),
    pg: { host: '127.0.0.1', port: Number(values['pg-port']), database: 'dbw_app', rw: { user: 'dbw_rw', password: 'dbw_rw_secret' }, ro: { user: 'dbw_ro', password: 'dbw_ro_secret' }, admin: { user: 'postgres' } },
    mysql: { host: '127.0.0.1', port: Number(values['mysql-port']), database: 'dbw_my', rw: { user: 'dbw_my_rw', password: 'dbw_my_rw_secret' }, ro: { user: 'dbw_my_ro', password: 'dbw_my_ro_secret' }, admin: { user: 'root' } },
    log: (l) => console.error(l),
  });
  const lat = r.endLatencies;
  console.log(JSON.stringify({ ...r, endLatencies: undefined, endLatency: { n: lat.length, p50: percentile(lat, 50), p95: percentile(lat, 95), p99: percentile(lat, 99), max: Math.max(0, ...lat) } }, null, 2));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
