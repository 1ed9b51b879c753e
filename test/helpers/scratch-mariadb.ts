// Test helper: a throwaway MariaDB server (own datadir, port and socket under /tmp) for tests that must stop,
// restart or break the upstream, which the shared local server must never be.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mysql from 'mysql2/promise';
import { dataTemplate } from './data-template.js';
import { freePort } from './scratch-cluster.js';

const run = promisify(execFile);
/** mariadb-install-db's output kept between runs: installing takes seconds, copying a fraction of one. */
const TEMPLATE = '/tmp/dbw-scratch-mariadb-template';

export interface ScratchMariadb {
  port: number;
  dir: string;
  database: string;
  roles: { rw: { user: string; password: string }; ro: { user: string; password: string } };
  /** runs SQL as root over the server's unix socket */
  sql(query: string): Promise<unknown>;
  /** SIGTERM (a clean shutdown, like `systemctl restart`) and start again on the same port and datadir */
  restart(): Promise<void>;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

async function mysqlIds(): Promise<{ uid: number; gid: number }> {
  const [u, g] = await Promise.all([run('id', ['-u', 'mysql']), run('id', ['-g', 'mysql'])]);
  return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
}

function pristineData(ids: { uid: number; gid: number }): Promise<string> {
  return dataTemplate({ path: TEMPLATE, readyFile: 'mysql', ids, build: (dataDir) => run('mariadb-install-db', ['--no-defaults', `--datadir=${dataDir}`, '--user=mysql', '--auth-root-authentication-method=normal', '--skip-test-db'], { timeout: 60_000 }) });
}

export async function startScratchMariadb(opts: { /** default 50; the soak benches raise it */ maxConnections?: number } = {}): Promise<ScratchMariadb> {
  const ids = await mysqlIds();
  const dir = mkdtempSync('/tmp/dbw-scratch-mariadb-');
  chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const [port, template] = await Promise.all([freePort(), pristineData(ids)]);
  cpSync(template, data, { recursive: true });
  await run('chown', ['-R', `${ids.uid}:${ids.gid}`, data]);
  const socket = join(dir, 'mysqld.sock');
  let child: ChildProcess | undefined;

  const start = async () => {
    child = spawn('/usr/sbin/mariadbd', [
      '--no-defaults', `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${socket}`,
      `--pid-file=${join(dir, 'mysqld.pid')}`, '--user=mysql', '--skip-log-bin', '--innodb-buffer-pool-size=16M',
      '--innodb-log-file-size=8M', `--max-connections=${opts.maxConnections ?? 50}`, '--skip-name-resolve', `--log-error=${join(dir, 'error.log')}`,
    ], { stdio: 'ignore' });
    const until = Date.now() + 30_000;
    for (;;) {
      try {
        const c = await mysql.createConnection({ socketPath: socket, user: 'root' });
        await c.end();
        return;
      } catch (e) {
        if (Date.now() > until || child.exitCode !== null) throw new Error(`scratch MariaDB did not start: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
    if (c.exitCode === null) c.kill('SIGKILL');
  };
  const sql = async (query: string) => {
    const c = await mysql.createConnection({ socketPath: socket, user: 'root', multipleStatements: true });
    try {
      const [rows] = await c.query(query);
      return rows;
    } finally {
      await c.end();
    }
  };

  await start();
  const roles = {
    rw: { user: 'scratch_rw', password: 'rw-' + Math.random().toString(36).slice(2) },
    ro: { user: 'scratch_ro', password: 'ro-' + Math.random().toString(36).slice(2) },
  };
  const database = 'scratch';
  await sql(`CREATE DATABASE ${database};
    CREATE USER '${roles.rw.user}'@'%' IDENTIFIED BY '${roles.rw.password}'; GRANT ALL ON ${database}.* TO '${roles.rw.user}'@'%';
    CREATE USER '${roles.ro.user}'@'%' IDENTIFIED BY '${roles.ro.password}'; GRANT SELECT ON ${database}.* TO '${roles.ro.user}'@'%';`);

  let closed = false;
  return {
    port,
    dir,
    database,
    roles,
    sql,
    async restart() {
      await stop();
      await start();
    },
    stop,
    start,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
