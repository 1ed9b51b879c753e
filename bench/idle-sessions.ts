// Many idle sessions on one broker: the broker's RSS per session, and how long one revoke takes to end all of them.
// Uses the MySQL protocol against a throwaway MariaDB with max_connections above the count (a thread per
// connection; a PostgreSQL cluster would need a process per session). Each session costs the broker two file
// descriptors (client and upstream), so the count is bounded by RLIMIT_NOFILE / 2.
//
//   ulimit -n 20000; nice -n 5 npx tsx bench/idle-sessions.ts --sessions 9900
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { stringify } from 'yaml';
import { freePort } from '../test/helpers/scratch-cluster.js';
import { startScratchMariadb } from '../test/helpers/scratch-mariadb.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function usage(pid: number): { rssMb: number; fds: number } {
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  return { rssMb: Math.round(rss * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { sessions: { type: 'string', default: '9900' }, concurrency: { type: 'string', default: '40' }, 'cpu-prof': { type: 'string' } } });
  const n = Number(values.sessions);
  const log = (l: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${l}`);
  const db = await startScratchMariadb({ maxConnections: n + 100 });
  const dir = mkdtempSync(join(tmpdir(), 'dbw-idle-'));
  const token = randomBytes(18).toString('base64url');
  const [myPort, adminPort] = [await freePort(), await freePort()];
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  writeFileSync(join(dir, 'dbwarden.yaml'), stringify({
    listen: { mysql: `127.0.0.1:${myPort}`, admin: `127.0.0.1:${adminPort}` },
    tls: { clients: 'disable' },
    state: { dir: join(dir, 'state') },
    rules: resolve('rules'),
    log: { level: 'warn' },
    limits: { maxSessionsPerGrant: n + 10 },
    targets: { idle: { protocol: 'mysql', host: '127.0.0.1', port: db.port, databases: [db.database], tls: 'disable', rulesets: ['safe-defaults'], roles: { read: db.roles.ro, write: db.roles.rw } } },
    identities: { bench: { tokenSha256: createHash('sha256').update(token).digest('hex'), groups: ['bench'] } },
    access: [{ name: 'bench', requesters: ['bench'], access: ['read'], maxTtl: '2h', approvals: 0 }],
  }));
  const profArgs = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : [];
  const child = spawn('node', [...profArgs, resolve('dist/bin.js'), 'serve', '--config', join(dir, 'dbwarden.yaml')], { stdio: ['ignore', 'inherit', 'inherit'] });
  const clients: mysql.Connection[] = [];
  try {
    for (let i = 0; i < 300 && !(await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false)); i++) await sleep(100);
    const res = await fetch(`${adminUrl}/v1/requests`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'idle', access: 'read', ttl: '2h', reason: 'idle bench', databases: [db.database] }),
    });
    const { grant: g } = (await res.json()) as { grant: { id?: string; grantId?: string; login: string; password: string } };
    const grant = { ...g, id: g?.grantId ?? g?.id };
    if (!grant?.id) throw new Error(`grant request: ${res.status}`);
    await sleep(1000);
    const baseline = usage(child.pid!);
    log(`baseline ${JSON.stringify(baseline)}`);

    // log in n sessions, `concurrency` at a time; each runs one statement, then stays idle
    const t0 = Date.now();
    let next = 0;
    let failed = 0;
    const firstErrors: string[] = [];
    const ended: number[] = [];
    const opener = async () => {
      while (next < n) {
        next++;
        try {
          const c = await mysql.createConnection({ host: '127.0.0.1', port: myPort, user: grant.login, password: grant.password, database: db.database, connectTimeout: 60_000 });
          let done = false;
          const mark = () => {
            if (done) return;
            done = true;
            ended.push(Date.now());
          };
          c.on('error', mark);
          c.on('end', mark);
          await c.query('SELECT 1');
          clients.push(c);
          if (clients.length % 1000 === 0) log(`${clients.length} sessions, broker ${JSON.stringify(usage(child.pid!))}`);
        } catch (e) {
          failed++;
          if (firstErrors.length < 5) firstErrors.push((e as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: Number(values.concurrency) }, opener));
    const loginMs = Date.now() - t0;
    await sleep(3000);
    const held = usage(child.pid!);
    const perSessionKb = Math.round(((held.rssMb - baseline.rssMb) * 1024) / Math.max(1, clients.length));
    log(`held ${clients.length} sessions (${failed} failed) in ${loginMs} ms: ${JSON.stringify(held)}, ${perSessionKb} KiB per session`);

    // one revoke: every session must end; time until the last client saw its end
    const r0 = Date.now();
    const rv = await fetch(`${adminUrl}/v1/grants/${grant.id}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{}' });
    const revokeAnsweredMs = Date.now() - r0;
    if (!rv.ok) throw new Error(`revoke: ${rv.status} ${await rv.text()}`);
    while (ended.length < clients.length && Date.now() - r0 < 120_000) await sleep(20);
    const sorted = ended.map((t) => t - r0).sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? -1;
    let settledMs = -1;
    for (let i = 0; i < 120; i++) {
      const u = usage(child.pid!);
      if (u.fds <= baseline.fds + 4) {
        settledMs = Date.now() - r0;
        break;
      }
      await sleep(500);
    }
    const after = usage(child.pid!);
    console.log(JSON.stringify({
      sessionsHeld: clients.length, loginFailures: failed, firstErrors, loginMs, baseline, held, perSessionKb,
      revoke: { answeredMs: revokeAnsweredMs, ended: sorted.length, p50: q(50), p99: q(99), lastMs: sorted.at(-1) ?? -1 },
      fdsBackToBaselineMs: settledMs, after,
    }, null, 2));
  } finally {
    for (const c of clients) c.destroy();
    if (profArgs.length) {
      // a profile is written only by an orderly exit
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    } else child.kill('SIGKILL');
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
