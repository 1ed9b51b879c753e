// Prepares the benchmark database on the local PostgreSQL: pgbench tables, a large table for throughput, a login role.
import type { ChildSet } from './children.js';

export interface DatasetOptions {
  host: string;
  port: number;
  /** superuser that creates everything (trust auth on the local server) */
  adminUser: string;
  database: string;
  /** pgbench -i scale factor (100,000 accounts per unit) */
  scale: number;
  /** rows in the throughput table `big` */
  bigRows: number;
  /** role the broker (and the direct and pgbouncer paths) log in as */
  role: { user: string; password: string };
  /** drop and rebuild the tables even when they look right */
  fresh: boolean;
  log: (line: string) => void;
}

/**
 * Idempotent: tables that already have the expected size are kept, because rebuilding them costs about
 * half a minute that a repeated run should not pay. Both tables are vacuumed after loading so the first
 * measured scan does not pay for setting hint bits (that would penalise whichever path runs first).
 */
export async function prepareDataset(children: ChildSet, o: DatasetOptions): Promise<void> {
  const psql = async (sql: string, db = o.database): Promise<string> => {
    const r = await children.run('psql', ['-X', '-h', o.host, '-p', String(o.port), '-U', o.adminUser, '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atqc', sql]);
    if (r.code !== 0) throw new Error(`psql failed (${sql.slice(0, 60)}…): ${r.stderr.trim()}`);
    return r.stdout.trim();
  };

  if (!(await psql(`select 1 from pg_database where datname = '${o.database}'`, 'postgres'))) {
    o.log(`creating database ${o.database}`);
    await psql(`create database ${o.database}`, 'postgres');
  }

  // A query naming a missing table fails at plan time even in an untaken CASE branch, hence two steps.
  const rowsOf = async (table: string) => ((await psql(`select to_regclass('public.${table}') is not null`)) === 't' ? Number(await psql(`select count(*) from ${table}`)) : -1);

  if (o.fresh || (await rowsOf('pgbench_branches')) !== o.scale || (await rowsOf('pgbench_accounts')) !== o.scale * 100_000) {
    o.log(`pgbench -i -s ${o.scale} (about 10 s)`);
    const r = await children.run('pgbench', ['-i', '-q', '-s', String(o.scale), '-h', o.host, '-p', String(o.port), '-U', o.adminUser, o.database]);
    if (r.code !== 0) throw new Error(`pgbench -i failed: ${r.stderr.trim()}`);
  }

  if (o.fresh || (await rowsOf('big')) !== o.bigRows) {
    o.log(`creating table big with ${o.bigRows.toLocaleString('en-US')} rows (about 10 s)`);
    await psql(`drop table if exists big; create table big as select g as id, md5(g::text) as v from generate_series(1, ${o.bigRows}) g`);
    await psql('vacuum (analyze, freeze) big');
  }

  // The password matters only if pg_hba asks for one; with trust it is still what the broker is configured with.
  const pw = o.role.password.replace(/'/g, "''");
  await psql(`do $$ begin
    if not exists (select 1 from pg_roles where rolname = '${o.role.user}') then create role ${o.role.user} login password '${pw}';
    else alter role ${o.role.user} login password '${pw}'; end if;
  end $$`);
  await psql(`grant connect on database ${o.database} to ${o.role.user}; grant usage on schema public to ${o.role.user};
    grant select, insert, update, delete on all tables in schema public to ${o.role.user}`);
}

/** Bytes of `COPY big TO STDOUT` text (and of psql -At output): each row is "<id>\t<32 hex>\n". */
export function bigTableTextBytes(rows: number): number {
  let bytes = rows * 34;
  for (let digits = 1, lo = 1; lo <= rows; digits++, lo *= 10) {
    bytes += (Math.min(rows, lo * 10 - 1) - lo + 1) * digits;
  }
  return bytes;
}
