// Options of bench/mysql-bench.ts: full-run and --quick defaults, lists, and refusals of bad values.
import { describe, expect, it } from 'vitest';
import { parseMysqlOptions } from '../../../bench/lib/mysql-options.js';

describe('parseMysqlOptions', () => {
  it('runs both tests, both ps-modes, 1 and 16 threads, three paths (direct, relay, dbwarden), at least 2 rounds by default', () => {
    const o = parseMysqlOptions([]);
    expect(o.tests).toEqual(['oltp_point_select', 'oltp_read_only']);
    expect(o.psModes).toEqual(['auto', 'disable']);
    expect(o.threads).toEqual([1, 16]);
    expect(o.paths).toEqual(['direct', 'relay', 'dbwarden']);
    expect(o.rounds).toBeGreaterThanOrEqual(2);
    expect(o.rulesets).toEqual(['safe-defaults']);
    expect(o.writeResults).toBe(true);
  });

  it('keeps a full run under about 5 minutes of measuring (three paths)', () => {
    const o = parseMysqlOptions([]);
    const runs = o.tests.length * o.psModes.length * o.threads.length * o.paths.length * o.rounds;
    expect(runs * o.seconds).toBeLessThanOrEqual(300);
  });

  it('keeps --quick short, still with 2 rounds and both thread counts', () => {
    const o = parseMysqlOptions(['--quick']);
    expect(o.seconds).toBeLessThan(parseMysqlOptions([]).seconds);
    expect(o.rounds).toBe(2);
    expect(o.threads).toEqual([1, 16]);
    const runs = o.tests.length * o.psModes.length * o.threads.length * o.paths.length * o.rounds;
    expect(runs * o.seconds).toBeLessThanOrEqual(100);
  });

  it('never goes below two rounds', () => {
    expect(parseMysqlOptions(['--rounds', '1']).rounds).toBe(2);
  });

  it('reads lists and flags', () => {
    const o = parseMysqlOptions(['--tests', 'oltp_read_only', '--threads', '4, 8', '--ps-modes', 'disable', '--paths', 'dbwarden', '--rulesets', 'safe-defaults,pii-masking', '--no-results', '--fresh', '--cpu-prof', '/tmp/p']);
    expect(o.tests).toEqual(['oltp_read_only']);
    expect(o.threads).toEqual([4, 8]);
    expect(o.psModes).toEqual(['disable']);
    expect(o.paths).toEqual(['dbwarden']);
    expect(o.rulesets).toEqual(['safe-defaults', 'pii-masking']);
    expect(o.writeResults).toBe(false);
    expect(o.fresh).toBe(true);
    expect(o.cpuProfDir).toBe('/tmp/p');
  });

  it('refuses unknown tests, modes and paths, empty lists, bad numbers and unknown options', () => {
    expect(() => parseMysqlOptions(['--tests', 'oltp_write_only'])).toThrow(/unknown oltp_write_only/);
    expect(() => parseMysqlOptions(['--ps-modes', 'auto,always'])).toThrow(/unknown always/);
    expect(() => parseMysqlOptions(['--paths', 'pgbouncer'])).toThrow(/unknown pgbouncer/);
    expect(() => parseMysqlOptions(['--paths', ','])).toThrow(/empty/);
    expect(() => parseMysqlOptions(['--seconds', '0'])).toThrow(/positive integer/);
    expect(() => parseMysqlOptions(['--threads', '1,x'])).toThrow(/positive integer/);
    expect(() => parseMysqlOptions(['--bogus'])).toThrow();
  });
});
