// The MySQL benchmark report: table contents, rule checks, errors, and replacing only its own section of RESULTS.md.
import { describe, expect, it } from 'vitest';
import { MYSQL_BEGIN, MYSQL_END, MYSQL_INTRO, checksTable, mysqlRoundsLines, renderMysqlMarkdown, renderMysqlText, replaceMysqlSection, sysbenchTable } from '../../../bench/lib/mysql-report.js';
import type { MysqlBenchReport } from '../../../bench/lib/mysql-results.js';
import { FIGURES_BEGIN, FIGURES_END, replaceFigures } from '../../../bench/lib/report.js';

function sample(): MysqlBenchReport {
  return {
    facts: [['machine', 'nproc 2'], ['sysbench', 'sysbench 1.0.20']],
    rows: [
      {
        test: 'oltp_read_only',
        psMode: 'auto',
        threads: 16,
        cells: {
          direct: { runs: [{ tps: 1000, qps: 16000, latencyMs: 10 }, { tps: 3000, qps: 48000, latencyMs: 30 }, { tps: 2000, qps: 32000, latencyMs: 20 }] },
          relay: { runs: [{ tps: 1000, qps: 16000, latencyMs: 10, proxyCpuUsPerQuery: 20 }, { tps: 2000, qps: 32000, latencyMs: 10, proxyCpuUsPerQuery: 25 }, { tps: 1500, qps: 24000, latencyMs: 10, proxyCpuUsPerQuery: 22 }] },
          dbwarden: { runs: [{ tps: 500, qps: 8000, latencyMs: 40, proxyCpuUsPerQuery: 60, audited: 10, sent: 10 }, { tps: 1500, qps: 24000, latencyMs: 40, proxyCpuUsPerQuery: 50, audited: 20, sent: 20 }, { tps: 1000, qps: 16000, latencyMs: 40, proxyCpuUsPerQuery: 55, audited: 30, sent: 30 }] },
        },
      },
      {
        test: 'oltp_point_select',
        psMode: 'disable',
        threads: 1,
        cells: { direct: { runs: [{ tps: 20000, qps: 20000, latencyMs: 0.05 }] }, dbwarden: { runs: [], error: 'error 1227: dbwarden: blocked by rule x: no (statement: SELECT 1)' } },
      },
    ],
    checks: [
      { sql: 'BEGIN', textAction: 'allow', preparedAction: 'allow', rules: [] },
      { sql: 'SELECT c FROM sbtest1 WHERE id=?', textAction: 'warn', preparedAction: 'allow', rules: ['w (warn)'] },
    ],
    notes: ['a note'],
  };
}

describe('tables', () => {
  it('reports medians, the QPS ratios, CPU per query against the relay and the audit counts', () => {
    expect(sysbenchTable(sample()).rows[0]).toEqual(['oltp_read_only', 'auto', '16', '32,000', '24,000', '16,000', '0.50', '0.67', '22.0', '55.0', '2.50', '40.00', '60/60']);
  });

  it('shows n/a for a path whose run failed', () => {
    expect(sysbenchTable(sample()).rows[1]).toEqual(['oltp_point_select', 'disable', '1', '20,000', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a']);
  });

  it('lists each statement with its text and prepared decision and the matched rules', () => {
    expect(checksTable(sample()).rows).toEqual([
      ['`BEGIN`', 'allow', 'allow', 'none'],
      ['`SELECT c FROM sbtest1 WHERE id=?`', 'warn', 'allow', 'w (warn)'],
    ]);
  });

  it('lists every round in run order', () => {
    expect(mysqlRoundsLines(sample())[0]).toBe('- oltp_read_only ps-mode=auto threads=16 TPS: direct 1000 / 3000 / 2000; relay 1000 / 2000 / 1500; dbwarden 500 / 1500 / 1000; CPU µs/query: relay 20.0 / 25.0 / 22.0; dbwarden 60.0 / 50.0 / 55.0');
    expect(mysqlRoundsLines(sample())[1]).toBe('- oltp_point_select ps-mode=disable threads=1 TPS: direct 20000; dbwarden n/a');
  });
});

describe('rendering', () => {
  it('prints errors and notes on the console', () => {
    const text = renderMysqlText(sample());
    expect(text).toContain('oltp_point_select ps-mode=disable threads=1 via dbwarden: error 1227');
    expect(text).toContain('a note');
    expect(text).toContain('SELECT c FROM sbtest1 WHERE id=?');
  });

  it('wraps the markdown in its own markers with facts, tables and notes', () => {
    const md = renderMysqlMarkdown(sample());
    expect(md.startsWith(MYSQL_BEGIN)).toBe(true);
    expect(md.endsWith(MYSQL_END)).toBe(true);
    expect(md).toContain('- **sysbench:** sysbench 1.0.20');
    expect(md).toContain('| oltp_read_only | auto | 16 | 32,000 | 24,000 | 16,000 |');
    expect(md).toContain('| `BEGIN` | allow | allow | none |');
    expect(md).toContain('- error: oltp_point_select ps-mode=disable threads=1 via dbwarden: error 1227');
    expect(md).not.toContain(FIGURES_BEGIN);
  });
});

describe('replaceMysqlSection', () => {
  const mine = `${MYSQL_BEGIN}\nNEW\n${MYSQL_END}`;
  const results = `# Results\n\n${FIGURES_BEGIN}\npg figures\n${FIGURES_END}\n\n## MySQL parser acceptance\n<!-- mysql-parser:begin -->\nparsers\n<!-- mysql-parser:end -->\n`;

  it('appends the intro and the section when RESULTS.md has none, keeping everything else', () => {
    const after = replaceMysqlSection(results, mine);
    expect(after).toBe(`${results.trimEnd()}\n\n${MYSQL_INTRO}\n\n${mine}\n`);
    expect(after).toContain('pg figures');
    expect(after).toContain('parsers');
  });

  it('replaces only its own section on later runs, leaving the intro and other sections as they are', () => {
    const once = replaceMysqlSection(results, `${MYSQL_BEGIN}\nOLD\n${MYSQL_END}`);
    const twice = replaceMysqlSection(once.replace('## MySQL: sysbench', '## MySQL: sysbench (edited by hand)'), mine);
    expect(twice).toContain('NEW');
    expect(twice).not.toContain('OLD');
    expect(twice).toContain('(edited by hand)');
    expect(twice.split(MYSQL_BEGIN).length).toBe(2);
    expect(twice.startsWith(results.trimEnd())).toBe(true);
  });

  it('survives a pg-bench rewrite of its own figures, and pg-bench survives ours', () => {
    const withMine = replaceMysqlSection(results, mine);
    const afterPg = replaceFigures(withMine, `${FIGURES_BEGIN}\nnew pg\n${FIGURES_END}`);
    expect(afterPg).toContain('new pg');
    expect(afterPg).toContain(mine);
    expect(replaceMysqlSection(afterPg, `${MYSQL_BEGIN}\nNEWER\n${MYSQL_END}`)).toContain('new pg');
  });
});
