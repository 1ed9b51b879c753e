// Real psql through the broker (plain and TLS): meta-commands, transactions, COPY both ways, PREPARE, blocking and
// cancel via the broker's BackendKeyData; then LISTEN/NOTIFY and a client that dies mid-COPY.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';

let b: TestBroker;
let cred: Awaited<ReturnType<TestBroker['grant']>>;
let dir: string;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs psql without any user configuration; resolves when it exits. */
function psql(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', ['-X', '-v', 'ON_ERROR_STOP=0', '-P', 'pager=off', ...args], {
      env: { ...process.env, PSQLRC: '/dev/null', PGCONNECT_TIMEOUT: '5', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

async function upstreamCount(sql: string, params: unknown[]): Promise<number> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows[0].n as number;
  } finally {
    await c.end();
  }
}

async function waitFor(f: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await f()) return true;
    if (Date.now() > end) return false;
    await sleep(100);
  }
}

beforeAll(async () => {
  b = await startTestBroker();
  cred = await b.grant({ access: 'write' });
  dir = mkdtempSync(join(tmpdir(), 'dbw-psql-'));
  await adminSql(`
    drop table if exists psql_plain, psql_tls, psql_copykill;
    create table psql_plain (id int primary key, v text);
    create table psql_tls (id int primary key, v text);
    create table psql_copykill (id int, v text);
    alter table psql_plain owner to dbw_rw;
    alter table psql_tls owner to dbw_rw;
    alter table psql_copykill owner to dbw_rw;`);
});

afterAll(async () => {
  await b?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.each([
  { mode: 'disable', table: 'psql_plain' },
  { mode: 'require', table: 'psql_tls' },
])('psql with sslmode=$mode', ({ mode, table }) => {
  const url = () => b.url(cred, 'dbw_app', `sslmode=${mode}`);

  it('runs the catalog meta-commands', async () => {
    const r = await psql([url(), '-c', '\\conninfo', '-c', '\\dt', '-c', `\\d ${table}`, '-c', '\\dn', '-c', '\\df', '-c', '\\l', '-c', '\\du']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`You are connected to database "dbw_app" as user "${cred.login}"`);
    if (mode === 'require') expect(r.stdout).toMatch(/SSL connection \(protocol: TLSv1\.[23]/);
    else expect(r.stdout).not.toContain('SSL connection');
    expect(r.stdout).toMatch(new RegExp(`public \\| ${table} +\\| table \\| dbw_rw`)); // \dt
    expect(r.stdout).toContain(`Table "public.${table}"`); // \d
    expect(r.stdout).toContain(`"${table}_pkey" PRIMARY KEY, btree (id)`);
    expect(r.stdout).toContain('List of schemas'); // \dn
    expect(r.stdout).toContain('List of functions'); // \df
    expect(r.stdout).toMatch(/List of databases[\s\S]*dbw_app/); // \l
    expect(r.stdout).toMatch(/List of roles[\s\S]*dbw_rw/); // \du
  });

  it('runs a script: transaction, \\copy in and out, COPY FROM STDIN, PREPARE/EXECUTE, blocked statements', async () => {
    const inFile = join(dir, `${table}-in.tsv`);
    const outFile = join(dir, `${table}-out.tsv`);
    const rows = Array.from({ length: 200 }, (_, i) => `${i + 1}\trow ${i + 1} "quoted" \\\\ back`).join('\n') + '\n';
    writeFileSync(inFile, rows);
    const script = join(dir, `${table}.sql`);
    writeFileSync(
      script,
      [
        'BEGIN;',
        `INSERT INTO ${table} VALUES (1000, 'in-tx');`,
        'COMMIT;',
        `\\copy ${table} from '${inFile}'`,
        `\\copy (select id, v from ${table} where id <= 200 order by id) to '${outFile}'`,
        `COPY ${table} FROM STDIN;`,
        '2001\tinline-a',
        '2002\tinline-b',
        '\\.',
        `PREPARE by_id(int) AS SELECT v FROM ${table} WHERE id = $1;`,
        'EXECUTE by_id(2002);',
        'DEALLOCATE by_id;',
        `DELETE FROM ${table};`,
        // server-side file access is refused; libpq's large-object calls use the FunctionCall message, refused too
        `COPY ${table} TO '${join(dir, 'server-side.out')}';`,
        `\\lo_import '${inFile}'`,
        `SELECT 'count=' || count(*) AS n FROM ${table};`,
        '',
      ].join('\n'),
    );
    const r = await psql([url(), '-f', script]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('BEGIN\nINSERT 0 1\nCOMMIT\nCOPY 200\nCOPY 200\nCOPY 2\nPREPARE\n');
    expect(r.stdout).toMatch(/ inline-b\n\(1 row\)/);
    expect(r.stdout).toContain('DEALLOCATE');
    expect(r.stderr).toContain('ERROR:  dbwarden: blocked by rule unscoped-write');
    expect(r.stderr).toContain('ERROR:  dbwarden: blocked by rule file-access');
    expect(r.stderr).toContain('ERROR:  dbwarden: blocked by rule dynamic-sql');
    // those three are the only errors, and the DELETE removed nothing
    expect(r.stderr.match(/ERROR:/g)).toHaveLength(3);
    expect(existsSync(join(dir, 'server-side.out'))).toBe(false);
    expect(r.stdout).toContain('count=203');
    expect(readFileSync(outFile, 'utf8')).toBe(rows);
  });

  it('SIGINT cancels pg_sleep through the broker and the interactive session continues', async () => {
    // `script` gives psql a terminal, so it stays interactive (a non-interactive psql exits after a cancel).
    const cmd = `exec psql '${url()}' -X -P pager=off`;
    const child: ChildProcess = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...process.env, PSQLRC: '/dev/null', TERM: 'dumb', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const kill = setTimeout(() => child.kill('SIGKILL'), 25_000);
    try {
      expect(await waitFor(async () => /=>\s*$/.test(out), 5000)).toBe(true);
      const appName = 'dbw_cancel_' + Date.now();
      child.stdin!.write(`SET application_name = '${appName}';\n`);
      expect(await waitFor(async () => /\nSET\r?\n/.test(out), 5000)).toBe(true); // the command tag, not the echo
      child.stdin!.write('SELECT pg_sleep(30);\n');
      // running upstream (polled: a fixed wait failed whenever the statement took longer than that to arrive)
      expect(await waitFor(async () => (await upstreamCount("select count(*)::int as n from pg_stat_activity where application_name = $1 and query like 'SELECT pg_sleep%'", [appName])) === 1, 10_000)).toBe(true);
      const t0 = Date.now();
      // `exec` in the script command makes psql the direct child of script
      const psqlPid = await childPid(child.pid!);
      process.kill(psqlPid, 'SIGINT');
      expect(await waitFor(async () => out.includes('canceling statement due to user request'), 5000)).toBe(true);
      expect(Date.now() - t0).toBeLessThan(5000);
      child.stdin!.write("SELECT 'still' || 'alive' AS probe;\n");
      expect(await waitFor(async () => out.includes('stillalive'), 5000)).toBe(true);
      child.stdin!.write('\\q\n');
      expect(await exited).toBe(0);
    } finally {
      clearTimeout(kill);
      child.kill('SIGKILL');
    }
  });
});

describe('psql notifications and disconnects', () => {
  it('LISTEN/NOTIFY between two node-postgres clients through the broker', async () => {
    const listener = new pg.Client({ connectionString: b.url(cred) });
    const notifier = new pg.Client({ connectionString: b.url(cred) });
    await listener.connect();
    await notifier.connect();
    try {
      const got = new Promise<pg.Notification>((resolve) => listener.on('notification', resolve));
      await listener.query('LISTEN dbw_chan');
      await notifier.query("NOTIFY dbw_chan, 'hello through the broker'");
      const n = await Promise.race([got, sleep(5000).then(() => null)]);
      expect(n?.channel).toBe('dbw_chan');
      expect(n?.payload).toBe('hello through the broker');
      // pg_notify is an ordinary function call, not server administration
      const got2 = new Promise<pg.Notification>((resolve) => listener.once('notification', resolve));
      await notifier.query("select pg_notify('dbw_chan', 'second')");
      expect((await Promise.race([got2, sleep(5000).then(() => null)]))?.payload).toBe('second');
    } finally {
      await listener.end();
      await notifier.end();
    }
  });

  it('a client killed mid-COPY FROM STDIN leaves no upstream backend and the broker keeps serving', async () => {
    const appName = 'dbw_copykill_' + Date.now();
    const child = spawn('psql', [b.url(cred, 'dbw_app', `sslmode=disable&application_name=${appName}`), '-X', '-c', 'COPY psql_copykill FROM STDIN'], {
      env: { ...process.env, PSQLRC: '/dev/null' },
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.stdin.on('error', () => undefined);
    const exited = new Promise((resolve) => child.on('close', resolve));
    // a steady stream of rows, never ending the COPY
    const line = Buffer.from('1\t' + 'x'.repeat(200) + '\n');
    let writing = true;
    const pump = async () => {
      while (writing) {
        const chunk = Buffer.concat(Array.from({ length: 100 }, () => line));
        // the pipe closes without a drain once psql is killed
        if (!child.stdin.write(chunk)) await new Promise((r) => { child.stdin.once('drain', r); child.stdin.once('close', r); });
        await sleep(5);
      }
    };
    const pumping = pump().catch(() => undefined);
    const inCopy = await waitFor(
      async () => (await upstreamCount("select count(*)::int as n from pg_stat_activity where application_name = $1 and query like 'COPY%' and state = 'active'", [appName])) === 1,
      5000,
    );
    expect(inCopy).toBe(true);
    child.kill('SIGKILL');
    writing = false;
    await exited;
    await pumping;
    const gone = await waitFor(async () => (await upstreamCount('select count(*)::int as n from pg_stat_activity where application_name = $1', [appName])) === 0, 5000);
    expect(gone).toBe(true);
    // nothing of the interrupted COPY was committed
    const rows = (await adminSql('select count(*)::int as n from psql_copykill')) as pg.QueryResult;
    expect(rows.rows[0].n).toBe(0);
    const r = await psql([b.url(cred), '-Atc', 'select 40 + 2']);
    expect(r.stdout.trim()).toBe('42');
  });
});

/** The pid of the only child process of `pid` (Linux /proc). */
async function childPid(pid: number): Promise<number> {
  for (let i = 0; i < 50; i++) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      if (kids.length === 1) return kids[0]!;
    } catch {
      // the process table entry may not be readable yet
    }
    await sleep(50);
  }
  throw new Error(`no child process under ${pid}`);
}
