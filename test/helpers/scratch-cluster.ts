// Test helper: a throwaway PostgreSQL 15 cluster in a temp folder, with a chosen host auth method and optional TLS.
// Used where the shared local server cannot be reconfigured (pg_hba methods, server certificates).
import { execFile } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dataTemplate } from './data-template.js';
import { freePort } from '../../bench/lib/free-port.js';

export { freePort };

const run = promisify(execFile);
const PG_BIN = '/usr/lib/postgresql/15/bin';
/** An initdb result kept between runs: initdb takes seconds, copying its output a fraction of one. */
const TEMPLATE = '/tmp/dbw-scratch-pg15-template';

export type ScratchAuth = 'scram-sha-256' | 'md5' | 'password';

export interface ScratchCluster {
  port: number;
  /** CA certificate that signed the server certificate (only with ssl) */
  caFile: string | undefined;
  /** the temp folder holding data, socket and certificates */
  dir: string;
  database: string;
  /** login roles with passwords stored as the auth method needs them */
  roles: { rw: { user: string; password: string }; ro: { user: string; password: string } };
  /** runs SQL as the superuser over the cluster's unix socket (trust), returns psql's unaligned output */
  sql(query: string, database?: string): Promise<string>;
  /** pg_ctl restart -m fast: every backend gets FATAL 57P01 and the server comes back on the same port */
  restart(): Promise<void>;
  /** pg_ctl stop -m fast (start() brings it back) */
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function postgresIds(): Promise<{ uid: number; gid: number }> {
  return Promise.all([run('id', ['-u', 'postgres']), run('id', ['-g', 'postgres'])]).then(([u, g]) => ({
    uid: Number(u.stdout.trim()),
    gid: Number(g.stdout.trim()),
  }));
}

/** Runs a PostgreSQL binary as the postgres OS user: initdb and the postmaster refuse to run as root. */
function asPostgres(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const cmd = process.getuid?.() === 0 ? 'runuser' : join(PG_BIN, bin);
  const argv = process.getuid?.() === 0 ? ['-u', 'postgres', '--', join(PG_BIN, bin), ...args] : args;
  return run(cmd, argv, { encoding: 'utf8', timeout: 60_000 });
}

/**
 * Writes a self-signed CA (`<name>.crt`, `<name>.key`) into dir and returns the certificate path. Also used on
 * its own by tests that need a CA which did not sign the server certificate.
 */
export async function generateCa(dir: string, name = 'ca'): Promise<{ certFile: string; keyFile: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  await run('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=dbwarden test ${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return { certFile, keyFile };
}

/** A server certificate for 127.0.0.1 and localhost signed by the CA, so verify-full can check chain and name. */
async function generateServerCert(dir: string, ca: { certFile: string; keyFile: string }): Promise<{ certFile: string; keyFile: string }> {
  const keyFile = join(dir, 'server.key');
  const csr = join(dir, 'server.csr');
  const certFile = join(dir, 'server.crt');
  const ext = join(dir, 'server.ext');
  writeFileSync(ext, [
    'subjectAltName=IP:127.0.0.1,DNS:localhost',
    'basicConstraints=CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage=serverAuth',
    '',
  ].join('\n'));
  await run('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', '/CN=127.0.0.1']);
  await run('openssl', ['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-CAcreateserial', '-out', certFile, '-days', '2', '-extfile', ext]);
  return { certFile, keyFile };
}

function pristineData(ids: { uid: number; gid: number }): Promise<string> {
  return dataTemplate({ path: TEMPLATE, readyFile: 'PG_VERSION', ids, build: (dataDir) => asPostgres('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C']) });
}

export async function startScratchCluster(opts: { auth: ScratchAuth; ssl?: boolean; /** default 30; the soak benches raise it */ maxConnections?: number; sharedBuffers?: string }): Promise<ScratchCluster> {
  const dir = mkdtempSync('/tmp/dbw-scratch-pg-');
  const data = join(dir, 'data');
  const ids = await postgresIds();
  // the folder also holds the unix socket; the postgres user must own it, others may look inside
  chmodSync(dir, 0o755);
  chownSync(dir, ids.uid, ids.gid);
  const [port, template] = await Promise.all([freePort(), pristineData(ids)]);
  // cp -a keeps the postgres ownership and the 0700 mode the server insists on
  await run('cp', ['-a', template, data]);

  let caFile: string | undefined;
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${dir}'`,
    // md5 in pg_hba needs md5-hashed passwords: with SCRAM verifiers stored, the server switches to SCRAM
    `password_encryption = '${opts.auth === 'md5' ? 'md5' : 'scram-sha-256'}'`,
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    `shared_buffers = ${opts.sharedBuffers ?? '16MB'}`,
    `max_connections = ${opts.maxConnections ?? 30}`,
    'max_wal_senders = 0',
    'wal_level = minimal',
  ];
  if (opts.ssl) {
    const ca = await generateCa(dir, 'ca');
    const server = await generateServerCert(dir, ca);
    // PostgreSQL refuses a key file readable by others (it would let any local user impersonate the server)
    chownSync(server.keyFile, ids.uid, ids.gid);
    chmodSync(server.keyFile, 0o600);
    chownSync(server.certFile, ids.uid, ids.gid);
    caFile = ca.certFile;
    conf.push('ssl = on', `ssl_cert_file = '${server.certFile}'`, `ssl_key_file = '${server.keyFile}'`);
  }
  appendFileSync(join(data, 'postgresql.conf'), '\n' + conf.join('\n') + '\n');
  writeFileSync(join(data, 'pg_hba.conf'), `local all all trust\nhost all all 127.0.0.1/32 ${opts.auth}\n`);
  chownSync(join(data, 'pg_hba.conf'), ids.uid, ids.gid);

  await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '30', 'start']);

  const sql = async (query: string, database = 'postgres') =>
    (await run('psql', ['-h', dir, '-p', String(port), '-U', 'postgres', '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atqc', query], { encoding: 'utf8' })).stdout;

  const roles = {
    rw: { user: 'scratch_rw', password: 'rw-' + Math.random().toString(36).slice(2) },
    ro: { user: 'scratch_ro', password: 'ro-' + Math.random().toString(36).slice(2) },
  };
  const database = 'scratch';
  await sql(`create role ${roles.rw.user} login password '${roles.rw.password}'; create role ${roles.ro.user} login password '${roles.ro.password}'`);
  await sql(`create database ${database} owner ${roles.rw.user}`);

  let closed = false;
  return {
    port,
    caFile,
    dir,
    database,
    roles,
    sql,
    async restart() {
      await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-m', 'fast', '-w', '-t', '30', 'restart']);
    },
    async stop() {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop']);
    },
    async start() {
      await asPostgres('pg_ctl', ['-D', data, '-l', join(dir, 'postgres.log'), '-w', '-t', '30', 'start']);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
