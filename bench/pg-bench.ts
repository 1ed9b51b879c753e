// Benchmark: pgbench and 3-million-row streaming through dbwarden, side by side with direct PostgreSQL and pgbouncer.
// Usage: npm run build && npx tsx bench/pg-bench.ts [--quick] (see bench/README.md for every option).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBouncerProcess, PGBOUNCER_BIN } from './lib/bouncer-process.js';
import { brokerEntry, requestGrant, startBrokerProcess } from './lib/broker-process.js';
import { ChildSet } from './lib/children.js';
import { readCpuMs } from './lib/cpu-time.js';
import { bigTableTextBytes, prepareDataset } from './lib/dataset.js';
import { HELP, parseOptions, type BenchOptions } from './lib/options.js';
import { parsePgbenchOutput, type PgbenchSummary } from './lib/pgbench-output.js';
import { renderMarkdown, renderText, replaceFigures } from './lib/report.js';
import { PATHS, type BenchReport, type PathName, type PgbenchRow, type ThroughputRow } from './lib/results.js';
import { sampleRss, type RssWindow } from './lib/rss.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PG = { host: '127.0.0.1', port: 5432, adminUser: 'postgres', database: 'dbw_bench' };
const ROLE = { user: 'dbw_bench_rw', password: 'dbw_bench_rw_secret' };
const PGBENCH_SCALE = 10;

interface Endpoint {
  port: number;
  user: string;
  password?: string;
  /** the proxy process in front of PostgreSQL, for CPU and memory readings */
  pid?: number;
}

interface Bench {
  opts: BenchOptions;
  children: ChildSet;
  report: BenchReport;
  endpoints: Partial<Record<PathName, Endpoint>>;
  brokerAdminUrl?: string;
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const firstLine = (e: unknown) => (e as Error).message.split('\n')[0]!;

function tryRun(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** A stale dist/ would benchmark an older broker; warn rather than build, since a build costs ~20 s. */
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
  let entry = 'dist/ not built';
  try {
    entry = brokerEntry(REPO).slice(REPO.length + 1);
  } catch {
    // reported when the broker path is skipped
  }
  return [
    ['command', `\`${command}\``],
    ['date', new Date().toISOString()],
    ['machine', `nproc ${tryRun('nproc', [])}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, 1-minute load average ${loadavg()[0]!.toFixed(1)} at the start`],
    ['node', process.version],
    ['PostgreSQL', tryRun('psql', ['-X', '-h', PG.host, '-p', String(PG.port), '-U', PG.adminUser, '-d', 'postgres', '-Atc', 'select version()'])],
    ['pgbench', tryRun('pgbench', ['--version'])],
    ['pgbouncer', tryRun(PGBOUNCER_BIN, ['--version']).split('\n')[0] ?? 'unknown'],
    ['dbwarden', `commit ${commit}${dirty}, \`node ${entry} serve\``],
  ];
}

/** Starts pgbouncer and the broker; a proxy that fails to start is left out with the reason in the notes. */
async function startPaths(b: Bench, workDir: string): Promise<void> {
  const { opts, children, report, endpoints } = b;
  if (opts.paths.includes('direct')) endpoints.direct = { port: PG.port, user: ROLE.user };
  if (opts.paths.includes('pgbouncer')) {
    try {
      const bouncer = await startBouncerProcess(children, { workDir, upstream: { ...PG, user: ROLE.user }, maxClients: Math.max(...opts.clients) });
      endpoints.pgbouncer = { port: bouncer.port, user: ROLE.user, pid: bouncer.pid };
    } catch (e) {
      report.notes.push(`pgbouncer did not start: ${firstLine(e)}`);
      log((e as Error).message);
    }
  }
  if (opts.paths.includes('dbwarden')) {
    try {
      const broker = await startBrokerProcess(children, {
        repoDir: REPO,
        workDir,
        upstream: { ...PG, ...ROLE },
        rulesets: opts.rulesets,
        nodeArgs: opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : [],
      });
      const grant = await requestGrant(broker.adminUrl, broker.token, PG.database);
      endpoints.dbwarden = { port: broker.pgPort, user: grant.login, password: grant.password, pid: broker.pid };
      b.brokerAdminUrl = broker.adminUrl;
      log(`broker pid ${broker.pid} on 127.0.0.1:${broker.pgPort}, grant ${grant.grantId} as ${grant.login}`);
    } catch (e) {
      report.notes.push(`dbwarden path skipped: ${firstLine(e)}`);
      log(`dbwarden path skipped: ${(e as Error).message}`);
    }
  }
}

// Explicit -h/-p/-U and sslmode=disable everywhere: the comparison is plaintext TCP against plaintext TCP.
function clientEnv(ep: Endpoint): NodeJS.ProcessEnv {
  return { ...process.env, PGSSLMODE: 'disable', PGCONNECT_TIMEOUT: '10', ...(ep.password ? { PGPASSWORD: ep.password } : {}) };
}
const connArgs = (ep: Endpoint) => ['-h', PG.host, '-p', String(ep.port), '-U', ep.user];

async function pgbench(b: Bench, ep: Endpoint, mode: string, clients: number, jobs: number, seconds: number): Promise<PgbenchSummary> {
  const args = ['-n', '-S', '-T', String(seconds), '-M', mode, '-c', String(clients), '-j', String(jobs), ...connArgs(ep), PG.database];
  const r = await b.children.run('pgbench', args, { env: clientEnv(ep), timeoutMs: seconds * 1000 + 60_000 });
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').filter((l) => !l.startsWith('pgbench (')).slice(-3).join(' / ');
    throw new Error((why || `exit ${r.code ?? r.signal}`).slice(0, 400));
  }
  const s = parsePgbenchOutput(r.stdout);
  if (s.failed > 0) throw new Error(`${s.failed} failed transactions`);
  return s;
}

/** pgbench -S for every mode and client count, paths interleaved within each round so drift hits all alike. */
async function measurePgbench(b: Bench, active: PathName[]): Promise<void> {
  const { opts, report, endpoints } = b;
  // Warm-up: shared buffers, the broker's JIT and statement cache, so round 1 is not special.
  log(`warm-up on ${active.join(', ')}`);
  for (const p of active) {
    for (const mode of opts.modes) await pgbench(b, endpoints[p]!, mode, Math.min(4, Math.max(...opts.clients)), 1, 1).catch(() => undefined);
  }
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
          const ep = endpoints[p]!;
          const label = `round ${round} -M ${mode} -c ${clients}: ${p.padEnd(9)}`;
          try {
            const cpuBefore = ep.pid ? readCpuMs(ep.pid) : undefined;
            const s = await pgbench(b, ep, mode, clients, jobs, opts.seconds);
            const cpuAfter = ep.pid ? readCpuMs(ep.pid) : undefined;
            const proxyCpuUs = cpuBefore !== undefined && cpuAfter !== undefined && s.transactions > 0 ? ((cpuAfter - cpuBefore) * 1000) / s.transactions : undefined;
            cell.runs.push({ tps: s.tps, latencyMs: s.latencyMs, proxyCpuUs });
            log(`${label} ${s.tps.toFixed(0).padStart(7)} tps  ${s.latencyMs.toFixed(3)} ms${proxyCpuUs === undefined ? '' : `  ${proxyCpuUs.toFixed(1)} µs CPU/tx`}`);
          } catch (e) {
            cell.error = (e as Error).message;
            log(`${label} failed: ${cell.error}`);
          }
        }
      }
    }
  }
}

/** COPY and a plain SELECT of the big table per path, timing psql and sampling the proxy's RSS meanwhile. */
async function measureThroughput(b: Bench, active: PathName[]): Promise<void> {
  const { opts, report, endpoints, children } = b;
  const bytes = bigTableTextBytes(opts.rows);
  // One full scan before timing so every path reads a warm cache.
  await children.run('psql', ['-X', ...connArgs({ port: PG.port, user: PG.adminUser }), '-d', PG.database, '-Atc', 'select count(*) from big']);
  for (const sql of ['COPY big TO STDOUT', 'SELECT * FROM big']) {
    const row: ThroughputRow = { test: sql, rows: opts.rows, bytes, cells: {} };
    report.throughput.push(row);
    const windows = new Map<PathName, RssWindow[]>();
    for (let round = 1; round <= opts.throughputRounds; round++) {
      for (const p of active) {
        const cell = (row.cells[p] ??= { runs: [] });
        if (cell.error) continue;
        const ep = endpoints[p]!;
        const sampler = ep.pid ? sampleRss(ep.pid) : undefined;
        // psql keeps a plain SELECT's whole result in its own memory (not the proxy's); -At keeps formatting cheap.
        const r = await children.run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', ...connArgs(ep), '-d', PG.database, '-c', sql], {
          env: clientEnv(ep),
          discardStdout: true,
          timeoutMs: 300_000,
        });
        if (sampler) windows.set(p, [...(windows.get(p) ?? []), sampler.stop()]);
        if (r.code !== 0) {
          cell.error = r.stderr.trim().split('\n').slice(-2).join(' / ').slice(0, 400) || `exit ${r.code ?? r.signal}`;
          log(`${sql} via ${p} failed: ${cell.error}`);
          continue;
        }
        cell.runs.push(r.ms / 1000);
        log(`round ${round} ${sql}: ${p.padEnd(9)} ${(r.ms / 1000).toFixed(2)} s`);
      }
    }
    for (const p of ['dbwarden', 'pgbouncer'] as const) {
      const w = windows.get(p);
      if (!w?.length) continue;
      const peaks = w.map((v) => v.peakKb).filter((v): v is number => v !== undefined);
      report.rss.push({ test: sql, process: p, beforeKb: w[0]!.beforeKb, peakKb: peaks.length ? Math.max(...peaks) : undefined });
    }
  }
}

/** Statement-cache and decision counters from /metrics: shows that the measured path really went through the rules. */
async function brokerCounters(adminUrl: string): Promise<string> {
  try {
    const lines = (await (await fetch(`${adminUrl}/metrics`)).text()).split('\n');
    const value = (l: string) => Number(l.slice(l.lastIndexOf(' ') + 1));
    const sum = (name: string) => lines.filter((l) => l.startsWith(name)).reduce((s, l) => s + value(l), 0);
    const actions = lines
      .filter((l) => l.startsWith('dbwarden_statements_total{'))
      .map((l) => `${/action="([^"]*)"/.exec(l)?.[1] ?? '?'} ${value(l).toLocaleString('en-US')}`);
    return (
      `broker counters after the run: statements ${actions.join(', ') || 'none recorded'}; statement cache hits ` +
      `${sum('dbwarden_statement_cache_hits_total').toLocaleString('en-US')}, misses ${sum('dbwarden_statement_cache_misses_total').toLocaleString('en-US')}.`
    );
  } catch (e) {
    return `broker /metrics unreadable: ${(e as Error).message}`;
  }
}

async function addNotes(b: Bench, started: number, loadAtStart: number): Promise<void> {
  const { opts, report } = b;
  if (b.brokerAdminUrl) report.notes.push(await brokerCounters(b.brokerAdminUrl));
  const loadAtEnd = loadavg()[0]!;
  report.notes.push(
    `paths: direct = PostgreSQL ${PG.host}:${PG.port}; dbwarden = \`dbwarden serve\`, rule sets ${opts.rulesets.join(', ') || 'none'}, a write grant mapped to role ${ROLE.user}; ` +
      `pgbouncer = pool_mode session, auth_type trust. All plaintext (sslmode=disable, broker tls.clients: disable, upstream tls: disable).`,
    `pgbench: ${opts.seconds} s per run, ${opts.rounds} rounds per row interleaved (direct, dbwarden, pgbouncer, direct, …), -n -S, scale ${PGBENCH_SCALE}; ` +
      (opts.throughput
        ? `streaming: ${opts.throughputRounds} round(s), ${opts.rows.toLocaleString('en-US')} rows (${(bigTableTextBytes(opts.rows) / 1e6).toFixed(0)} MB as text).`
        : 'streaming: skipped.'),
    `PostgreSQL, the proxy and pgbench/psql share the same ${availableParallelism()} CPUs, so a proxy's CPU time is taken from the server and the client; the ratios hold for this machine.`,
    `total run time ${((Date.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end.`,
  );
  // Other work on the machine moves every figure; say so next to them rather than let them pass as clean.
  if (Math.max(loadAtStart, loadAtEnd) > availableParallelism()) {
    report.notes.push('the machine was busy with other work during this run (load average above nproc): TPS and times vary between rounds more than usual (see the per-round figures); CPU µs/tx is the steadier figure. Rerun on an idle machine for clean ratios.');
  }
}

async function main(): Promise<number> {
  let opts: BenchOptions;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (opts.help) {
    process.stdout.write(HELP);
    return 0;
  }
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
    const b: Bench = { opts, children, endpoints: {}, report: { facts: machineFacts(command), pgbench: [], throughput: [], rss: [], notes: [] } };
    await prepareDataset(children, { ...PG, scale: PGBENCH_SCALE, bigRows: opts.rows, role: ROLE, fresh: opts.fresh, log });
    await startPaths(b, workDir);
    const active = PATHS.filter((p) => b.endpoints[p]);
    if (active.length === 0) throw new Error('no path to benchmark');

    await measurePgbench(b, active);
    if (opts.throughput) await measureThroughput(b, active);
    await addNotes(b, started, loadAtStart);

    process.stdout.write(`\n${renderText(b.report)}\n`);
    if (opts.writeResults) {
      const file = join(REPO, 'bench', 'RESULTS.md');
      const existing = existsSync(file) ? readFileSync(file, 'utf8') : '# dbwarden benchmark results\n';
      writeFileSync(file, replaceFigures(existing, renderMarkdown(b.report)));
      log(`wrote ${file}`);
    }
    return 0;
  } finally {
    if (!stopping) await cleanup();
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
