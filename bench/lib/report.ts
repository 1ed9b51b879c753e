// Renders benchmark results as an aligned console table and as the markdown figures section of bench/RESULTS.md.
import type { BenchReport, Cell, PathName, PgbenchRun, ThroughputRow } from './results.js';
import { fmt, fmtInt, median, ratio } from './stats.js';

export const FIGURES_BEGIN = '<!-- figures:begin (bench/pg-bench.ts rewrites everything down to figures:end) -->';
export const FIGURES_END = '<!-- figures:end -->';

type Table = { head: string[]; rows: string[][] };

const medianOf = <T>(cell: Cell<T> | undefined, pick: (r: T) => number): number | undefined =>
  cell && !cell.error && cell.runs.length ? median(cell.runs.map(pick)) : undefined;

export function pgbenchTable(r: BenchReport): Table {
  const head = [
    'mode', 'clients', 'direct TPS', 'relay TPS', 'dbwarden TPS', 'pgbouncer TPS', 'dbwarden/direct', 'dbwarden/relay', 'dbwarden/pgbouncer',
    'relay CPU µs/tx', 'dbwarden CPU µs/tx', 'pgbouncer CPU µs/tx', 'dbwarden÷relay CPU', 'dbwarden ms', 'audited/sent',
  ];
  const rows = r.pgbench.map((row) => {
    const tps = (p: PathName) => medianOf(row.cells[p], (x: PgbenchRun) => x.tps);
    const lat = (p: PathName) => medianOf(row.cells[p], (x: PgbenchRun) => x.latencyMs);
    const cpu = (p: PathName) => medianOf(row.cells[p], (x: PgbenchRun) => x.proxyCpuUs ?? Number.NaN);
    const runs = row.cells.dbwarden?.runs ?? [];
    const audited = runs.reduce((s, x) => s + (x.audited ?? 0), 0);
    const sent = runs.reduce((s, x) => s + (x.sent ?? 0), 0);
    return [
      row.mode,
      `${row.clients} (-j ${row.jobs})`,
      fmtInt(tps('direct')),
      fmtInt(tps('relay')),
      fmtInt(tps('dbwarden')),
      fmtInt(tps('pgbouncer')),
      fmt(ratio(tps('dbwarden'), tps('direct')), 2),
      fmt(ratio(tps('dbwarden'), tps('relay')), 2),
      fmt(ratio(tps('dbwarden'), tps('pgbouncer')), 2),
      fmt(cpu('relay'), 1),
      fmt(cpu('dbwarden'), 1),
      fmt(cpu('pgbouncer'), 1),
      fmt(ratio(cpu('dbwarden'), cpu('relay')), 2),
      fmt(lat('dbwarden'), 3),
      sent ? `${fmtInt(audited)}/${fmtInt(sent)}` : 'n/a',
    ];
  });
  return { head, rows };
}

const mbPerSec = (row: ThroughputRow, seconds: number | undefined) => (seconds ? row.bytes / 1e6 / seconds : undefined);

export function throughputTable(r: BenchReport): Table {
  const head = ['statement', 'direct s', 'dbwarden s', 'pgbouncer s', 'direct MB/s', 'dbwarden MB/s', 'pgbouncer MB/s', 'dbwarden/direct', 'dbwarden/pgbouncer'];
  const rows = r.throughput.map((row) => {
    const s = (p: PathName) => medianOf(row.cells[p], (x: number) => x);
    // Ratios are speed ratios (inverse of time), so 1.00 means as fast and 0.50 half as fast, like the TPS ratios.
    return [
      row.test,
      fmt(s('direct'), 2),
      fmt(s('dbwarden'), 2),
      fmt(s('pgbouncer'), 2),
      fmt(mbPerSec(row, s('direct')), 0),
      fmt(mbPerSec(row, s('dbwarden')), 0),
      fmt(mbPerSec(row, s('pgbouncer')), 0),
      fmt(ratio(s('direct'), s('dbwarden')), 2),
      fmt(ratio(s('pgbouncer'), s('dbwarden')), 2),
    ];
  });
  return { head, rows };
}

export function rssTable(r: BenchReport): Table {
  const mib = (kb: number | undefined) => (kb === undefined ? undefined : kb / 1024);
  const head = ['during', 'process', 'RSS before MiB', 'RSS peak MiB', 'growth MiB'];
  const rows = r.rss.map((x) => [
    x.test,
    x.process,
    fmt(mib(x.beforeKb), 1),
    fmt(mib(x.peakKb), 1),
    fmt(x.beforeKb !== undefined && x.peakKb !== undefined ? (x.peakKb - x.beforeKb) / 1024 : undefined, 1),
  ]);
  return { head, rows };
}

function errorsOf(r: BenchReport): string[] {
  const out: string[] = [];
  for (const row of r.pgbench) {
    for (const [p, c] of Object.entries(row.cells)) if (c?.error) out.push(`pgbench ${row.mode} c=${row.clients} via ${p}: ${c.error}`);
  }
  for (const row of r.throughput) {
    for (const [p, c] of Object.entries(row.cells)) if (c?.error) out.push(`${row.test} via ${p}: ${c.error}`);
  }
  return out;
}

export function renderText(r: BenchReport): string {
  const align = (t: Table) => {
    const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    return [line(t.head), widths.map((w) => '-'.repeat(w)).join('  '), ...t.rows.map(line)].join('\n');
  };
  const parts = [
    'pgbench -S (select-only), median of rounds; ratios are TPS ratios',
    align(pgbenchTable(r)),
  ];
  if (r.throughput.length) parts.push('', 'throughput, median of rounds; ratios are speed ratios (1.00 = as fast)', align(throughputTable(r)));
  if (r.rss.length) parts.push('', 'proxy memory while streaming', align(rssTable(r)));
  if (r.notes.length) parts.push('', 'notes:', ...r.notes.map((n) => `  ${n.replace(/`/g, '')}`));
  const errs = errorsOf(r);
  if (errs.length) parts.push('', 'errors:', ...errs.map((e) => `  ${e}`));
  return parts.join('\n');
}

export function renderMarkdown(r: BenchReport): string {
  const md = (t: Table) => {
    const esc = (s: string) => s.replace(/\|/g, '\\|');
    return [`| ${t.head.join(' | ')} |`, `| ${t.head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`, ...t.rows.map((row) => `| ${row.map(esc).join(' | ')} |`)].join('\n');
  };
  const parts = [
    FIGURES_BEGIN,
    '## Latest figures',
    '',
    ...r.facts.map(([k, v]) => `- **${k}:** ${v}`),
    '',
    '### pgbench -S (select-only)',
    '',
    'TPS excludes connection set-up; latency is pgbench\'s average; each figure is the median of the rounds; TPS ratios: 1.00 = as fast. relay = a bare Node `net` pipe (bench/lib/bare-relay.mjs), the floor of any Node proxy. CPU µs/tx is the proxy process\'s user+system CPU time (from /proc) divided by the transactions of the run: what the proxy costs per statement, much less sensitive to other load on the machine than TPS; dbwarden÷relay CPU is the goal figure (≤ 1.2). audited/sent: statement events in the audit trail against statements sent, over all rounds (a run whose counts differ fails).',
    '',
    md(pgbenchTable(r)),
  ];
  if (r.throughput.length) {
    const rows = r.throughput[0]!.rows.toLocaleString('en-US');
    parts.push('', `### Streaming ${rows} rows`, '', 'Wall time of one `psql` invocation (connect, run, discard output); MB/s counts the text output; ratios are speed ratios.', '', md(throughputTable(r)));
  }
  parts.push('', '<details><summary>Per-round figures</summary>', '', ...roundsLines(r), '', '</details>');
  if (r.rss.length) parts.push('', '### Proxy memory while streaming', '', 'VmRSS of the proxy process, sampled every 25 ms from just before the statement to its end.', '', md(rssTable(r)));
  const errs = errorsOf(r);
  if (r.notes.length || errs.length) parts.push('', '### Notes', '', ...r.notes.map((n) => `- ${n}`), ...errs.map((e) => `- error: ${e.replace(/\n/g, ' ')}`));
  parts.push('', FIGURES_END);
  return parts.join('\n');
}

/** Every round's figure, in run order, so the spread behind each median stays visible. */
export function roundsLines(r: BenchReport): string[] {
  const lines: string[] = [];
  for (const row of r.pgbench) {
    const per = Object.entries(row.cells).map(([p, c]) => `${p} ${c!.runs.map((x) => Math.round(x.tps)).join(' / ') || 'n/a'}`);
    lines.push(`- pgbench ${row.mode} c=${row.clients} TPS: ${per.join('; ')}`);
    const cpu = Object.entries(row.cells)
      .filter(([, c]) => c!.runs.some((x) => x.proxyCpuUs !== undefined))
      .map(([p, c]) => `${p} ${c!.runs.map((x) => (x.proxyCpuUs === undefined ? 'n/a' : x.proxyCpuUs.toFixed(1))).join(' / ')}`);
    if (cpu.length) lines.push(`- pgbench ${row.mode} c=${row.clients} CPU µs/tx: ${cpu.join('; ')}`);
  }
  for (const row of r.throughput) {
    const per = Object.entries(row.cells).map(([p, c]) => `${p} ${c!.runs.map((x) => x.toFixed(2)).join(' / ') || 'n/a'}`);
    lines.push(`- ${row.test} seconds: ${per.join('; ')}`);
  }
  return lines;
}

/** Replaces the figures section of RESULTS.md, keeping the hand-written text around it; appends it when absent. */
export function replaceFigures(existing: string, figures: string): string {
  const begin = existing.indexOf(FIGURES_BEGIN);
  const end = existing.indexOf(FIGURES_END);
  if (begin >= 0 && end > begin) return existing.slice(0, begin) + figures + existing.slice(end + FIGURES_END.length);
  return `${existing.trimEnd()}\n\n${figures}\n`;
}
