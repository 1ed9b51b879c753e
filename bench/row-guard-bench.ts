// Row-guard overhead: pgbench TPC-B (writes) direct, through dbwarden without a row limit, and with safe-defaults'
// max-rows guard on (every UPDATE inside pgbench's transaction runs between a SAVEPOINT and RELEASE of the broker's).
// Short runs on a small data set in a database of its own (dropped afterwards): `npx tsx bench/row-guard-bench.ts [seconds] [rounds]`.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ChildSet } from './lib/children.js';
import { requestGrant, startBrokerProcess } from './lib/broker-process.js';

const seconds = Number(process.argv[2] ?? 10);
const rounds = Number(process.argv[3] ?? 3);
const repo = resolve('.');
const db = `rowguard_bench_${randomBytes(3).toString('hex')}`;
const role = { user: `${db}_rw`, password: randomBytes(12).toString('hex') };
const children = new ChildSet();
const work = mkdtempSync(join(tmpdir(), 'dbw-rowguard-bench-'));

async function psql(sql: string, database = 'postgres'): Promise<void> {
  const r = await children.run('psql', ['-X', '-h', '127.0.0.1', '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-qc', sql]);
  if (r.code !== 0) throw new Error(r.stderr);
}

async function pgbench(port: number, user: string, password: string, mode: string): Promise<number> {
  const r = await children.run('pgbench', ['-n', '-T', String(seconds), '-c', '4', '-j', '2', '-M', mode, '-h', '127.0.0.1', '-p', String(port), '-U', user, db], {
    env: { ...process.env, PGPASSWORD: password, PGSSLMODE: 'disable' },
  });
  const m = /tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout);
  if (!m) throw new Error(`pgbench failed: ${r.stdout}\n${r.stderr}`);
  return Number(m[1]);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  await psql(`create database ${db}`);
  await psql(`create role ${role.user} login password '${role.password}'`);
  try {
    const init = await children.run('pgbench', ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-U', 'postgres', db]);
    if (init.code !== 0) throw new Error(init.stderr);
    await psql(`grant select, insert, update, delete on all tables in schema public to ${role.user}`, db);
    // the same broker build twice: shipped rules (max-rows on) and the same rules without the max-rows rule
    const offRepo = join(work, 'off');
    mkdirSync(offRepo);
    cpSync(join(repo, 'rules'), join(offRepo, 'rules'), { recursive: true });
    const sd = join(offRepo, 'rules', 'safe-defaults.yaml');
    writeFileSync(sd, readFileSync(sd, 'utf8').replace(/\n  - id: max-rows[\s\S]*$/, '\n'));
    symlinkSync(join(repo, 'dist'), join(offRepo, 'dist'));
    const upstream = { host: '127.0.0.1', port: 5432, database: db, user: role.user, password: role.password };
    const on = await startBrokerProcess(children, { repoDir: repo, workDir: join(work, 'on-state'), upstream, rulesets: ['safe-defaults'] });
    const off = await startBrokerProcess(children, { repoDir: offRepo, workDir: join(work, 'off-state'), upstream, rulesets: ['safe-defaults'] });
    const gOn = await requestGrant(on.adminUrl, on.token, db);
    const gOff = await requestGrant(off.adminUrl, off.token, db);
    const lines: string[] = [];
    for (const mode of ['simple', 'extended']) {
      const res = { direct: [] as number[], off: [] as number[], on: [] as number[] };
      for (let i = 0; i < rounds; i++) {
        res.direct.push(await pgbench(5432, role.user, role.password, mode));
        res.off.push(await pgbench(off.pgPort, gOff.login, gOff.password, mode));
        res.on.push(await pgbench(on.pgPort, gOn.login, gOn.password, mode));
      }
      const d = median(res.direct), f = median(res.off), n = median(res.on);
      lines.push(`| ${mode} | ${d.toFixed(0)} | ${f.toFixed(0)} (${(f / d).toFixed(2)}×) | ${n.toFixed(0)} (${(n / d).toFixed(2)}×) | ${((1 - n / f) * 100).toFixed(1)} % |`);
    }
    console.log(`pgbench TPC-B, scale 1, -c 4 -j 2, ${seconds} s × ${rounds} rounds (median TPS), ${new Date().toISOString()}`);
    console.log('| protocol | direct | dbwarden, no row limit | dbwarden, max-rows on | guard cost |');
    console.log('| --- | --- | --- | --- | --- |');
    for (const l of lines) console.log(l);
  } finally {
    await children.stopAll();
    await psql(`drop database if exists ${db} with (force)`).catch((e) => console.error(e));
    await psql(`drop role if exists ${role.user}`).catch((e) => console.error(e));
    rmSync(work, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
