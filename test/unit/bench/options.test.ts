// Options of bench/pg-bench.ts: full-run and --quick defaults, lists, and refusals of bad values.
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../../../bench/lib/options.js';

describe('parseOptions', () => {
  it('runs everything by default: three modes and connection set-up (-C), 1 and 16 clients, four paths (direct, relay, dbwarden, pgbouncer), at least 2 rounds', () => {
    const o = parseOptions([]);
    expect(o.modes).toEqual(['simple', 'extended', 'prepared', 'connect']);
    expect(o.maskedColumn).toBe(false);
    expect(parseOptions(['--masked-column']).maskedColumn).toBe(true);
    expect(o.clients).toEqual([1, 16]);
    expect(o.paths).toEqual(['direct', 'relay', 'dbwarden', 'pgbouncer']);
    expect(o.rounds).toBeGreaterThanOrEqual(2);
    expect(o.rows).toBe(3_000_000);
    expect(o.rulesets).toEqual(['safe-defaults']);
    expect(o.throughput).toBe(true);
    expect(o.writeResults).toBe(true);
  });

  it('keeps --quick to short runs and fewer modes, still with 2 rounds', () => {
    const o = parseOptions(['--quick']);
    expect(o.seconds).toBeLessThan(parseOptions([]).seconds);
    expect(o.modes).toEqual(['simple', 'prepared']);
    expect(o.rounds).toBe(2);
    expect(o.throughputRounds).toBe(1);
  });

  it('never goes below two rounds', () => {
    expect(parseOptions(['--rounds', '1']).rounds).toBe(2);
  });

  it('reads lists and flags', () => {
    const o = parseOptions(['--paths', 'direct, dbwarden', '--clients', '4', '--rulesets', 'safe-defaults,pii-masking', '--no-results', '--no-throughput', '--cpu-prof', '/tmp/p']);
    expect(o.paths).toEqual(['direct', 'dbwarden']);
    expect(o.clients).toEqual([4]);
    expect(o.rulesets).toEqual(['safe-defaults', 'pii-masking']);
    expect(o.writeResults).toBe(false);
    expect(o.throughput).toBe(false);
    expect(o.cpuProfDir).toBe('/tmp/p');
  });

  it('refuses unknown modes and paths, bad numbers and unknown options', () => {
    expect(() => parseOptions(['--modes', 'simple,turbo'])).toThrow(/unknown turbo/);
    expect(() => parseOptions(['--paths', 'haproxy'])).toThrow(/unknown haproxy/);
    expect(() => parseOptions(['--seconds', '0'])).toThrow(/positive integer/);
    expect(() => parseOptions(['--clients', '1,x'])).toThrow(/positive integer/);
    expect(() => parseOptions(['--bogus'])).toThrow();
  });
});
