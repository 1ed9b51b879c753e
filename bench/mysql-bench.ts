// Benchmark: sysbench oltp_point_select and oltp_read_only through dbwarden's MySQL listener, side by side with MariaDB directly.
// Usage: npm run build && npx tsx bench/mysql-bench.ts [--quick] (see bench/README.md for every option).
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ChildSet } from './lib/children.js';
import { brokerRow, busyMachineNote, machineRows, runBench, tryRun, warnIfStaleBuild } from './lib/run-bench.js';
import { readCpuMs } from './lib/cpu-time.js';
import { AuditCounter, verifyTrail } from './lib/audit-gate.js';
import { startRelayProcess } from './lib/relay-process.js';
import { checkStatement, requestReadGrant, startMysqlBrokerProcess } from './lib/mysql-broker.js';
import { prepareMysqlDataset, sysbenchConnArgs, sysbenchTableArgs } from './lib/mysql-dataset.js';
import { MYSQL_HELP, parseMysqlOptions, type MysqlBenchOptions } from './lib/mysql-options.js';
import { renderMysqlMarkdown, renderMysqlText, replaceMysqlSection } from './lib/mysql-report.js';
import { MYSQL_PATHS, type MysqlBenchReport, type MysqlPathName, type PsMode, type StatementCheck, type SysbenchRow, type SysbenchTest } from './lib/mysql-results.js';
import { parseSysbenchFailure, parseSysbenchOutput, type SysbenchSummary } from './lib/sysbench-output.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MY = { host: '127.0.0.1', port: 3306, adminUser: 'root', database: 'dbw_sysbench' };
const ROLE = { user: 'dbw_sysbench_ro', password: 'dbw_sysbench_ro_secret' };
const DATA = { tables: 4, tableSize: 10_000 };

/** The statements sysbench 1.0's oltp_common.lua prepares for the two read-only tests (sbtest1 stands for any table). */
const SYSBENCH_STATEMENTS = [
  'BEGIN',
  'SELECT c FROM sbtest1 WHERE id=?',
  'SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ?',
  'SELECT SUM(k) FROM sbtest1 WHERE id BETWEEN ? AND ?',
  'SELECT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c',
  'SELECT DISTINCT c FROM sbtest1 WHERE id BETWEEN ? AND ? ORDER BY c',
  'COMMIT',
];

interface Endpoint {
  port: number;
  user: string;
  password: string;
  /** the broker process, for CPU readings */
  pid?: number;
}

interface Bench {
  opts: MysqlBenchOptions;
  children: ChildSet;
  report: MysqlBenchReport;
  endpoints: Partial<Record<MysqlPathName, Endpoint>>;
  broker?: { adminUrl: string; token: string };
  /** the broker's audit trail: statement events per run are counted against the statements sent */
  audit?: AuditCounter;
}

const log = (line: string) => process.stderr.write(`[mysql-bench] ${line}\n`);
const firstLine = (e: unknown) => (e as Error).message.split('\n')[0]!;

function machineFacts(command: string, serverVersion: string): [string, string][] {
  return [
    ...machineRows(command),
    ['server', `${serverVersion} on ${MY.host}:${MY.port}`],
    ['sysbench', tryRun('sysbench', ['--version'])],
    brokerRow(REPO),
  ];
}

/** The broker and its grant; when either fails the run continues with the direct path and says why. */
async function startPaths(b: Bench, workDir: string): Promise<void> {
  const { opts, children, report, endpoints } = b;
  if (opts.paths.includes('direct')) endpoints.direct = { port: MY.port, ...ROLE };
  if (opts.paths.includes('relay')) {
    const relay = await startRelayProcess(children, MY, process.env.BENCH_RELAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []);
    endpoints.relay = { port: relay.port, ...ROLE, pid: relay.pid };
    log(`relay pid ${relay.pid} on 127.0.0.1:${relay.port}`);
  }
  if (!opts.paths.includes('dbwarden')) return;
  try {
    const broker = await startMysqlBrokerProcess(children, {
      repoDir: REPO,
      workDir,
      upstream: { host: MY.host, port: MY.port, database: MY.database, ...ROLE },
      rulesets: opts.rulesets,
      nodeArgs: opts.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfDir] : (process.env.BENCH_BROKER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
    });
    b.broker = { adminUrl: broker.adminUrl, token: broker.token };
    b.audit = new AuditCounter(join(workDir, 'state', 'audit.jsonl'));
    const grant = await requestReadGrant(broker.adminUrl, broker.token, MY.database);
    // The grant's temporary login and password are what sysbench presents to the broker.
    endpoints.dbwarden = { port: broker.mysqlPort, user: grant.login, password: grant.password, pid: broker.pid };
    log(`broker pid ${broker.pid} on 127.0.0.1:${broker.mysqlPort}, read grant ${grant.grantId} as ${grant.login}`);
  } catch (e) {
    report.notes.push(`dbwarden path skipped: ${firstLine(e)}`);
    log(`dbwarden path skipped: ${(e as Error).message}`);
  }
}

/** Asks the broker how its rules judge each statement shape, as text (values inlined) and as prepared. */
async function checkStatements(b: Bench): Promise<void> {
  if (!b.broker) return;
  const { adminUrl, token } = b.broker;
  for (const sql of SYSBENCH_STATEMENTS) {
    let n = 5000;
    const text = sql.replace(/\?/g, () => String(n++));
    try {
      const [asText, asPrepared] = await Promise.all([checkStatement(adminUrl, token, text), checkStatement(adminUrl, token, sql)]);
      const check: StatementCheck = { sql, textAction: asText.action, preparedAction: asPrepared.action, rules: [...new Set([...asText.rules, ...asPrepared.rules])] };
      b.report.checks.push(check);
    } catch (e) {
      b.report.notes.push(`rules check of \`${sql}\` failed: ${firstLine(e)}`);
    }
  }
  const stopped = b.report.checks.filter((c) => ['block', 'review'].includes(c.textAction) || ['block', 'review'].includes(c.preparedAction));
  b.report.notes.push(
    stopped.length
      ? `the rules stop ${stopped.length} of sysbench's statements: ${stopped.map((c) => `\`${c.sql}\` (${c.textAction} as text, ${c.preparedAction} as prepared; ${c.rules.join(', ')})`).join('; ')}. The rules were left as they are.`
      : `the rules (${b.opts.rulesets.join(', ') || 'none'}) block none of the statements sysbench sends: every one is a plain SELECT or BEGIN/COMMIT under a read grant.`,
  );
}

async function sysbench(b: Bench, ep: Endpoint, test: SysbenchTest, psMode: PsMode, threads: number, seconds: number): Promise<SysbenchSummary> {
  const args = [
    test,
    ...sysbenchTableArgs(DATA),
    ...sysbenchConnArgs({ host: MY.host, port: ep.port, user: ep.user, password: ep.password, database: MY.database }),
    `--db-ps-mode=${psMode}`,
    `--threads=${threads}`,
    `--time=${seconds}`,
    '--events=0',
    '--percentile=95',
    'run',
  ];
  const r = await b.children.run('sysbench', args, { timeoutMs: seconds * 1000 + 60_000 });
  if (r.code !== 0) {
    const f = parseSysbenchFailure(`${r.stdout}\n${r.stderr}`);
    throw new Error((f?.message ?? (r.stderr.trim().split('\n').slice(-3).join(' / ') || `exit ${r.code ?? r.signal}`)).slice(0, 400));
  }
  return parseSysbenchOutput(r.stdout);
}

/** Every test × ps-mode × thread count, paths interleaved within each round so drift hits both alike. */
async function measure(b: Bench, active: MysqlPathName[]): Promise<void> {
  const { opts, report, endpoints } = b;
  // Warm-up: InnoDB buffer pool, the broker's JIT and statement cache, so round 1 is not special.
  // Every test, ps-mode and thread count for --warmup seconds: the proxies' optimising compiler is done before round 1.
  log(`warm-up on ${active.join(', ')}`);
  for (const p of active) {
    for (const mode of opts.psModes) for (const test of opts.tests) for (const t of opts.threads) await sysbench(b, endpoints[p]!, test, mode, t, opts.warmup).catch(() => undefined);
  }
  log('measuring');
  for (const test of opts.tests) {
    for (const psMode of opts.psModes) {
      for (const threads of opts.threads) {
        const row: SysbenchRow = { test, psMode, threads, cells: {} };
        report.rows.push(row);
        for (let round = 1; round <= opts.rounds; round++) {
          for (const p of active) {
            const cell = (row.cells[p] ??= { runs: [] });
            if (cell.error) continue;
            const ep = endpoints[p]!;
            const label = `round ${round} ${test} ps=${psMode} threads=${threads}: ${p.padEnd(8)}`;
            try {
              const gate = p === 'dbwarden' ? b.audit : undefined;
              gate?.take();
              const cpuBefore = ep.pid ? readCpuMs(ep.pid) : undefined;
              const s = await sysbench(b, ep, test, psMode, threads, opts.seconds);
              const cpuAfter = ep.pid ? readCpuMs(ep.pid) : undefined;
              const proxyCpuUsPerQuery = cpuBefore !== undefined && cpuAfter !== undefined && s.queries > 0 ? ((cpuAfter - cpuBefore) * 1000) / s.queries : undefined;
              const audited = gate ? await settledCount(gate) : undefined;
              cell.runs.push({ tps: s.tps, qps: s.qps, latencyMs: s.latencyMs, proxyCpuUsPerQuery, audited, sent: gate ? s.queries : undefined });
              // correctness gate (text mode): every statement sysbench counted has its audit event; the connection's
              // own statements come on top (at most a few per thread)
              if (audited !== undefined && psMode === 'disable' && (audited < s.queries || audited > s.queries + 8 * threads)) {
                throw new Error(`audit gate: ${audited} statement events for ${s.queries} statements sent`);
              }
              if (s.ignoredErrors > 0 || s.reconnects > 0) report.notes.push(`${label.trim()}: ${s.ignoredErrors} ignored errors, ${s.reconnects} reconnects`);
              log(`${label} ${s.tps.toFixed(0).padStart(6)} tps ${s.qps.toFixed(0).padStart(7)} qps  ${s.latencyMs.toFixed(2)} ms${proxyCpuUsPerQuery === undefined ? '' : `  ${proxyCpuUsPerQuery.toFixed(1)} µs CPU/query`}`);
            } catch (e) {
              cell.error = (e as Error).message;
              log(`${label} failed: ${cell.error}`);
            }
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

/** Decision and cache counters from /metrics: shows that the measured statements really went through the rules. */
async function brokerCounters(adminUrl: string): Promise<string> {
  try {
    const lines = (await (await fetch(`${adminUrl}/metrics`)).text()).split('\n');
    const value = (l: string) => Number(l.slice(l.lastIndexOf(' ') + 1));
    const sum = (name: string) => lines.filter((l) => l.startsWith(name)).reduce((s, l) => s + value(l), 0);
    const actions = lines
      .filter((l) => l.startsWith('dbwarden_statements_total{') && l.includes('protocol="mysql"'))
      .map((l) => `${/action="([^"]*)"/.exec(l)?.[1] ?? '?'} ${value(l).toLocaleString('en-US')}`);
    return (
      `broker counters after the run: MySQL statements ${actions.join(', ') || 'none recorded'}; statement cache hits ` +
      `${sum('dbwarden_statement_cache_hits_total').toLocaleString('en-US')}, misses ${sum('dbwarden_statement_cache_misses_total').toLocaleString('en-US')} ` +
      '(decisions count COM_QUERY texts and COM_STMT_PREPAREs; a COM_STMT_EXECUTE runs under the decision its statement got when prepared, so executions add nothing here).'
    );
  } catch (e) {
    return `broker /metrics unreadable: ${(e as Error).message}`;
  }
}

async function addNotes(b: Bench, started: number, loadAtStart: number): Promise<void> {
  const { opts, report } = b;
  if (b.broker) report.notes.push(await brokerCounters(b.broker.adminUrl));
  const blocked = report.rows.flatMap((row) => Object.entries(row.cells).filter(([, c]) => c?.error && /error 1227\b/.test(c.error)).map(([p, c]) => `${row.test} ps-mode=${row.psMode} via ${p}: ${c!.error}`));
  if (blocked.length) report.notes.push(`sysbench stopped on a broker refusal (errno 1227): ${[...new Set(blocked)].join('; ')}`);
  const loadAtEnd = loadavg()[0]!;
  report.notes.push(
    `paths: direct = MariaDB ${MY.host}:${MY.port} as role ${ROLE.user} (mysql_native_password, SELECT on ${MY.database}); dbwarden = \`dbwarden serve\` with a MySQL listener, rule sets ${opts.rulesets.join(', ') || 'none'}, ` +
      `a read grant requested through POST /v1/requests whose login and password sysbench uses, mapped to the same role upstream. All plaintext (broker tls.clients: disable, upstream tls: disable).`,
    `sysbench: ${opts.seconds} s per run (--time), ${opts.rounds} rounds per row interleaved (direct, dbwarden, direct, …) after a ${opts.warmup} s warm-up per path, test, ps-mode and thread count; ` +
      `${DATA.tables} tables of ${DATA.tableSize.toLocaleString('en-US')} rows (\`sysbench oltp_read_only --tables=${DATA.tables} --table-size=${DATA.tableSize} prepare\`), default --rand-type; TPS and latency exclude the logins (made in sysbench's thread_init).`,
    `MariaDB, the broker and sysbench share the same ${availableParallelism()} CPUs, so the broker's CPU time is taken from the server and the client; the ratios hold for this machine.`,
    `total run time ${((Date.now() - started) / 1000).toFixed(0)} s; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end.`,
  );
  const busy = busyMachineNote(loadAtStart, loadAtEnd, 'CPU µs/query');
  if (busy) report.notes.push(busy);
}

runBench<MysqlBenchOptions>({
  script: 'bench/mysql-bench.ts',
  help: MYSQL_HELP,
  parse: parseMysqlOptions,
  log,
  resultsFile: join(REPO, 'bench', 'RESULTS.md'),
  async body({ opts, command, children, workDir, started, loadAtStart }) {
    warnIfStaleBuild(REPO, log);
    const { version } = await prepareMysqlDataset(children, { ...MY, ...DATA, role: ROLE, fresh: opts.fresh, log });
    const b: Bench = { opts, children, endpoints: {}, report: { facts: machineFacts(command, version), rows: [], checks: [], notes: [] } };
    await startPaths(b, workDir);
    const active = MYSQL_PATHS.filter((p) => b.endpoints[p]);
    if (active.length === 0) throw new Error('no path to benchmark');
    await checkStatements(b);
    await measure(b, active);
    if (b.audit) {
      const v = await verifyTrail(children, REPO, b.audit.file);
      b.report.notes.push(`audit gate: \`dbwarden audit verify\` on the broker's trail after the run: ${v.text}`);
      if (!v.ok) log(`AUDIT VERIFY FAILED: ${v.text}`);
    }
    await addNotes(b, started, loadAtStart);
    return { text: renderMysqlText(b.report), updateResults: (existing) => replaceMysqlSection(existing, renderMysqlMarkdown(b.report)) };
  },
});
