// psycopg2 (libpq) through the broker, over TLS: parameters, a named server-side cursor, COPY both ways, a blocked
// statement inside the driver's implicit transaction, and rollback.
import { execFile, execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

const SCRIPT = resolve('test/fixtures/clients/psycopg2_session.py');
const TABLE = 'py_session_t';

let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

/** A python3 that can import psycopg2 (a pyenv shim on PATH may not have the Debian package). */
function pythonWithPsycopg2(): string {
  for (const py of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(py, ['-c', 'import psycopg2'], { stdio: 'ignore' });
      return py;
    } catch {
      // try the next one
    }
  }
  throw new Error('no python3 with psycopg2 found (apt-get install python3-psycopg2)');
}

function runScript(dsn: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(pythonWithPsycopg2(), [SCRIPT, dsn, TABLE], { timeout: 30_000, env: { ...process.env, PGCONNECT_TIMEOUT: '5' } }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  b = await startTestBroker();
  cred = await b.grant({ access: 'write' });
  await adminSql(`drop table if exists ${TABLE}; create table ${TABLE} (id int primary key, v text); alter table ${TABLE} owner to dbw_rw`);
});

afterAll(async () => {
  await b?.close();
});

describe('psycopg2 through dbwarden', () => {
  it('runs a full session and reports each step', async () => {
    const r = await runScript(b.url(cred, 'dbw_app', 'sslmode=require'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.steps).toEqual(['connection', 'param', 'cursor', 'copy', 'blocked', 'afterRollback']);
    expect(out.connection.ssl).toBe(true);

    // parameters are interpolated client-side by psycopg2; the quote and comment stay data
    expect(out.param).toEqual({ sum: 42, text: "o'hara; --", user: 'dbw_rw' });

    // DECLARE … CURSOR + FETCH FORWARD 1000, ten times
    expect(out.cursor).toEqual({ total: 10000, batches: 10, maxBatch: 1000, last: 10000 });

    expect(out.copy.outMatches).toBe(true);
    expect(out.copy.outBytes).toBeGreaterThan(0);

    expect(out.blocked.raised).toBe(true);
    expect(out.blocked.type).toBe('InsufficientPrivilege');
    expect(out.blocked.pgcode).toBe('42501');
    expect(out.blocked.message).toMatch(/^ERROR: {2}dbwarden: blocked by rule unscoped-write: /);
    // the server itself aborted the transaction: the next statement fails with 25P02
    expect(out.blocked.afterError).toBe('25P02');

    // 1 committed insert + 500 copied rows; the insert before the blocked statement was rolled back
    expect(out.afterRollback).toEqual({ rows: 501, doomedRows: 0, closed: 0 });
    const direct = (await adminSql(`select count(*)::int as n from ${TABLE}`)) as { rows: { n: number }[] };
    expect(direct.rows[0]!.n).toBe(501);
  });
});
