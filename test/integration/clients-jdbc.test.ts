// pgjdbc (Java) through the broker, plain and TLS: server-prepared statements, batches, metadata queries,
// query timeout (CancelRequest), a blocked statement as SQLException 42501, and rollback with autocommit off.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

const SOURCE = resolve('test/fixtures/clients/JdbcSession.java');
const JAR = process.env.PGJDBC_JAR ?? '/usr/share/java/postgresql.jar';

let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;

function runJava(jdbcUrl: string, table: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile('java', ['-cp', JAR, SOURCE, jdbcUrl, cred.login, cred.password, table], { timeout: 40_000 }, (err, stdout, stderr) => {
      done({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  if (!existsSync(JAR)) throw new Error(`pgjdbc not found at ${JAR} (apt-get install libpostgresql-jdbc-java or set PGJDBC_JAR)`);
  b = await startTestBroker();
  cred = await b.grant({ access: 'write' });
  await adminSql(`
    drop table if exists jdbc_plain, jdbc_tls;
    create table jdbc_plain (id int primary key, v text);
    create table jdbc_tls (id int primary key, v text);
    alter table jdbc_plain owner to dbw_rw;
    alter table jdbc_tls owner to dbw_rw;`);
});

afterAll(async () => {
  await b?.close();
});

describe('pgjdbc through dbwarden', () => {
  it.each([
    { mode: 'disable', table: 'jdbc_plain' },
    { mode: 'require', table: 'jdbc_tls' },
  ])('runs a full session with sslmode=$mode', async ({ mode, table }) => {
    const r = await runJava(`jdbc:postgresql://127.0.0.1:${b.pgPort}/dbw_app?sslmode=${mode}`, table);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.connected).toBe(true);

    // past prepareThreshold the driver parses a named statement (S_n) and only binds/executes it afterwards
    expect(out.prepared).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
    expect(out.serverPrepared).toBe(true);
    expect(out.namedStatementsOnServer).toBe(1);

    expect(out.batchStatements).toBe(100);
    expect(out.batchRows).toBe(100);

    expect(out.tables).toEqual([table]);
    expect(out.columns).toEqual(['id:int4', 'v:text']);

    expect(out.blockedState).toBe('42501');
    expect(out.blockedMessage).toMatch(/^ERROR: dbwarden: blocked by rule unscoped-write: /);

    // 57014 query_canceled: the cancel reached the upstream backend through the broker
    expect(out.timeoutState).toBe('57014');
    expect(out.timeoutMillis).toBeLessThan(5000);

    expect(out.inTxVisible).toBe(1);
    expect(out.blockedInTx).toBe('42501');
    expect(out.afterErrorInTx).toBe('25P02');
    expect(out.afterRollback).toBe(0);
    expect(out.rowsAfterRollback).toBe(100);
    const direct = (await adminSql(`select count(*)::int as n from ${table}`)) as { rows: { n: number }[] };
    expect(direct.rows[0]!.n).toBe(100);
  }, 45_000); // compiling the source file and starting a JVM takes seconds on a loaded machine
});
