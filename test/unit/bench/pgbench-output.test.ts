// Parsing of pgbench's end-of-run summary, for the output formats of pgbench 15 and of pre-14 versions.
import { describe, expect, it } from 'vitest';
import { parsePgbenchOutput } from '../../../bench/lib/pgbench-output.js';

const PG15 = `pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: select only>
scaling factor: 10
query mode: simple
number of clients: 2
number of threads: 2
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 9699
number of failed transactions: 0 (0.000%)
latency average = 0.198 ms
initial connection time = 38.466 ms
tps = 10080.999307 (without initial connection time)
`;

const PG13 = `transaction type: <builtin: select only>
number of transactions actually processed: 52000
latency average = 0.307 ms
tps = 3205.12 (including connections establishing)
tps = 3260.77 (excluding connections establishing)
`;

describe('parsePgbenchOutput', () => {
  it('reads TPS without connection time, latency and counts from pgbench 15', () => {
    expect(parsePgbenchOutput(PG15)).toEqual({ tps: 10080.999307, latencyMs: 0.198, transactions: 9699, failed: 0 });
  });

  it('takes the figure excluding connection set-up from older versions', () => {
    const s = parsePgbenchOutput(PG13);
    expect(s.tps).toBe(3260.77);
    expect(s.latencyMs).toBe(0.307);
    expect(s.failed).toBe(0);
  });

  it('reports failed transactions', () => {
    expect(parsePgbenchOutput(PG15.replace('failed transactions: 0 (0.000%)', 'failed transactions: 12 (0.124%)')).failed).toBe(12);
  });

  it('throws with the tail of the output when there is no summary', () => {
    expect(() => parsePgbenchOutput('pgbench: error: connection to server failed\n')).toThrow(/no summary[\s\S]*connection to server failed/);
  });
});
