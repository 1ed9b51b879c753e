// pgbench through the broker: read-only runs in every query mode (simple, extended, prepared) and the default
// TPC-B-like read-write script, each with several concurrent clients.
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, testConfigObject, type TestBroker } from '../helpers/broker.js';

const DB = 'dbw_pgbench';

let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env: { ...process.env, PGCONNECT_TIMEOUT: '5', ...env }, timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * Before a run pgbench vacuums its tables and truncates pgbench_history, ignoring failures. The truncate is
 * blocked by the safe-defaults `truncate` rule (as it should be), so that is the one error allowed in stderr.
 */
function unexpectedErrors(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((l) => /error|abort/i.test(l))
    .filter((l) => !l.includes('ERROR:  dbwarden: blocked by rule truncate') && !l.includes('(ignoring this error and continuing anyway)'));
}

/** Reads the numbers the test asserts on from pgbench's summary. */
function summary(out: string): { tps: number; processed: number; failed: number | null } {
  const tps = Number(/^tps = ([\d.]+)/m.exec(out)?.[1] ?? NaN);
  const processed = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);
  const failedMatch = /number of failed transactions: (\d+)/.exec(out);
  return { tps, processed, failed: failedMatch ? Number(failedMatch[1]) : null };
}

beforeAll(async () => {
  // The fresh database is owned by dbw_rw, so tables pgbench creates as dbw_rw belong to the broker's write role.
  await adminSql(`drop database if exists ${DB} with (force)`, 'postgres');
  await adminSql(`create database ${DB} owner dbw_rw`, 'postgres');
  const init = await run('pgbench', ['-h', '127.0.0.1', '-p', '5432', '-U', 'dbw_rw', '-i', '-s', '1', '-q', DB], { PGPASSWORD: 'dbw_rw_secret' });
  if (init.code !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);

  const app = (testConfigObject('unused').targets as Record<string, Record<string, unknown>>).app!;
  b = await startTestBroker({ targets: { app: { ...app, databases: ['dbw_app', 'postgres', DB] } } });
  cred = await b.grant({ access: 'write', databases: [DB] });
}, 60_000);

afterAll(async () => {
  await b?.close();
  await adminSql(`drop database if exists ${DB} with (force)`, 'postgres').catch(() => undefined);
});

describe('pgbench through dbwarden', () => {
  it.each(['simple', 'extended', 'prepared'])('select-only, -M %s, 4 clients', async (mode) => {
    const r = await run('pgbench', ['-S', '-T', '3', '-M', mode, '-c', '4', '-j', '2', b.url(cred, DB)]);
    expect(unexpectedErrors(r.stderr)).toEqual([]);
    expect(r.stderr).toContain('blocked by rule truncate');
    expect(r.code).toBe(0);
    const s = summary(r.stdout);
    expect(s.tps).toBeGreaterThan(0);
    expect(s.processed).toBeGreaterThan(0);
    expect(s.failed).toBe(0);
    expect(r.stdout).toContain(`query mode: ${mode}`);
  });

  it('the default TPC-B-like script (UPDATE … WHERE, INSERT, BEGIN/END), 2 clients', async () => {
    const before = ((await adminSql('select count(*)::int as n from pgbench_history', DB)) as { rows: { n: number }[] }).rows[0]!.n;
    const r = await run('pgbench', ['-T', '3', '-c', '2', b.url(cred, DB)]);
    expect(unexpectedErrors(r.stderr)).toEqual([]);
    expect(r.code).toBe(0);
    const s = summary(r.stdout);
    expect(s.tps).toBeGreaterThan(0);
    expect(s.failed).toBe(0);
    // every committed transaction wrote one history row through the broker (the blocked truncate removed none)
    const after = ((await adminSql('select count(*)::int as n from pgbench_history', DB)) as { rows: { n: number }[] }).rows[0]!.n;
    expect(after - before).toBeGreaterThanOrEqual(s.processed);
    expect(after - before).toBeLessThanOrEqual(s.processed + 2); // at most one in flight per client at the deadline
  });
});
