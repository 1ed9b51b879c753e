// Benchmark: pgbench and 3-million-row streaming through dbwarden, side by side with direct PostgreSQL and pgbouncer.
// Usage: npm run build && npx tsx bench/pg-bench.ts [--quick] (see bench/README.md for every option).
import { writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import selfsigned from 'selfsigned';
import { startBouncerProcess, PGBOUNCER_BIN } from './lib/bouncer-process.js';
import { requestGrant, startBrokerProcess } from './lib/broker-process.js';
import { ChildSet } from './lib/children.js';
import { brokerRow, busyMachineNote, machineRows, runBench, tryRun, warnIfStaleBuild } from './lib/run-bench.js';
import { readCpuMs } from './lib/cpu-time.js';
import { AuditCounter, verifyTrail } from './lib/audit-gate.js';
import { startRelayProcess } from './lib/relay-process.js';
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
  /** the client connects with sslmode=require */
  tls?: boolean;
  /** the proxy process in front of PostgreSQL, for CPU and memory readings */
  pid?: number;
}

interface Bench {
  opts: BenchOptions;
  /** the certificate pair of the TLS rows (--tls) */
  tls?: { certFile: string; keyFile: string };
  children: ChildSet;
  report: BenchReport;
  endpoints: Partial<Record<PathName, Endpoint>>;
  brokerAdminUrl?: string;
  /** the broker's audit trail: statement events per run are counted against the statements sent */
  audit?: AuditCounter;
}

/** One self-signed pair for the TLS relay and the broker, so both run the same handshake and cipher. */
async function benchCertificate(workDir: string): Promise<{ certFile: string; keyFile: string }> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'localhost' }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
  const certFile = join(workDir, 'bench.crt');
  const keyFile = join(workDir, 'bench.key');
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private, { mode: 0o600 });
  return { certFile, keyFile };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const firstLine = (e: unknown) => (e as Error).message.split('\n')[0]!;

function machineFacts(command: string): [string, string][] {
  return [
    ...machineRows(command),
    ['PostgreSQL', tryRun('psql', ['-X', '-h', PG.host, '-p', String(PG.port), '-U', PG.adminUser, '-d', 'postgres', '-Atc', 'select version()'])],
    ['pgbench', tryRun('pgbench', ['--version'])],
    ['pgbouncer', tryRun(PGBOUNCER_BIN, ['--version']).split('\n')[0] ?? 'unknown'],
    brokerRow(REPO),
  ];
}

/** Starts pgbouncer and the broker; a proxy that fails to start is left out with the reason in the notes. */
async function startPaths(b: Bench, workDir: string): Promise<void> {
  const { opts, children, report, endpoints } = b;
  if (opts.paths.includes('direct')) endpoints.direct = { port: PG.port, user: ROLE.user };
  if (opts.paths.includes('relay')) {
    const relay = await startRelayProcess(children, PG, process.env.BENCH_RELAY_NODE_ARGS?.split(' ').filter(Boolean) ?? [], b.tls);
    endpoints.relay = { port: relay.port, user: ROLE.user, pid: relay.pid, tls: Boolean(b.tls) };
    log(`relay pid ${relay.pid} on 127.0.0.1:${relay.port}`);
  }
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
        nodeArgs: opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : (process.env.BENCH_BROKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
        clientTls: b.tls,
        upstreamSpares: opts.upstreamSpares,
      });
      const grant = await requestGrant(broker.adminUrl, broker.token, PG.database);
      endpoints.dbwarden = { port: broker.pgPort, user: grant.login, password: grant.password, pid: broker.pid, tls: Boolean(b.tls) };
      b.brokerAdminUrl = broker.adminUrl;
      b.audit = new AuditCounter(join(workDir, 'state', 'audit.jsonl'));
      log(`broker pid ${broker.pid} on 127.0.0.1:${broker.pgPort}, grant ${grant.grantId} as ${grant.login}`);
    } catch (e) {
      report.notes.push(`dbwarden path skipped: ${firstLine(e)}`);
      log(`dbwarden path skipped: ${(e as Error).message}`);
    }
  }
}

// Explicit -h/-p/-U and sslmode=disable everywhere: the comparison is plaintext TCP against plaintext TCP (the TLS
// rows: sslmode=require on the relay and dbwarden paths, both terminating TLS with the same certificate pair).
function clientEnv(ep: Endpoint): NodeJS.ProcessEnv {
  return { ...process.env, PGSSLMODE: ep.tls ? 'require' : 'disable', PGCONNECT_TIMEOUT: '10', ...(ep.password ? { PGPASSWORD: ep.password } : {}) };
}
const connArgs = (ep: Endpoint) => ['-h', PG.host, '-p', String(ep.port), '-U', ep.user];

async function pgbench(b: Bench, ep: Endpoint, mode: string, clients: number, jobs: number, seconds: number): Promise<PgbenchSummary> {
  const protocol = mode === 'connect' ? ['-M', 'simple', '-C'] : ['-M', mode];
  const args = ['-n', '-S', '-T', String(seconds), ...protocol, '-c', String(clients), '-j', String(jobs), ...connArgs(ep), PG.database];
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
  // Warm-up: shared buffers, the proxies' JIT and the broker's statement cache, so round 1 is not special. A proxy's
  // optimising compiler still ran for a fifth of its CPU in the first seconds of a cell after a 1 s warm-up (perf),
  // which a long-running broker does not pay; every mode and client count is run for --warmup seconds.
  log(`warm-up on ${active.join(', ')}`);
  const nproc = availableParallelism();
  for (const p of active) {
    for (const mode of opts.modes) for (const c of opts.clients) await pgbench(b, endpoints[p]!, mode, c, Math.min(c, nproc), opts.warmup).catch(() => undefined);
  }
  log('measuring');
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
            const gate = p === 'dbwarden' ? b.audit : undefined;
            gate?.take();
            const cpuBefore = ep.pid ? readCpuMs(ep.pid) : undefined;
            const s = await pgbench(b, ep, mode, clients, jobs, opts.seconds);
            const cpuAfter = ep.pid ? readCpuMs(ep.pid) : undefined;
            const proxyCpuUs = cpuBefore !== undefined && cpuAfter !== undefined && s.transactions > 0 ? ((cpuAfter - cpuBefore) * 1000) / s.transactions : undefined;
            // correctness gate: one statement event per statement sent (prepared: one Parse per connection, the
            // executions run under that decision); the trail is written before results reach the client. pgbench
            // itself sends 2 statements first on a connection of its own (the scale from pgbench_branches, the
            // partitioning of pgbench_accounts).
            const sent = (mode === 'prepared' ? clients : s.transactions) + 2;
            const audited = gate ? await settledCount(gate) : undefined;
            cell.runs.push({ tps: s.tps, latencyMs: s.latencyMs, proxyCpuUs, audited, sent: gate ? sent : undefined });
            if (audited !== undefined && audited !== sent) throw new Error(`audit gate: ${audited} statement events for ${sent} statements sent`);
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

/** Statement events added since the last count, read again until two reads agree (sessions end asynchronously). */
async function settledCount(gate: AuditCounter): Promise<number> {
  let n = gate.take();
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 100));
    const more = gate.take();
    if (more === 0) return n;
    n += more;
  }
  return n;
}

/** COPY and a plain SELECT of the big table per path, timing psql and sampling the proxy's RSS meanwhile. */
async function measureThroughput(b: Bench, active: PathName[]): Promise<void> {
  const { opts, report, endpoints, children } = b;
  const bytes = bigTableTextBytes(opts.rows);
  // One full scan before timing so every path reads a warm cache.
  await children.run('psql', ['-X', ...connArgs({ port: PG.port, user: PG.adminUser }), '-d', PG.database, '-Atc', 'select count(*) from big']);
  const tests = ['COPY big TO STDOUT', 'SELECT * FROM big', ...(opts.maskedSelect ? ['SELECT * FROM big_masked'] : [])];
  for (const sql of tests) {
    // Untimed warm-up on every path with a sixth of the rows: the proxies' JIT compiles the streaming path (CopyData,
    // DataRow) here, as it has compiled the statement path in the pgbench warm-up; a long-running broker is warm.
    const sample = Math.max(1, Math.floor(opts.rows / 6));
    const warmSql = sql.startsWith('COPY ') ? `COPY (SELECT * FROM big LIMIT ${sample}) TO STDOUT` : `${sql} LIMIT ${sample}`;
    for (const p of active) {
      const ep = endpoints[p]!;
      await children.run('psql', ['-X', '-At', ...connArgs(ep), '-d', PG.database, '-c', warmSql], { env: clientEnv(ep), discardStdout: true, timeoutMs: 300_000 });
    }
    log(`streaming: ${sql}`);
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
    for (const p of ['dbwarden', 'pgbouncer', 'relay'] as const) {
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
    `paths: direct = PostgreSQL ${PG.host}:${PG.port}; dbwarden = \`dbwarden serve\`, rule sets ${opts.rulesets.join(', ') || 'none'}, a write grant mapped to role ${ROLE.user}${opts.upstreamSpares ? `, upstreamSpares ${opts.upstreamSpares} (fresh upstream connections opened ahead for the next login)` : ', upstreamSpares off (the default)'}; ` +
      `pgbouncer = pool_mode session, auth_type trust. ` +
      (b.tls ? 'Client TLS on relay and dbwarden (sslmode=require), plaintext elsewhere and upstream.' : 'All plaintext (sslmode=disable, broker tls.clients: disable, upstream tls: disable).'),
    `pgbench: ${opts.seconds} s per run, ${opts.rounds} rounds per row interleaved (direct, dbwarden, pgbouncer, direct, …) after a ${opts.warmup} s warm-up per path, mode and client count, -n -S, scale ${PGBENCH_SCALE}; ` +
      (opts.throughput
        ? `streaming: ${opts.throughputRounds} round(s) after an untimed warm-up of a sixth of the rows per path, ${opts.rows.toLocaleString('en-US')} rows (${(bigTableTextBytes(opts.rows) / 1e6).toFixed(0)} MB as text).`
        : 'streaming: skipped.'),
    `PostgreSQL, the proxy and pgbench/psql share the same ${availableParallelism()} CPUs, so a proxy's CPU time is taken from the server and the client; the ratios hold for this machine.`,
    `total run time ${((Date.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end.`,
  );
  const busy = busyMachineNote(loadAtStart, loadAtEnd, 'CPU µs/tx');
  if (busy) report.notes.push(busy);
}

runBench<BenchOptions>({
  script: 'bench/pg-bench.ts',
  help: HELP,
  parse: parseOptions,
  log,
  resultsFile: join(REPO, 'bench', 'RESULTS.md'),
  async body({ opts, command, children, workDir, started, loadAtStart }) {
    warnIfStaleBuild(REPO, log);
    const b: Bench = { opts, children, endpoints: {}, report: { facts: machineFacts(command), pgbench: [], throughput: [], rss: [], notes: [] } };
    await prepareDataset(children, { ...PG, scale: PGBENCH_SCALE, bigRows: opts.rows, role: ROLE, fresh: opts.fresh, log });
    if (opts.maskedColumn) {
      // a column the pii-masking rules mask, never selected by pgbench -S: masking is in force on the table
      const r = await children.run('psql', ['-X', ...connArgs({ port: PG.port, user: PG.adminUser }), '-d', PG.database, '-v', 'ON_ERROR_STOP=1', '-c', 'ALTER TABLE pgbench_accounts ADD COLUMN IF NOT EXISTS email text']);
      if (r.code !== 0) throw new Error(`adding the masked column failed: ${r.stderr.trim()}`);
      b.report.notes.push('masked column: pgbench_accounts has a text column `email` (masked by pii-masking\'s mask-email), not selected by the benchmark statements.');
    }
    if (opts.maskedSelect && opts.throughput) {
      // the big table plus a column pii-masking masks: `SELECT * FROM big_masked` selects it, so every row is masked
      const have = await children.run('psql', ['-X', ...connArgs({ port: PG.port, user: PG.adminUser }), '-d', PG.database, '-Atc', "select count(*) from big_masked"]);
      if (have.code !== 0 || Number(have.stdout.trim()) !== opts.rows) {
        log(`creating table big_masked with ${opts.rows.toLocaleString('en-US')} rows`);
        const steps = ['drop table if exists big_masked', `create table big_masked as select id, v, 'user' || id || '@example.com' as email from big`, 'vacuum (analyze, freeze) big_masked', `grant select on big_masked to ${ROLE.user}`];
        for (const sql of steps) {
          const r = await children.run('psql', ['-X', '-q', ...connArgs({ port: PG.port, user: PG.adminUser }), '-d', PG.database, '-v', 'ON_ERROR_STOP=1', '-c', sql]);
          if (r.code !== 0) throw new Error(`creating big_masked failed: ${r.stderr.trim()}`);
        }
      }
      b.report.notes.push('masked select: `SELECT * FROM big_masked` streams the big table plus an `email` column that mask-email masks on every row through dbwarden (in clear on the other paths).');
    }
    if (opts.tls) {
      const { certFile, keyFile } = await benchCertificate(workDir);
      b.tls = { certFile, keyFile };
      b.report.notes.push('TLS rows: the relay and dbwarden paths require client TLS (sslmode=require, one self-signed P-256 certificate for both; the upstream side stays plaintext). direct and pgbouncer are plaintext, for reference only.');
    }
    await startPaths(b, workDir);
    const active = PATHS.filter((p) => b.endpoints[p]);
    if (active.length === 0) throw new Error('no path to benchmark');
    await measurePgbench(b, active);
    if (opts.throughput) await measureThroughput(b, active);
    if (b.audit) {
      const v = await verifyTrail(children, REPO, b.audit.file);
      b.report.notes.push(`audit gate: \`dbwarden audit verify\` on the broker's trail after the run: ${v.text}`);
      if (!v.ok) log(`AUDIT VERIFY FAILED: ${v.text}`);
    }
    await addNotes(b, started, loadAtStart);
    return { text: renderText(b.report), updateResults: (existing) => replaceFigures(existing, renderMarkdown(b.report)) };
  },
});
