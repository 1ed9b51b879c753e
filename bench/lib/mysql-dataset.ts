// Prepares the MySQL benchmark database on the local server: sysbench tables and a login role with a password.
import type { ChildSet } from './children.js';

export interface MysqlDatasetOptions {
  host: string;
  port: number;
  /** account that creates everything (root without a password on the local server) */
  adminUser: string;
  adminPassword?: string;
  database: string;
  tables: number;
  tableSize: number;
  /** role the broker (and the direct path) log in as; gets SELECT on the database only */
  role: { user: string; password: string };
  /** drop and re-create the tables even when they look right */
  fresh: boolean;
  log: (line: string) => void;
}

/** `sysbench oltp_read_only` options that name the data set; prepare, run and cleanup must agree on them. */
export function sysbenchTableArgs(o: { tables: number; tableSize: number }): string[] {
  return [`--tables=${o.tables}`, `--table-size=${o.tableSize}`];
}

export function sysbenchConnArgs(c: { host: string; port: number; user: string; password?: string; database: string }): string[] {
  return [
    '--db-driver=mysql',
    `--mysql-host=${c.host}`,
    `--mysql-port=${c.port}`,
    `--mysql-user=${c.user}`,
    ...(c.password ? [`--mysql-password=${c.password}`] : []),
    `--mysql-db=${c.database}`,
  ];
}

/**
 * SQL that (re)creates the benchmark role with mysql_native_password, for '%' and 'localhost' alike: a TCP
 * login from 127.0.0.1 may match either host, and an anonymous ''@localhost would otherwise shadow '%'.
 * MariaDB and MySQL 8 name the plugin with different syntax. Only SELECT is granted: the benchmark takes
 * a read grant, and a read-only upstream role is what a real deployment maps read grants to.
 */
export function roleSql(o: Pick<MysqlDatasetOptions, 'database' | 'role'>, flavor: 'mariadb' | 'mysql'): string {
  const pw = o.role.password.replace(/\\/g, '\\\\').replace(/'/g, "''");
  const auth = flavor === 'mariadb' ? `IDENTIFIED VIA mysql_native_password USING PASSWORD('${pw}')` : `IDENTIFIED WITH mysql_native_password BY '${pw}'`;
  const out: string[] = [];
  for (const host of ['%', 'localhost']) {
    const who = `'${o.role.user}'@'${host}'`;
    out.push(`CREATE USER IF NOT EXISTS ${who} ${auth};`, `ALTER USER ${who} ${auth};`, `GRANT SELECT ON \`${o.database}\`.* TO ${who};`);
  }
  return out.join('\n');
}

/**
 * Idempotent: tables that already have the expected rows are kept (sysbench prepare takes a few seconds,
 * and a repeated run should measure the same data). The role is re-created every time so its password
 * always matches the one the broker is configured with.
 */
export async function prepareMysqlDataset(children: ChildSet, o: MysqlDatasetOptions): Promise<{ version: string }> {
  const env = { ...process.env, ...(o.adminPassword ? { MYSQL_PWD: o.adminPassword } : {}) };
  const sql = async (text: string): Promise<string> => {
    const r = await children.run('mysql', ['-h', o.host, '-P', String(o.port), '-u', o.adminUser, '--batch', '--skip-column-names', '-e', text], { env });
    if (r.code !== 0) throw new Error(`mysql failed (${text.slice(0, 60)}…): ${r.stderr.trim()}`);
    return r.stdout.trim();
  };
  const version = await sql('SELECT VERSION()');
  await sql(`CREATE DATABASE IF NOT EXISTS \`${o.database}\``);

  const counts = await Promise.all(
    Array.from({ length: o.tables }, async (_, i) => {
      const t = `sbtest${i + 1}`;
      const exists = await sql(`SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '${o.database}' AND table_name = '${t}'`);
      return exists === '1' ? Number(await sql(`SELECT COUNT(*) FROM \`${o.database}\`.${t}`)) : -1;
    }),
  );
  if (o.fresh || counts.some((c) => c !== o.tableSize)) {
    const admin = sysbenchConnArgs({ host: o.host, port: o.port, user: o.adminUser, password: o.adminPassword, database: o.database });
    o.log(`sysbench oltp_read_only ${sysbenchTableArgs(o).join(' ')} prepare`);
    // cleanup first: prepare refuses to run over a table that already exists, e.g. a half-filled one.
    const clean = await children.run('sysbench', ['oltp_read_only', ...sysbenchTableArgs(o), ...admin, 'cleanup']);
    if (clean.code !== 0) throw new Error(`sysbench cleanup failed: ${(clean.stderr + clean.stdout).trim().slice(-500)}`);
    const prep = await children.run('sysbench', ['oltp_read_only', ...sysbenchTableArgs(o), ...admin, 'prepare']);
    if (prep.code !== 0) throw new Error(`sysbench prepare failed: ${(prep.stderr + prep.stdout).trim().slice(-500)}`);
  }

  await sql(roleSql(o, /mariadb/i.test(version) ? 'mariadb' : 'mysql'));
  return { version };
}
