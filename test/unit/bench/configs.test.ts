// The broker and pgbouncer configurations the benchmark generates, and the COPY size arithmetic.
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { bouncerIni } from '../../../bench/lib/bouncer-process.js';
import { brokerConfig } from '../../../bench/lib/broker-process.js';
import { bigTableTextBytes } from '../../../bench/lib/dataset.js';
import { parseConfig } from '../../../src/config/load.js';

const SHA = 'a'.repeat(64);

describe('brokerConfig', () => {
  const obj = brokerConfig(
    { repoDir: resolve('.'), workDir: '/tmp/dbw-bench-x', upstream: { host: '127.0.0.1', port: 5432, database: 'dbw_bench', user: 'dbw_bench_rw', password: 'pw' }, rulesets: ['safe-defaults'] },
    { pg: 15432, admin: 15080 },
    SHA,
  );

  it('is valid under the broker schema, plaintext on both sides, password from the environment', () => {
    const c = parseConfig(stringify(obj), '/tmp/dbw-bench-x/dbwarden.yaml', { DBW_BENCH_UPSTREAM_PASSWORD: 'from-env' });
    expect(c.listen.postgres).toBe('127.0.0.1:15432');
    expect(c.listen.admin).toBe('127.0.0.1:15080');
    expect(c.tls.clients).toBe('disable');
    expect(c.targets.bench!.tls).toBe('disable');
    expect(c.targets.bench!.databases).toEqual(['dbw_bench']);
    expect(c.targets.bench!.roles.write).toEqual({ user: 'dbw_bench_rw', password: 'from-env' });
    expect(c.access[0]!.approvals).toBe(0);
  });

  it('does not write the upstream password into the file', () => {
    expect(stringify(obj)).not.toContain('pw\n');
    expect(() => parseConfig(stringify(obj), '/tmp/x.yaml', {})).toThrow(/DBW_BENCH_UPSTREAM_PASSWORD is not set/);
  });
});

describe('bouncerIni', () => {
  const ini = bouncerIni({ workDir: '/tmp/w', upstream: { host: '127.0.0.1', port: 5432, database: 'dbw_bench', user: 'u' }, maxClients: 16 }, 16432, '/tmp/w/users.txt');

  it('routes the database to the upstream with session pooling on 127.0.0.1', () => {
    expect(ini).toMatch(/^dbw_bench = host=127\.0\.0\.1 port=5432 dbname=dbw_bench$/m);
    expect(ini).toMatch(/^pool_mode = session$/m);
    expect(ini).toMatch(/^listen_addr = 127\.0\.0\.1$/m);
    expect(ini).toMatch(/^listen_port = 16432$/m);
    expect(ini).toMatch(/^auth_file = \/tmp\/w\/users\.txt$/m);
  });

  it('has a pool large enough that session pooling never makes a client wait', () => {
    const pool = Number(/^default_pool_size = (\d+)$/m.exec(ini)?.[1]);
    expect(pool).toBeGreaterThanOrEqual(16);
  });
});

describe('bigTableTextBytes', () => {
  const brute = (n: number) => {
    let b = 0;
    for (let i = 1; i <= n; i++) b += `${i}\t${'x'.repeat(32)}\n`.length;
    return b;
  };

  it('matches counting row by row across digit boundaries', () => {
    for (const n of [1, 9, 10, 99, 100, 12345]) expect(bigTableTextBytes(n)).toBe(brute(n));
  });

  it('is 121,888,896 bytes for 3 million rows (34 per row plus the digits of 1..3,000,000)', () => {
    expect(bigTableTextBytes(3_000_000)).toBe(3_000_000 * 34 + 9 + 180 + 2_700 + 36_000 + 450_000 + 5_400_000 + 2_000_001 * 7);
  });
});
