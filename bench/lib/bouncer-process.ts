// Runs pgbouncer (the Debian package's /usr/sbin/pgbouncer) as a child with a generated ini, as the reference proxy.
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tcpOpen, sleep } from './broker-process.js';
import type { ChildSet } from './children.js';
import { freePort } from './free-port.js';

export const PGBOUNCER_BIN = '/usr/sbin/pgbouncer';

export interface BouncerOptions {
  workDir: string;
  upstream: { host: string; port: number; database: string; user: string };
  maxClients: number;
}

export interface BouncerProcess {
  pid: number;
  port: number;
  output(): string;
}

/**
 * Session pooling: one upstream connection per client for the client's lifetime, which is what dbwarden does
 * (a grant's session owns its upstream connection), so both proxies do the same work per statement. It is
 * also the only mode in which `pgbench -M prepared` is correct on pgbouncer < 1.21 (no prepared-statement
 * tracking in transaction mode). Trust auth: logins are outside the measured window (pgbench reports TPS
 * without connection time), and the upstream is trust as well.
 */
export function bouncerIni(o: BouncerOptions, port: number, authFile: string): string {
  const u = o.upstream;
  return [
    '[databases]',
    `${u.database} = host=${u.host} port=${u.port} dbname=${u.database}`,
    '',
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${authFile}`,
    'pool_mode = session',
    `max_client_conn = ${o.maxClients + 20}`,
    `default_pool_size = ${o.maxClients + 4}`,
    'ignore_startup_parameters = extra_float_digits',
    'log_connections = 0',
    'log_disconnections = 0',
    '',
  ].join('\n');
}

export async function startBouncerProcess(children: ChildSet, o: BouncerOptions): Promise<BouncerProcess> {
  const dir = join(o.workDir, 'pgbouncer');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const authFile = join(dir, 'userlist.txt');
  const iniFile = join(dir, 'pgbouncer.ini');
  writeFileSync(authFile, `"${o.upstream.user}" ""\n`);
  writeFileSync(iniFile, bouncerIni(o, port, authFile));

  // pgbouncer refuses to run as root; -u drops to nobody, which must be able to read the generated files.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    for (const p of [o.workDir, dir]) chmodSync(p, 0o755);
    for (const f of [authFile, iniFile]) chmodSync(f, 0o644);
  }
  const { child, output } = children.start(PGBOUNCER_BIN, asRoot ? ['-u', 'nobody', iniFile] : [iniFile]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`pgbouncer exited (${child.exitCode ?? child.signalCode}):\n${output().trim().slice(-2000)}`);
    }
    if (await tcpOpen('127.0.0.1', port)) break;
    if (Date.now() > deadline) throw new Error(`pgbouncer not listening after 10 s:\n${output().trim().slice(-2000)}`);
    await sleep(50);
  }
  return { pid: child.pid!, port, output };
}
