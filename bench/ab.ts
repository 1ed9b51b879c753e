// A/B of broker builds: pgbench -S through the bare relay and through one broker per variant, all started once and
// measured in interleaved rounds, so the machine's drift (20–40 % within an hour here) hits every arm alike.
// Reports the broker's CPU µs per transaction (the steady figure) against the relay's, per round and as the mean.
// No audit gate: a variant may be an experiment that drops audit lines; the real bench (pg-bench.ts) keeps the gate.
//
// Usage (after `npm run build` in each checkout named):
//   VARIANTS='base=REPO:/tmp/base-checkout;new=' npx tsx bench/ab.ts
//   VARIANTS='a=;b=SOME_ENV:1' MODES=simple,extended CLIENTS=1,16 SECS=2 ROUNDS=8 npx tsx bench/ab.ts
//   MODES='sql:SELECT * FROM big_masked' RULESETS=safe-defaults,pii-masking …: a statement run through psql per
//   round instead of pgbench (CPU ms per run; the table comes from pg-bench.ts --masked-select)
// A variant is NAME=KEY:VALUE,KEY:VALUE: REPO picks the checkout whose dist/ runs (default: this one); every other
// key is set in the broker's environment. Uses the pgbench data set of pg-bench.ts (run it once first).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requestGrant, startBrokerProcess } from './lib/broker-process.js';
import { ChildSet } from './lib/children.js';
import { readCpuMs } from './lib/cpu-time.js';
import { startRelayProcess } from './lib/relay-process.js';

const HERE = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PG = { host: '127.0.0.1', port: 5432, database: 'dbw_bench' };
const ROLE = { user: 'dbw_bench_rw', password: 'dbw_bench_rw_secret' };
const env = process.env;
const variants = (env.VARIANTS ?? 'broker=').split(';').filter(Boolean).map((v) => {
  const [name, spec = ''] = v.split('=');
  const vars = Object.fromEntries(spec.split(',').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf(':')), kv.slice(kv.indexOf(':') + 1)]));
  return { name: name!, vars };
});
const modes = (env.MODES ?? 'simple').split(',');
const clients = (env.CLIENTS ?? '1,16').split(',').map(Number);
const seconds = env.SECS ?? '3';
const rounds = Number(env.ROUNDS ?? 4);

interface Arm { name: string; port: number; pid: number; login: string; password: string }

const children = new ChildSet();
try {
  const relay = await startRelayProcess(children, PG, []);
  const arms: Arm[] = [{ name: 'relay', port: relay.port, pid: relay.pid, login: ROLE.user, password: '' }];
  for (const v of variants) {
    const { REPO, ...vars } = v.vars;
    const saved = { ...env };
    Object.assign(env, vars);
    try {
      const b = await startBrokerProcess(children, {
        repoDir: resolve(REPO ?? HERE), workDir: mkdtempSync(join(tmpdir(), 'dbw-ab-')), upstream: { ...PG, ...ROLE },
        rulesets: (env.RULESETS ?? 'safe-defaults').split(','),
      });
      const g = await requestGrant(b.adminUrl, b.token, PG.database);
      arms.push({ name: v.name, port: b.pgPort, pid: b.pid, login: g.login, password: g.password });
    } finally {
      for (const k of Object.keys(vars)) if (!(k in saved)) delete env[k];
    }
  }
  const run = (arm: Arm, mode: string, c: number, t: string): number => {
    if (mode.startsWith('sql:')) {
      // a streaming statement through psql (output discarded): the arm's CPU ms per run
      const before = readCpuMs(arm.pid)!;
      const r = spawnSync('sh', ['-c', 'psql -X -At -h 127.0.0.1 -p "$1" -U "$2" -d "$3" -c "$4" > /dev/null', 'psql', String(arm.port), arm.login, PG.database, mode.slice(4)], { env: { ...env, PGPASSWORD: arm.password }, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql through ${arm.name} failed: ${r.stderr.trim().split('\n')[0]}`);
      return readCpuMs(arm.pid)! - before;
    }
    const args = ['-h', '127.0.0.1', '-p', String(arm.port), '-U', arm.login, '-n', '-S', '-M', mode, '-T', t, '-c', String(c), '-j', String(Math.min(c, 2)), PG.database];
    const before = readCpuMs(arm.pid)!;
    const r = spawnSync('pgbench', args, { env: { ...env, PGPASSWORD: arm.password }, encoding: 'utf8' });
    const tx = Number(/processed: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    if (!tx) throw new Error(`pgbench through ${arm.name} failed: ${r.stderr.trim().split('\n')[0]}`);
    return ((readCpuMs(arm.pid)! - before) * 1000) / tx;
  };
  // warm-up: every arm, mode and client count once
  for (const mode of modes) for (const c of mode.startsWith('sql:') ? [1] : clients) for (const arm of arms) run(arm, mode, c, '1');
  const figures = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    for (const mode of modes) for (const c of mode.startsWith('sql:') ? [1] : clients) for (const arm of arms) {
      const key = `${mode} ${c} ${arm.name}`;
      figures.set(key, [...(figures.get(key) ?? []), run(arm, mode, c, seconds)]);
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  for (const mode of modes) for (const c of mode.startsWith('sql:') ? [1] : clients) {
    const relayMean = mean(figures.get(`${mode} ${c} relay`)!);
    const cells = arms.map((a) => {
      const xs = figures.get(`${mode} ${c} ${a.name}`)!;
      const m = mean(xs);
      return `${a.name} ${m.toFixed(1)}${a.name === 'relay' ? '' : ` (${(m / relayMean).toFixed(2)}×)`} [${xs.map((x) => x.toFixed(0)).join('/')}]`;
    });
    process.stdout.write(`${mode}, ${c} client${c > 1 ? 's' : ''}: CPU ${mode.startsWith('sql:') ? 'ms per run' : 'µs/tx'} ${cells.join('  ')}\n`);
  }
} finally {
  await children.stopAll();
}
