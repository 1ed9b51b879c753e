// Parsing of sysbench 1.0's end-of-run report and of the FATAL lines it prints when a statement or login fails.
import { describe, expect, it } from 'vitest';
import { parseSysbenchFailure, parseSysbenchOutput } from '../../../bench/lib/sysbench-output.js';

const READ_ONLY = `sysbench 1.0.20 (using system LuaJIT 2.1.0-beta3)

Running the test with following options:
Number of threads: 1
Initializing random number generator from current time


Initializing worker threads...

Threads started!

SQL statistics:
    queries performed:
        read:                            20664
        write:                           0
        other:                           2952
        total:                           23616
    transactions:                        1476   (736.98 per sec.)
    queries:                             23616  (11791.60 per sec.)
    ignored errors:                      0      (0.00 per sec.)
    reconnects:                          0      (0.00 per sec.)

General statistics:
    total time:                          2.0007s
    total number of events:              1476

Latency (ms):
         min:                                    0.79
         avg:                                    1.35
         max:                                    7.03
         95th percentile:                        1.44
         sum:                                 1994.85

Threads fairness:
    events (avg/stddev):           1476.0000/0.00
    execution time (avg/stddev):   1.9948/0.00
`;

describe('parseSysbenchOutput', () => {
  it('reads rates, counts, latency and time from the report', () => {
    expect(parseSysbenchOutput(READ_ONLY)).toEqual({
      tps: 736.98,
      qps: 11791.6,
      transactions: 1476,
      queries: 23616,
      latencyMs: 1.35,
      p95Ms: 1.44,
      ignoredErrors: 0,
      reconnects: 0,
      seconds: 2.0007,
    });
  });

  it('takes the average, not min or max, and reads other percentiles', () => {
    const s = parseSysbenchOutput(READ_ONLY.replace('95th percentile:                        1.44', '99th percentile:                        3.10'));
    expect(s.latencyMs).toBe(1.35);
    expect(s.p95Ms).toBe(3.1);
  });

  it('reports ignored errors and reconnects', () => {
    const s = parseSysbenchOutput(READ_ONLY.replace('ignored errors:                      0      (0.00', 'ignored errors:                      7      (3.50').replace('reconnects:                          0', 'reconnects:                          2'));
    expect(s.ignoredErrors).toBe(7);
    expect(s.reconnects).toBe(2);
  });

  it('throws with the tail of the output when there is no report', () => {
    expect(() => parseSysbenchOutput('Initializing worker threads...\nFATAL: Thread initialization failed!\n')).toThrow(/no summary[\s\S]*Thread initialization failed/);
  });
});

describe('parseSysbenchFailure', () => {
  it('names errno, message and statement of a text-protocol refusal', () => {
    const out = `Threads started!
FATAL: mysql_drv_query() returned error 1227 (dbwarden: blocked by rule read-only-grant: writes need a write grant) for query 'UPDATE sbtest1 SET k=k+1 WHERE id=5012'
FATAL: \`thread_run' function failed: /usr/share/sysbench/oltp_common.lua:419: SQL error, errno = 1227, state = '42000': dbwarden: blocked by rule read-only-grant: writes need a write grant
`;
    expect(parseSysbenchFailure(out)).toEqual({
      errno: 1227,
      query: 'UPDATE sbtest1 SET k=k+1 WHERE id=5012',
      message: 'error 1227: dbwarden: blocked by rule read-only-grant: writes need a write grant (statement: UPDATE sbtest1 SET k=k+1 WHERE id=5012)',
    });
  });

  it('reads a failed COM_STMT_PREPARE, which sysbench prints without the statement', () => {
    const out = `Initializing worker threads...
FATAL: mysql_stmt_prepare() failed
FATAL: MySQL error: 1146 "Table 'dbw_sysbench.sbtest5' doesn't exist"
FATAL: \`thread_init' function failed: /usr/share/sysbench/oltp_common.lua:284: SQL API error
FATAL: Thread initialization failed!
`;
    const f = parseSysbenchFailure(out)!;
    expect(f.errno).toBe(1146);
    expect(f.query).toBeUndefined();
    expect(f.message).toBe("error 1146: Table 'dbw_sysbench.sbtest5' doesn't exist (mysql_stmt_prepare() failed)");
  });

  it('reads a refused login', () => {
    const out = `FATAL: unable to connect to MySQL server on host '127.0.0.1', port 3306, aborting...
FATAL: error 1045: Access denied for user 'x'@'127.0.0.1' (using password: YES)
FATAL: \`thread_init' function failed: /usr/share/sysbench/oltp_common.lua:349: connection creation failed
`;
    const f = parseSysbenchFailure(out)!;
    expect(f.errno).toBe(1045);
    expect(f.message).toMatch(/^error 1045: Access denied .*\(unable to connect to MySQL server on host '127\.0\.0\.1', port 3306, aborting\.\.\.\)$/);
  });

  it('falls back to the first FATAL lines, and is undefined for a clean run', () => {
    expect(parseSysbenchFailure('FATAL: invalid option: --bogus\n')).toEqual({ message: 'invalid option: --bogus' });
    expect(parseSysbenchFailure(READ_ONLY)).toBeUndefined();
  });
});
