// Benchmark: pgbench and 3-million-row streaming through dbwarden, side by side with direct PostgreSQL and pgbouncer.
// Usage: npm run build && npx tsx bench/pg-bench.ts [--quick] (see bench/README.md for every option).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBouncerProcess, PGBOUNCER_BIN, type BouncerProcess } from './lib/bouncer-process.js';
import { brokerEntry, requestGrant, startBrokerProcess, type BrokerProcess } from './lib/broker-process.js';
import { ChildSet } from './lib/children.js';
import { bigTableTextBytes, prepareDataset } from './lib/dataset.js';
import { parsePgbenchOutput } from './lib/pgbench-output.js';
import { renderMarkdown, renderText, replaceFigures } from './lib/report.js';
import { PATHS, type BenchReport, type PathName, type PgbenchRow, type RssRow, type ThroughputRow } from './lib/results.js';
import { readCpuMs } from './lib/cpu-time.js';
import { sampleRss, type RssWindow } from './lib/rss.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PG = { host: '127.0.0.1', port: 5432, adminUser: 'postgres', database: 'dbw_bench' };
const ROLE = { user: 'dbw_bench_rw', password: 'dbw_bench_rw_secret' };
const MODES = ['simple', 'extended', 'prepared'] as const;

const HELP = `npx tsx bench/pg-bench.ts [options]
  --quick              smoke run under ~90 s (2 s runs, modes simple+prepared, one throughput round)
  --seconds N          length of each pgbench run (default 4)
  --rounds N           interleaved rounds per pgbench configuration, median reported (default 3, minimum 2)
  --modes LIST         pgbench -M modes (default simple,extended,prepared)
  --clients LIST       pgbench client counts (default 1,16)
  --paths LIST         any of direct,dbwarden,pgbouncer (default all)
  --rulesets LIST      rule sets of the broker's target (default safe-defaults)
  --rows N             rows in the throughput table (default 3000000)
  --fresh              rebuild the pgbench tables and the big table
  --no-results         do not rewrite bench/RESULTS.md
  --no-throughput      skip the COPY / SELECT streaming part
  --cpu-prof DIR       write the broker's V8 CPU profile (.cpuprofile) into DIR when it stops
`;

interface Endpoint {
  port: number;
  user: string;
  password?: string;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      rounds: { type: 'string' },
      modes: { type: 'string' },
      clients: { type: 'string' },
      paths: { type: 'string' },
      rulesets: { type: 'string', default: 'safe-defaults' },
      rows: { type: 'string', default: '3000000' },
      fresh: { type: 'boolean', default: false },
      'no-results': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'no-throughput': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  const list = (s: string | undefined, dflt: string) => (s ?? dflt).split(',').map((x) => x.trim()).filter(Boolean);
  const int = (s: string | undefined, dflt: number, name: string) => {
    const n = s === undefined ? dflt : Number(s);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };
  const modes = list(values.modes, values.quick ? 'simple,prepared' : MODES.join(','));
  for (const m of modes) if (!(MODES as readonly string[]).includes(m)) throw new Error(`unknown mode ${m}`);
  const paths = list(values.paths, PATHS.join(','));
  for (const p of paths) if (!(PATHS as readonly string[]).includes(p)) throw new Error(`unknown path ${p}`);
  return {
    quick: values.quick,
    seconds: int(values.seconds, values.quick ? 2 : 4, 'seconds'),
    rounds: Math.max(2, int(values.rounds, values.quick ? 2 : 3, 'rounds')),
    throughputRounds: values.quick ? 1 : 2,
    modes: modes as (typeof MODES)[number][],
    clients: list(values.clients, '1,16').map((c) => int(c, 1, 'clients')),
    paths: paths as PathName[],
    rulesets: list(values.rulesets, ''),
    rows: int(values.rows, 3_000_000, 'rows'),
    fresh: values.fresh,
    writeResults: !values['no-results'],
    throughput: !values['no-throughput'],
    cpuProfDir: values['cpu-prof'] ? resolve(values['cpu-prof']) : undefined,
  };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** A stale dist/ would benchmark yesterday's broker; warn rather than build, since a build costs ~20 s. */
function warnIfStaleBuild(): void {
  let built: number;
  try {
    built = statSync(brokerEntry(REPO)).mtimeMs;
  } catch {
    return;
  }
  const newest = (dir: string): number =>
    readdirSync(dir, { withFileTypes: true }).reduce((m, e) => Math.max(m, e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs), 0);
  if (newest(join(REPO, 'src')) > built) log('warning: src/ is newer than the build in dist/; run `npm run build` to benchmark the current code');
}

function machineFacts(command: string): [string, string][] {
  const commit = tryRun('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  const dirty = tryRun('git', ['-C', REPO, 'status', '--porcelain', '--', 'src']) ? ' (src/ has uncommitted changes)' : '';
  return [
    ['command', `\`${command}\``],
    ['date', new Date().toISOString()],
    ['machine', `nproc ${tryRun('nproc', [])} (${availableParallelism()} usable), ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM`],
    ['node', process.version],
    ['PostgreSQL', tryRun('psql', ['-X', '-h', PG.host, '-p', String(PG.port), '-U', PG.adminUser, '-d', 'postgres', '-Atc', 'select version()'])],
    ['pgbench', tryRun('pgbench', ['--version'])],
    ['pgbouncer', tryRun(PGBOUNCER_BIN, ['--version']).split('\n')[0] ?? 'unknown'],
    ['dbwarden', `commit ${commit}${dirty}, \`node ${brokerEntry(REPO).slice(REPO.length + 1)} serve\``],
  ];
}

async function main(): Promise<number> {
  const opts = parseOptions();
  const command = ['npx tsx bench/pg-bench.ts', ...process.argv.slice(2)].join(' ');
  const children = new ChildSet();
  const workDir = mkdtempSync(join(tmpdir(), 'dbw-bench-'));
  let stopping = false;
  const cleanup = async () => {
    await children.stopAll();
    rmSync(workDir, { recursive: true, force: true });
  };
  // Ctrl-C: the terminal also signals pgbench/psql, but broker and pgbouncer must not outlive us either.
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log(`${sig}: stopping child processes`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', () => children.killAllNow());

  const started = Date.now();
  const loadAtStart = loadavg()[0]!;
  try {
    warnIfStaleBuild();
    const report: BenchReport = { facts: machineFacts(command), pgbench: [], throughput: [], rss: [], notes: [] };

    await prepareDataset(children, { ...PG, scale: 10, bigRows: opts.rows, role: ROLE, fresh: opts.fresh, log });

    const endpoints: Partial<Record<PathName, Endpoint>> = {};
    if (opts.paths.includes('direct')) endpoints.direct = { port: PG.port, user: ROLE.user };
    let bouncer: BouncerProcess | undefined;
    if (opts.paths.includes('pgbouncer')) {
      try {
        bouncer = await startBouncerProcess(children, { workDir, upstream: { ...PG, user: ROLE.user }, maxClients: Math.max(...opts.clients) });
        endpoints.pgbouncer = { port: bouncer.port, user: ROLE.user };
      } catch (e) {
        report.notes.push(`pgbouncer did not start: ${(e as Error).message.split('\n')[0]}`);
        log((e as Error).message);
      }
    }
    let broker: BrokerProcess | undefined;
    if (opts.paths.includes('dbwarden')) {
      try {
        const b = await startBrokerProcess(children, { repoDir: REPO, workDir, upstream: { ...PG, ...ROLE }, rulesets: opts.rulesets,
          nodeArgs: opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [],
        });
        const grant = await requestGrant(b.adminUrl, b.token, PG.database);
        broker = b;
        endpoints.dbwarden = { port: b.pgPort, user: grant.login, password: grant.password };
        log(`broker pid ${b.pid} on 127.0.0.1:${b.pgPort}, grant ${grant.grantId} as ${grant.login}`);
      } catch (e) {
        report.notes.push(`dbwarden path skipped: ${(e as Error).message.split('\n')[0]}`);
        log(`dbwarden path skipped: ${(e as Error).message}`);
      }
    }
    const active = PATHS.filter((p) => endpoints[p]);
    if (active.length === 0) throw new Error('no path to benchmark');

    const envFor = (ep: Endpoint): NodeJS.ProcessEnv => ({
      ...process.env,
      PGSSLMODE: 'disable',
      PGCONNECT_TIMEOUT: '10',
      ...(ep.password ? { PGPASSWORD: ep.password } : {}),
    });
    const conn = (ep: Endpoint) => ['-h', PG.host, '-p', String(ep.port), '-U', ep.user];

    const pgbench = async (p: PathName, mode: string, clients: number, jobs: number, seconds: number) => {
      const ep = endpoints[p]!;
      const args = ['-n', '-S', '-T', String(seconds), '-M', mode, '-c', String(clients), '-j', String(jobs), ...conn(ep), PG.database];
      const r = await children.run('pgbench', args, { env: envFor(ep), timeoutMs: seconds * 1000 + 60_000 });
      if (r.code !== 0) throw new Error((r.stderr.trim().split('\n').filter((l) => !/^pgbench \(/.test(l)).slice(-3).join(' / ') || `exit ${r.code ?? r.signal}`).slice(0, 400));
      const s = parsePgbenchOutput(r.stdout);
      if (s.failed > 0) throw new Error(`${s.failed} failed transactions`);
      return s;
    };

    // Warm-up: caches, the broker's JIT and its statement cache, so round 1 is not special.
    log(`warm-up on ${active.join(', ')}`);
    for (const p of active) {
      for (const mode of opts.modes) await pgbench(p, mode, Math.min(4, Math.max(...opts.clients)), 1, 1).catch(() => undefined);
    }

    const proxies: { path: PathName; name: RssRow['process']; pid: number | undefined }[] = [
      { path: 'dbwarden', name: 'dbwarden', pid: broker?.pid },
      { path: 'pgbouncer', name: 'pgbouncer', pid: bouncer?.pid },
    ];
    const proxyPid = (p: PathName) => proxies.find((x) => x.path === p)?.pid;

    const nproc = availableParallelism();
    for (const mode of opts.modes) {
      for (const clients of opts.clients) {
        const jobs = Math.min(clients, nproc);
        const row: PgbenchRow = { mode, clients, jobs, cells: {} };
        report.pgbench.push(row);
        for (let round = 1; round <= opts.rounds; round++) {
          for (const p of active) {
            const cell = (row.cells[p] ??= { runs: [] });
            if (cell.error) continue;
            try {
              const pid = proxyPid(p);
              const cpuBefore = pid ? readCpuMs(pid) : undefined;
              const s = await pgbench(p, mode, clients, jobs, opts.seconds);
              const cpuAfter = pid ? readCpuMs(pid) : undefined;
              const proxyCpuUs = cpuBefore !== undefined && cpuAfter !== undefined && s.transactions > 0 ? ((cpuAfter - cpuBefore) * 1000) / s.transactions : undefined;
              cell.runs.push({ tps: s.tps, latencyMs: s.latencyMs, proxyCpuUs });
              const cpuText = proxyCpuUs === undefined ? '' : `  ${proxyCpuUs.toFixed(1)} µs CPU/tx`;
              log(`round ${round} -M ${mode} -c ${clients}: ${p.padEnd(9)} ${s.tps.toFixed(0).padStart(7)} tps  ${s.latencyMs.toFixed(3)} ms${cpuText}`);
            } catch (e) {
              cell.error = (e as Error).message;
              log(`round ${round} -M ${mode} -c ${clients}: ${p} failed: ${cell.error}`);
            }
          }
        }
      }
    }

    const bytes = bigTableTextBytes(opts.rows);
    const tests = opts.throughput
      ? [
          { test: 'COPY big TO STDOUT', sql: 'COPY big TO STDOUT' },
          { test: 'SELECT * FROM big', sql: 'SELECT * FROM big' },
        ]
      : [];
    // One full scan before timing so every path reads a warm cache.
    if (opts.throughput) await children.run('psql', ['-X', '-h', PG.host, '-p', String(PG.port), '-U', PG.adminUser, '-d', PG.database, '-Atc', 'select count(*) from big']);
    for (const t of tests) {
      const row: ThroughputRow = { test: t.test, rows: opts.rows, bytes, cells: {} };
      report.throughput.push(row);
      const windows = new Map<PathName, RssWindow[]>();
      for (let round = 1; round <= opts.throughputRounds; round++) {
        for (const p of active) {
          const cell = (row.cells[p] ??= { runs: [] });
          if (cell.error) continue;
          const ep = endpoints[p]!;
          const pid = proxyPid(p);
          const sampler = pid ? sampleRss(pid) : undefined;
          // psql keeps a plain SELECT's whole result in its own memory; -At keeps its formatting cost small.
          const r = await children.run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', ...conn(ep), '-d', PG.database, '-c', t.sql], {
            env: envFor(ep),
            discardStdout: true,
            timeoutMs: 300_000,
          });
          if (sampler) windows.set(p, [...(windows.get(p) ?? []), sampler.stop()]);
          if (r.code !== 0) {
            cell.error = r.stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 400) || `exit ${r.code ?? r.signal}`;
            log(`${t.test} via ${p} failed: ${cell.error}`);
            continue;
          }
          cell.runs.push(r.ms / 1000);
          log(`round ${round} ${t.test}: ${p.padEnd(9)} ${(r.ms / 1000).toFixed(2)} s`);
        }
      }
      for (const x of proxies) {
        const w = windows.get(x.path);
        if (!w?.length) continue;
        const peaks = w.map((v) => v.peakKb).filter((v): v is number => v !== undefined);
        report.rss.push({ test: t.test, process: x.name, beforeKb: w[0]!.beforeKb, peakKb: peaks.length ? Math.max(...peaks) : undefined });
      }
    }

    if (broker) report.notes.push(...(await brokerCounters(broker.adminUrl)));
    report.notes.push(
      `paths: direct = PostgreSQL 127.0.0.1:${PG.port}; dbwarden = \`dbwarden serve\`, rule sets ${opts.rulesets.join(', ') || 'none'}, a write grant mapped to role ${ROLE.user}; pgbouncer = pool_mode session, auth_type trust. All plaintext (sslmode=disable, broker tls.clients: disable, upstream tls: disable).`,
      `pgbench runs: ${opts.seconds} s each, ${opts.rounds} rounds interleaved (direct, dbwarden, pgbouncer, direct, …) per row, -n -S, scale 10; ` +
        (opts.throughput ? `throughput: ${opts.throughputRounds} round(s), table of ${opts.rows.toLocaleString('en-US')} rows (${(bytes / 1e6).toFixed(0)} MB as text).` : 'throughput: skipped.'),
      `everything (PostgreSQL, the proxy, pgbench/psql) shares the same ${availableParallelism()} CPUs, so a proxy's CPU use is taken from the server and the client too; the ratios are for this machine.`,
      `total run time ${((Date.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
    );
    // Other work on the machine moves every figure; say so next to them rather than let them pass as clean.
    if (Math.max(loadAtStart, loadavg()[0]!) > availableParallelism()) {
      report.notes.push(`the machine was busy with other work during this run (load average above nproc): figures vary between rounds by more than usual; see the per-round figures below and rerun on an idle machine.`);
    }

    process.stdout.write(`\n${renderText(report)}\n`);
    if (opts.writeResults) {
      const file = join(REPO, 'bench', 'RESULTS.md');
      const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# dbwarden benchmark results\n';
      writeFileSync(file, replaceFigures(existing, renderMarkdown(report)));
      log(`wrote ${file}`);
    }
    return 0;
  } finally {
    if (!stopping) await cleanup();
  }
}

/** Statement-cache and decision counters from /metrics: shows that the measured path really went through the rules. */
async function brokerCounters(adminUrl: string): Promise<string[]> {
  try {
    const text = await (await fetch(`${adminUrl}/metrics`)).text();
    const sum = (name: string) =>
      text
        .split('\n')
        .filter((l) => l.startsWith(name) && !l.startsWith('#'))
        .reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const actions = text
      .split('\n')
      .filter((l) => l.startsWith('dbwarden_statements_total{'))
      .map((l) => `${/action="([^"]*)"/.exec(l)?.[1] ?? '?'} ${Number(l.slice(l.lastIndexOf(' ') + 1)).toLocaleString('en-US')}`);
    return [
      `broker counters after the run: statements ${actions.join(', ') || 'none recorded'}; statement cache hits ${sum('dbwarden_statement_cache_hits_total').toLocaleString('en-US')}, misses ${sum('dbwarden_statement_cache_misses_total').toLocaleString('en-US')}.`,
    ];
  } catch (e) {
    return [`broker /metrics unreadable: ${(e as Error).message}`];
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    log(`failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  },
);
