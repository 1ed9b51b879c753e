// The benchmark report: table contents, ratios, errors, and replacing only the figures section of RESULTS.md.
import { describe, expect, it } from 'vitest';
import { FIGURES_BEGIN, FIGURES_END, pgbenchTable, renderMarkdown, renderText, replaceFigures, rssTable, throughputTable } from '../../../bench/lib/report.js';
import type { BenchReport } from '../../../bench/lib/results.js';

function sample(): BenchReport {
  return {
    facts: [['nproc', '2'], ['node', 'v20.0.0']],
    pgbench: [
      {
        mode: 'simple',
        clients: 16,
        jobs: 2,
        cells: {
          direct: { runs: [{ tps: 1000, latencyMs: 1 }, { tps: 3000, latencyMs: 3 }, { tps: 2000, latencyMs: 2 }] },
          relay: { runs: [{ tps: 2000, latencyMs: 2, proxyCpuUs: 40 }, { tps: 2000, latencyMs: 2, proxyCpuUs: 40 }] },
          dbwarden: { runs: [{ tps: 500, latencyMs: 4, proxyCpuUs: 90, audited: 502, sent: 502 }, { tps: 1500, latencyMs: 4, proxyCpuUs: 70, audited: 1502, sent: 1502 }, { tps: 1000, latencyMs: 4, proxyCpuUs: 80, audited: 1002, sent: 1002 }] },
          pgbouncer: { runs: [{ tps: 4000, latencyMs: 1 }], error: 'connection refused' },
        },
      },
    ],
    throughput: [{ test: 'COPY big TO STDOUT', rows: 10, bytes: 200e6, cells: { direct: { runs: [1, 2] }, dbwarden: { runs: [4] }, pgbouncer: { runs: [2] } } }],
    rss: [{ test: 'SELECT * FROM big', process: 'dbwarden', beforeKb: 100 * 1024, peakKb: 112 * 1024 }],
    notes: ['a note'],
  };
}

describe('tables', () => {
  it('reports medians and dbwarden ratios against direct, the relay and pgbouncer, n/a for a failed path', () => {
    const row = pgbenchTable(sample()).rows[0]!;
    expect(row).toEqual(['simple', '16 (-j 2)', '2,000', '2,000', '1,000', 'n/a', '0.50', '0.50', 'n/a', '40.0', '80.0', 'n/a', '2.00', '4.000', '3,006/3,006']);
  });

  it('turns times into speed ratios and MB/s', () => {
    const row = throughputTable(sample()).rows[0]!;
    // direct median 1.5 s, dbwarden 4 s, pgbouncer 2 s; 200 MB of text
    expect(row).toEqual(['COPY big TO STDOUT', '1.50', '4.00', '2.00', '133', '50', '100', '0.38', '0.50']);
  });

  it('shows RSS growth in MiB', () => {
    expect(rssTable(sample()).rows[0]).toEqual(['SELECT * FROM big', 'dbwarden', '100.0', '112.0', '12.0']);
  });
});

describe('rendering', () => {
  it('lists errors and notes in the console text', () => {
    const text = renderText(sample());
    expect(text).toContain('pgbench simple c=16 via pgbouncer: connection refused');
    expect(text).toContain('a note');
  });

  it('wraps the markdown in the figures markers with the facts and a table', () => {
    const md = renderMarkdown(sample());
    expect(md.startsWith(FIGURES_BEGIN)).toBe(true);
    expect(md.endsWith(FIGURES_END)).toBe(true);
    expect(md).toContain('- **nproc:** 2');
    expect(md).toContain('| simple | 16 (-j 2) | 2,000 | 2,000 | 1,000 | n/a |');
    expect(md).toContain('| SELECT * FROM big | dbwarden | 100.0 | 112.0 | 12.0 |');
  });
});

describe('replaceFigures', () => {
  const figures = `${FIGURES_BEGIN}\nNEW\n${FIGURES_END}`;

  it('replaces only the section between the markers', () => {
    const before = `# Title\nintro\n\n${FIGURES_BEGIN}\nOLD\n${FIGURES_END}\n\n## History\nkept\n`;
    const after = replaceFigures(before, figures);
    expect(after).toBe(`# Title\nintro\n\n${figures}\n\n## History\nkept\n`);
    expect(after).not.toContain('OLD');
  });

  it('appends the section when the file has none', () => {
    expect(replaceFigures('# Title\n', figures)).toBe(`# Title\n\n${figures}\n`);
  });
});

describe('roundsLines', () => {
  it('lists every round in run order for each path', () => {
    const lines = renderMarkdown(sample());
    expect(lines).toContain('- pgbench simple c=16 TPS: direct 1000 / 3000 / 2000; relay 2000 / 2000; dbwarden 500 / 1500 / 1000; pgbouncer 4000');
    expect(lines).toContain('- pgbench simple c=16 CPU µs/tx: relay 40.0 / 40.0; dbwarden 90.0 / 70.0 / 80.0');
    expect(lines).toContain('- COPY big TO STDOUT seconds: direct 1.00 / 2.00; dbwarden 4.00; pgbouncer 2.00');
  });
});
