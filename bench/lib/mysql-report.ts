// Renders the MySQL sysbench results as console tables and as the "MySQL: sysbench" section of bench/RESULTS.md.
import type { Cell } from './results.js';
import type { MysqlBenchReport, MysqlPathName, SysbenchRun } from './mysql-results.js';
import { fmt, fmtInt, median, ratio } from './stats.js';

export const MYSQL_BEGIN = '<!-- mysql-sysbench:begin (bench/mysql-bench.ts rewrites everything down to mysql-sysbench:end) -->';
export const MYSQL_END = '<!-- mysql-sysbench:end -->';

/** Written once, above the markers, when RESULTS.md has no MySQL section yet; later runs leave it alone. */
export const MYSQL_INTRO = [
  '## MySQL: sysbench',
  '',
  'Figures from `bench/mysql-bench.ts` (how it works: [README.md](README.md#mysql-sysbench)): sysbench',
  '`oltp_point_select` (one primary-key `SELECT` per transaction) and `oltp_read_only` (`BEGIN`, ten point',
  'selects, four range selects, `COMMIT`) against MariaDB reached directly and through dbwarden with a read',
  'grant, in interleaved rounds. `--db-ps-mode=auto` runs them as server-side prepared statements',
  '(COM_STMT_PREPARE once, COM_STMT_EXECUTE per statement); `disable` sends every statement as text',
  '(COM_QUERY with the values inlined, so each is a new text for the broker\'s statement cache).',
].join('\n');

type Table = { head: string[]; rows: string[][] };

const medianOf = (cell: Cell<SysbenchRun> | undefined, pick: (r: SysbenchRun) => number): number | undefined =>
  cell && !cell.error && cell.runs.length ? median(cell.runs.map(pick)) : undefined;

export function sysbenchTable(r: MysqlBenchReport): Table {
  const head = [
    'test', 'ps-mode', 'threads', 'direct QPS', 'relay QPS', 'dbwarden QPS', 'dbwarden/direct', 'dbwarden/relay',
    'relay CPU µs/query', 'dbwarden CPU µs/query', 'dbwarden÷relay CPU', 'dbwarden ms', 'audited/sent',
  ];
  const rows = r.rows.map((row) => {
    const at = (p: MysqlPathName, pick: (x: SysbenchRun) => number) => medianOf(row.cells[p], pick);
    const qps = (p: MysqlPathName) => at(p, (x) => x.qps);
    const cpu = (p: MysqlPathName) => at(p, (x) => x.proxyCpuUsPerQuery ?? Number.NaN);
    const runs = row.cells.dbwarden?.runs ?? [];
    const audited = runs.reduce((s, x) => s + (x.audited ?? 0), 0);
    const sent = runs.reduce((s, x) => s + (x.sent ?? 0), 0);
    return [
      row.test,
      row.psMode,
      String(row.threads),
      fmtInt(qps('direct')),
      fmtInt(qps('relay')),
      fmtInt(qps('dbwarden')),
      fmt(ratio(qps('dbwarden'), qps('direct')), 2),
      fmt(ratio(qps('dbwarden'), qps('relay')), 2),
      fmt(cpu('relay'), 1),
      fmt(cpu('dbwarden'), 1),
      fmt(ratio(cpu('dbwarden'), cpu('relay')), 2),
      fmt(at('dbwarden', (x) => x.latencyMs), 2),
      sent ? `${fmtInt(audited)}/${fmtInt(sent)}` : 'n/a',
    ];
  });
  return { head, rows };
}

export function checksTable(r: MysqlBenchReport): Table {
  return {
    head: ['statement (as prepared)', 'as text', 'as prepared', 'matched rules'],
    rows: r.checks.map((c) => [`\`${c.sql}\``, c.textAction, c.preparedAction, c.rules.join(', ') || 'none']),
  };
}

function errorsOf(r: MysqlBenchReport): string[] {
  const out: string[] = [];
  for (const row of r.rows) {
    for (const [p, c] of Object.entries(row.cells)) if (c?.error) out.push(`${row.test} ps-mode=${row.psMode} threads=${row.threads} via ${p}: ${c.error}`);
  }
  return out;
}

/** Every round's TPS in run order, so the spread behind each median stays visible. */
export function mysqlRoundsLines(r: MysqlBenchReport): string[] {
  return r.rows.map((row) => {
    const per = Object.entries(row.cells).map(([p, c]) => `${p} ${c!.runs.map((x) => Math.round(x.tps)).join(' / ') || 'n/a'}`);
    const cpu = Object.entries(row.cells)
      .filter(([, c]) => c!.runs.some((x) => x.proxyCpuUsPerQuery !== undefined))
      .map(([p, c]) => `${p} ${c!.runs.map((x) => (x.proxyCpuUsPerQuery === undefined ? 'n/a' : x.proxyCpuUsPerQuery.toFixed(1))).join(' / ')}`);
    return `- ${row.test} ps-mode=${row.psMode} threads=${row.threads} TPS: ${per.join('; ')}${cpu.length ? `; CPU µs/query: ${cpu.join('; ')}` : ''}`;
  });
}

export function renderMysqlText(r: MysqlBenchReport): string {
  const align = (t: Table, textCols: number) => {
    const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < textCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    return [line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
  };
  const parts = ['sysbench, median of rounds; dbwarden/direct is the TPS ratio', align(sysbenchTable(r), 3)];
  if (r.checks.length) {
    const t = checksTable(r);
    parts.push('', 'broker decisions for the statements sysbench sends (read grant)', align({ head: t.head, rows: t.rows.map((x) => [x[0]!.replace(/`/g, ''), ...x.slice(1)]) }, 4));
  }
  if (r.notes.length) parts.push('', 'notes:', ...r.notes.map((n) => `  ${n.replace(/`/g, '')}`));
  const errs = errorsOf(r);
  if (errs.length) parts.push('', 'errors:', ...errs.map((e) => `  ${e}`));
  return parts.join('\n');
}

export function renderMysqlMarkdown(r: MysqlBenchReport): string {
  const md = (t: Table, textCols: number) => {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    return [`| ${t.head.join(' | ')} |`, `| ${t.head.map((_, i) => (i < textCols ? '---' : '---:')).join(' | ')} |`, ...t.rows.map((row) => `| ${row.map(esc).join(' | ')} |`)].join('\n');
  };
  const parts = [
    MYSQL_BEGIN,
    '### Latest sysbench figures',
    '',
    ...r.facts.map(([k, v]) => `- **${k}:** ${v}`),
    '',
    'TPS and QPS are sysbench\'s rates; latency is its average per transaction; each figure is the median of the rounds; ratios are QPS ratios (1.00 = as fast). relay = a bare Node `net` pipe (bench/lib/bare-relay.mjs), the floor of any Node proxy; dbwarden÷relay CPU is the goal figure (≤ 1.2). audited/sent: statement events in the audit trail against the statements sysbench counted (text mode: every statement; prepared mode: executions run under the decision of their COM_STMT_PREPARE and add no event). CPU µs/query is the broker process\'s user+system CPU time (from /proc) divided by the statements of the run (BEGIN/COMMIT included): what the broker costs per statement, much less sensitive to other load on the machine than TPS.',
    '',
    md(sysbenchTable(r), 3),
  ];
  if (r.checks.length) {
    parts.push('', '#### What the rules say about sysbench\'s statements', '', 'Decisions of the broker\'s rules (`POST /v1/rules/check`, dialect mysql, read grant) for every statement shape the two tests send.', '', md(checksTable(r), 4));
  }
  parts.push('', '<details><summary>Per-round figures</summary>', '', ...mysqlRoundsLines(r), '', '</details>');
  const errs = errorsOf(r);
  if (r.notes.length || errs.length) parts.push('', '#### Notes', '', ...r.notes.map((n) => `- ${n}`), ...errs.map((e) => `- error: ${e.replace(/\n/g, ' ')}`));
  parts.push('', MYSQL_END);
  return parts.join('\n');
}

/**
 * Replaces the MySQL section of RESULTS.md, keeping everything else (the PostgreSQL figures, the parser
 * table, hand-written text). Without the markers it appends the intro and the section at the end.
 */
export function replaceMysqlSection(existing: string, section: string): string {
  const begin = existing.indexOf(MYSQL_BEGIN);
  const end = existing.indexOf(MYSQL_END);
  if (begin >= 0 && end > begin) return existing.slice(0, begin) + section + existing.slice(end + MYSQL_END.length);
  return `${existing.trimEnd()}\n\n${MYSQL_INTRO}\n\n${section}\n`;
}
