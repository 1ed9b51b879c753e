// Login refusals real clients can act on (issue 16): an unreachable upstream and a login of the other protocol
// get a proper ERR / FATAL at the stage the client expects, read by the mariadb CLI, PyMySQL and psql as text.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../helpers/broker.js';
import { startMysqlTestBroker, type MysqlTestBroker } from '../helpers/mysql.js';

const PYTHON = process.env.PYMYSQL_PYTHON ?? '/usr/bin/python3';
const roles = { read: { user: 'root' }, write: { user: 'root' }, admin: { user: 'root' } };
let b: MysqlTestBroker;

beforeAll(async () => {
  b = await startMysqlTestBroker({
    listen: { mysql: '127.0.0.1:0', postgres: '127.0.0.1:0', admin: '127.0.0.1:0' },
    targets: {
      // port 1: nothing listens there, the upstream connection is refused
      dead: { protocol: 'mysql', host: '127.0.0.1', port: 1, databases: ['dbw_my'], tls: 'disable', rulesets: ['safe-defaults'], roles },
      app: { protocol: 'postgres', host: '127.0.0.1', port: 5432, databases: ['postgres'], tls: 'disable', rulesets: ['safe-defaults'], roles: { read: { user: 'postgres' } } },
    },
  });
});
afterAll(async () => {
  await b?.close();
});

async function grant(target: string, database: string): Promise<{ id: string; login: string; password: string }> {
  const res = await fetch(`${b.admin.url}/v1/requests`, {
    method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
    body: JSON.stringify({ target, access: 'read', ttl: '10m', reason: 'login errors', databases: [database] }),
  });
  const body = (await res.json()) as { grant: { grantId?: string; id?: string; login: string; password: string } };
  return { id: body.grant.grantId ?? body.grant.id ?? '', login: body.grant.login, password: body.grant.password };
}

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('close', (code) => {
      clearTimeout(t);
      done({ code: code ?? -1, stdout, stderr });
    });
  });
}

const mariadb = (login: string, password: string, ssl: string) =>
  run('mariadb', ['-h', '127.0.0.1', '-P', String(b.myPort), '-u', login, `--password=${password}`, ssl, '-e', 'SELECT 1']);
const pymysql = (login: string, password: string) =>
  run(PYTHON, ['-c', `import pymysql, sys\ntry:\n  pymysql.connect(host='127.0.0.1', port=int(sys.argv[1]), user=sys.argv[2], password=sys.argv[3])\nexcept pymysql.err.MySQLError as e:\n  print(e.args[0]); print(e.args[1])`, String(b.myPort), login, password]);

describe('MySQL listener', () => {
  it('an unreachable upstream is ERR 1429 with the broker\'s text, not "2027 Received malformed packet"', async () => {
    const g = await grant('dead', 'dbw_my');
    for (const ssl of ['--skip-ssl', '--ssl']) {
      const r = await mariadb(g.login, g.password, ssl);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toBe('ERROR 1429 (HY000): dbwarden: upstream dead unavailable');
    }
    const py = await pymysql(g.login, g.password);
    expect(py.stderr).toBe('');
    expect(py.stdout).toBe('1429\ndbwarden: upstream dead unavailable\n');
  });

  it('a PostgreSQL-target login is told to use the PostgreSQL listener', async () => {
    const g = await grant('app', 'postgres');
    const want = `dbwarden: grant ${g.id} is for the PostgreSQL target "app": connect with a PostgreSQL client to the broker's PostgreSQL listener at 127.0.0.1:${b.pg!.port}`;
    for (const ssl of ['--skip-ssl', '--ssl']) {
      const r = await mariadb(g.login, g.password, ssl);
      expect(r.stderr.trim()).toBe(`ERROR 1043 (08S01): ${want}`);
    }
    const py = await pymysql(g.login, g.password);
    expect(py.stdout).toBe(`1043\n${want}\n`);
  });
});

describe('PostgreSQL listener', () => {
  it('a MySQL-target login is told to use the MySQL listener (FATAL 08004)', async () => {
    const g = await grant('dead', 'dbw_my');
    const r = await run('psql', ['-X', '-h', '127.0.0.1', '-p', String(b.pg!.port), '-U', g.login, '-d', 'dbw_my', '-c', 'SELECT 1'], { PGPASSWORD: g.password, PGSSLMODE: 'disable' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`FATAL:  dbwarden: grant ${g.id} is for the MySQL target "dead": connect with a MySQL client to the broker's MySQL listener at 127.0.0.1:${b.myPort}`);
  });
});
