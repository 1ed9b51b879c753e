// Real MySQL clients through the broker: the mariadb CLI (scripted session), PyMySQL, the `mariadb` npm
// connector (pipelining, binary protocol, bulk batches) and MariaDB Connector/J (prepared statements, batch,
// metadata). Each one sees a blocked DELETE as error 1227.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import mariadb from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { myAdmin, startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const JAR = process.env.MARIADB_JDBC_JAR ?? '/usr/share/java/mariadb-java-client.jar';
const PYTHON = process.env.PYMYSQL_PYTHON ?? '/usr/bin/python3';

let b: MysqlTestBroker;
let cred: Awaited<ReturnType<MysqlTestBroker['grant']>>;

beforeAll(async () => {
  b = await startMysqlTestBroker();
  cred = await b.grant({ access: 'write', databases: ['dbw_my', 'dbw_my_other'] });
  await myAdmin(`
    DROP TABLE IF EXISTS dbw_my.cli_t, dbw_my.py_t, dbw_my.npm_t, dbw_my.jdbc_t;
    CREATE TABLE dbw_my.cli_t (id INT PRIMARY KEY, v VARCHAR(100));
    CREATE TABLE dbw_my.py_t (id INT PRIMARY KEY, v VARCHAR(100));
    CREATE TABLE dbw_my.npm_t (id INT PRIMARY KEY, v VARCHAR(100));
    CREATE TABLE dbw_my.jdbc_t (id INT PRIMARY KEY, v VARCHAR(100));
  `);
});
afterAll(async () => {
  await b?.close();
});

function run(cmd: string, args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 40_000);
    child.on('close', (code) => {
      clearTimeout(t);
      done({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

describe('mariadb CLI', () => {
  it('runs a scripted session: SHOW DATABASES, USE, a transaction, a multi-statement line, a blocked DELETE', async () => {
    const script = [
      'SHOW DATABASES;',
      'USE dbw_my_other;',
      'SELECT DATABASE() AS db;',
      'USE dbw_my;',
      'BEGIN;',
      "INSERT INTO cli_t VALUES (1, 'one');",
      "INSERT INTO cli_t VALUES (2, 'two');",
      'COMMIT;',
      'DELIMITER //',
      "SELECT COUNT(*) AS n FROM cli_t; SELECT 'second' AS s//",
      'DELIMITER ;',
      'DELETE FROM cli_t;',
      'SELECT COUNT(*) AS after_delete FROM cli_t;',
      'USE mysql;',
    ].join('\n');
    const r = await run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', cred.login, `-p${cred.password}`, '--skip-ssl', '--force', '--table', 'dbw_my'], script);
    expect(r.stdout).toMatch(/\| dbw_my\s+\|/);
    expect(r.stdout).toMatch(/\| dbw_my_other\s+\|/);
    expect(r.stdout).not.toMatch(/\| mysql\s+\|/);
    expect(r.stdout).toMatch(/\| db\s+\|\n\+[-+]+\n\| dbw_my_other \|/);
    expect(r.stdout).toMatch(/\| n\s+\|\n\+[-+]+\n\|\s+2 \|/);
    expect(r.stdout).toMatch(/\| second \|/);
    expect(r.stderr).toMatch(/ERROR 1227 \(42000\) at line 12: dbwarden: blocked by rule unscoped-write: /);
    expect(r.stdout).toMatch(/\| after_delete \|\n\+[-+]+\n\|\s+2 \|/);
    expect(r.stderr).toMatch(/ERROR 1044 \(42000\) at line 14: Access denied for user '[^']+'@'127\.0\.0\.1' to database 'mysql'/);
  });

  it('logs in over TLS and reports a wrong password as ERROR 1045', async () => {
    const ok = await run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', cred.login, `-p${cred.password}`, '--ssl', '--ssl-verify-server-cert=0', '-N', '-e', "SHOW SESSION STATUS LIKE 'Ssl_version'; SELECT 42", 'dbw_my']);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/^42$/m);
    const bad = await run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', cred.login, '-pwrong', '--skip-ssl', '-e', 'SELECT 1']);
    expect(bad.stderr).toMatch(/ERROR 1045 \(28000\): Access denied for user/);
  });
});

describe('PyMySQL', () => {
  it('queries, executemany, sees the blocked DELETE as 1227', async () => {
    const r = await run(PYTHON, [resolve('test/fixtures/clients/pymysql_session.py'), String(b.myPort), cred.login, cred.password, 'py_t']);
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.who).toEqual(['dbw_my_rw@%', 'dbw_my']);
    expect(out.rows).toBe(20);
    expect(out.blockedCode).toBe(1227);
    expect(out.blockedMessage).toMatch(/^dbwarden: blocked by rule unscoped-write/);
    expect(out.after).toBe(2);
  });
});

describe('mariadb npm connector', () => {
  it('pipelines queries, executes prepared statements, runs bulk batches', async () => {
    const c = await mariadb.createConnection({ host: '127.0.0.1', port: b.myPort, user: cred.login, password: cred.password, database: 'dbw_my' });
    try {
      // pipelining: several commands go out before their answers come back, one of them refused by the broker
      const results = await Promise.allSettled([
        c.query('SELECT 1 AS a'),
        c.query('DELETE FROM npm_t'),
        c.query('SELECT 3 AS c'),
        c.execute('SELECT ? AS d', [4]),
      ]);
      expect(results.map((x) => x.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      expect((results[0] as PromiseFulfilledResult<unknown[]>).value[0]).toEqual({ a: 1 });
      expect(((results[1] as PromiseRejectedResult).reason as { errno: number }).errno).toBe(1227);
      expect((results[2] as PromiseFulfilledResult<unknown[]>).value[0]).toEqual({ c: 3 });
      expect(Number(((results[3] as PromiseFulfilledResult<{ d: unknown }[]>).value[0]!).d)).toBe(4);
      const batch = await c.batch('INSERT INTO npm_t VALUES (?, ?)', Array.from({ length: 100 }, (_, i) => [i, `n${i}`]));
      expect(Number((batch as { affectedRows: number }).affectedRows)).toBe(100);
      const rows = await c.execute('SELECT COUNT(*) AS n FROM npm_t WHERE id >= ?', [50]);
      expect(Number(rows[0].n)).toBe(50);
      const blockedPrepare = await c.prepare('TRUNCATE TABLE npm_t').catch((e) => e);
      expect(blockedPrepare.errno).toBe(1227);
    } finally {
      await c.end();
    }
  });
});

describe('MariaDB Connector/J', () => {
  it.each([
    { name: 'server-side prepared statements', params: 'useServerPrepStmts=true' },
    { name: 'client-side statements over TLS', params: 'useSsl=true&trustServerCertificate=true' },
  ])('runs a session with $name', async ({ params }) => {
    if (!existsSync(JAR)) throw new Error(`Connector/J not found at ${JAR} (apt-get install libmariadb-java or set MARIADB_JDBC_JAR)`);
    await myAdmin('DELETE FROM dbw_my.jdbc_t');
    const url = `jdbc:mariadb://127.0.0.1:${b.myPort}/dbw_my?${params}`;
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
      execFile('java', ['-cp', JAR, resolve('test/fixtures/clients/MariadbJdbcSession.java'), url, cred.login, cred.password, 'jdbc_t'], { timeout: 50_000 }, (err, stdout, stderr) =>
        done({ code: err ? 1 : 0, stdout, stderr }));
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.connected).toBe(true);
    expect(out.prepared).toEqual([2, 4, 6, 8, 10]);
    expect(out.batchCounts).toBe(50);
    expect(out.rows).toBe(50);
    expect(out.tables).toEqual(['jdbc_t']);
    expect(out.columns).toEqual(['id:INT', 'v:VARCHAR']);
    expect(out.blockedCode).toBe(1227);
    expect(out.blockedState).toBe('42000');
    expect(out.blockedMessage).toMatch(/dbwarden: blocked by rule unscoped-write/);
    expect(out.afterRollback).toBe(0);
  }, 60_000);
});
