// Scratch database dbw_bypass for the bypass suite: fixture tables, fingerprint functions, and the proof runner that
// demonstrates on the real server what each blocked case does.
import pg from 'pg';
import type { BypassCase, Proof } from './bypass-case.js';

export const BYPASS_DB = 'dbw_bypass';
const SERVER = { host: '127.0.0.1', port: 5432, user: 'postgres' };

/** Files the server writes for COPY … TO / lo_export cases; removed before and after the run. */
export const SCRATCH_FILE_PREFIX = '/tmp/dbw_bypass_';

export async function superuser(database = BYPASS_DB, applicationName = 'dbw_bypass'): Promise<pg.Client> {
  const c = new pg.Client({ ...SERVER, database, application_name: applicationName });
  c.on('error', () => undefined);
  await c.connect();
  return c;
}

export async function ensureDatabase(): Promise<void> {
  const c = await superuser('postgres');
  try {
    const exists = await c.query('select 1 from pg_database where datname = $1', [BYPASS_DB]);
    if (exists.rowCount === 0) await c.query(`create database ${BYPASS_DB}`);
  } finally {
    await c.end();
  }
  const db = await superuser();
  try {
    await db.query(META);
  } finally {
    await db.end();
  }
}

// Fingerprints live in schema dbw_meta so rebuilding `public` never touches them, and they skip their own schema.
const META = `
create schema if not exists dbw_meta;
create or replace function dbw_meta.fp_data() returns text language plpgsql as $f$
declare r record; part text; acc text := '';
begin
  for r in select c.oid::regclass as rel, c.relkind from pg_class c join pg_namespace n on n.oid = c.relnamespace
           where n.nspname = 'public' and c.relkind in ('r', 'm', 'S') order by c.relname loop
    if r.relkind = 'S' then
      execute format('select last_value::text || is_called::text from %s', r.rel) into part;
    else
      -- row versions and row locks show in xmin/xmax even when an UPDATE writes the same values back
      execute format('select coalesce(string_agg(x::text || ''@'' || x.xmin::text || ''/'' || x.xmax::text, '','' order by x::text), '''') from %s x', r.rel) into part;
    end if;
    acc := acc || r.rel::text || '=' || md5(part) || ';';
  end loop;
  return acc || 'lo=' || (select count(*) from pg_largeobject_metadata);
end $f$;
create or replace function dbw_meta.fp_schema() returns text language sql as $f$
  with ns as (select oid, nspname from pg_namespace where nspname not in ('pg_catalog', 'information_schema', 'dbw_meta') and nspname not like 'pg_toast%')
  select md5(concat_ws('|',
    (select string_agg(nspname, ',' order by nspname) from ns),
    (select string_agg(c.relname || ':' || c.relkind::text || ':' || c.relfilenode::text || ':' || c.relpersistence::text, ',' order by c.relname, c.oid) from pg_class c join ns on ns.oid = c.relnamespace),
    (select string_agg(a.attrelid::text || ':' || a.attname || ':' || a.atttypid::text || ':' || a.attnotnull::text, ',' order by a.attrelid, a.attnum) from pg_attribute a join pg_class c on c.oid = a.attrelid join ns on ns.oid = c.relnamespace where a.attnum > 0),
    (select string_agg(p.proname || ':' || md5(coalesce(p.prosrc, '')), ',' order by p.oid) from pg_proc p join ns on ns.oid = p.pronamespace),
    (select string_agg(t.tgname, ',' order by t.oid) from pg_trigger t),
    (select string_agg(r.rulename || ':' || r.ev_class::text, ',' order by r.oid) from pg_rewrite r join pg_class c on c.oid = r.ev_class join ns on ns.oid = c.relnamespace),
    (select string_agg(d.objoid::text || ':' || md5(d.description), ',' order by d.objoid, d.objsubid) from pg_description d where d.objoid >= 16384),
    (select string_agg(conname, ',' order by oid) from pg_constraint where connamespace in (select oid from ns)),
    (select string_agg(typname, ',' order by oid) from pg_type where typnamespace in (select oid from ns)),
    (select string_agg(extname, ',' order by extname) from pg_extension),
    (select string_agg(evtname, ',' order by evtname) from pg_event_trigger),
    (select string_agg(lanname, ',' order by lanname) from pg_language),
    (select string_agg(srvname, ',' order by srvname) from pg_foreign_server),
    (select string_agg(polname, ',' order by polname) from pg_policy)
  ))
$f$;
create or replace function dbw_meta.fp_privileges() returns text language sql as $f$
  select md5(concat_ws('|',
    (select string_agg(rolname || ':' || concat(rolsuper, rolcreaterole, rolcreatedb, rolcanlogin, rolbypassrls) || coalesce(rolpassword, ''), ',' order by rolname) from pg_authid),
    (select string_agg(roleid::text || ':' || member::text, ',' order by roleid, member) from pg_auth_members),
    (select string_agg(c.oid::text || ':' || c.relowner::text || ':' || coalesce(c.relacl::text, ''), ',' order by c.oid) from pg_class c where c.oid >= 16384),
    (select string_agg(nspname || ':' || nspowner::text || ':' || coalesce(nspacl::text, ''), ',' order by oid) from pg_namespace),
    (select string_agg(defaclrole::text || ':' || defaclacl::text, ',' order by oid) from pg_default_acl),
    (select string_agg(datname || ':' || coalesce(datacl::text, ''), ',' order by oid) from pg_database),
    (select string_agg(p.oid::text || ':' || p.proowner::text || ':' || coalesce(p.proacl::text, ''), ',' order by p.oid) from pg_proc p where p.oid >= 16384),
    (select string_agg(setdatabase::text || ':' || setrole::text || ':' || setconfig::text, ',' order by setdatabase, setrole) from pg_db_role_setting)
  ))
$f$;
`;

/** Rebuilds schema public with the fixture tables; run before the suite and after every case that commits. */
export async function resetFixture(c: pg.Client): Promise<void> {
  await c.query(`
    drop schema if exists public cascade;
    create schema public;
    create extension if not exists dblink schema public;
    create table public.t (id int primary key, v text);
    insert into public.t select g, 'row ' || g from generate_series(1, 5) g;
    create table public.accounts (id int primary key, owner text not null, balance int not null, note text);
    insert into public.accounts values (1, 'ann', 100, null), (2, 'ben', 200, null), (3, 'cat', 300, 'vip');
    create table public.customers (id int primary key, name text, email text, phone text);
    insert into public.customers values (1, 'Ann', 'ann@example.com', '+1 555 0101'), (2, 'Ben', 'ben@example.com', '+1 555 0102');
    create table public.notes (body text);
    alter table public.notes owner to dbw_rw;
    create table public."T" (id int);
    insert into public."T" values (42);
    create sequence public.s;
    create view public.v_t as select id, v from public.t;
    create materialized view public.mv as select id from public.t;
    create index t_v_idx on public.t (v);
    create table public.rls_t (id int primary key, owner text);
    insert into public.rls_t values (1, 'dbw_ro'), (2, 'dbw_rw');
    alter table public.rls_t enable row level security;
    alter table public.rls_t force row level security;
    create policy own_rows on public.rls_t using (owner = current_user);
    grant usage on schema public to dbw_ro, dbw_rw;
    grant select on all tables in schema public to dbw_ro;
    grant all on all tables in schema public to dbw_rw;
    grant all on all sequences in schema public to dbw_rw;
    grant create on schema public to dbw_rw;
  `);
  await c.query(`grant connect on database ${BYPASS_DB} to dbw_ro, dbw_rw`);
  // COPY FROM a server file needs a file that exists
  await c.query(`copy (select 'from a server file') to '${SCRATCH_FILE_PREFIX}input.txt'`);
}

export async function removeScratchFiles(c: pg.Client): Promise<void> {
  await c.query(`copy (select 1) to program 'rm -f ${SCRATCH_FILE_PREFIX}*'`);
}

async function scalar(c: pg.Client, sql: string): Promise<unknown> {
  const r = await c.query(sql);
  const row = r.rows[0] as Record<string, unknown> | undefined;
  return row ? Object.values(row)[0] : undefined;
}

function fingerprintOf(p: Proof): string | undefined {
  switch (p.kind) {
    case 'data': return 'select dbw_meta.fp_data()';
    case 'schema': return 'select dbw_meta.fp_schema()';
    case 'privileges': return 'select dbw_meta.fp_privileges()';
    case 'changes': return `select (${p.expr})::text`;
    default: return undefined;
  }
}

/** Session state a case may leave behind that a rollback does not undo (prepared statements, advisory locks, …). */
async function clean(c: pg.Client): Promise<void> {
  await c.query('rollback').catch(() => undefined);
  await c.query('discard all');
}

/** Text of every row of every result, for `returns` proofs. */
function resultText(r: pg.QueryResult | pg.QueryResult[]): string {
  const all = Array.isArray(r) ? r : [r];
  return JSON.stringify(all.map((x) => x.rows));
}

/**
 * Runs a blocked case as superuser and returns what it demonstrably did, or throws with the reason the proof
 * failed. `c` is a connection to dbw_bypass; the fixture is rebuilt after cases that commit.
 */
export async function prove(c: pg.Client, k: BypassCase): Promise<void> {
  const p = k.proof;
  if (!p) throw new Error('a block case needs a proof');
  const inTxn = k.txn !== false;
  let victim: pg.Client | undefined;
  let listener: pg.Client | undefined;
  try {
    if (p.kind === 'victim') {
      victim = await superuser(BYPASS_DB, 'dbw_bypass_victim');
      victim.on('error', () => undefined);
    }
    let heard: Promise<boolean> | undefined;
    if (p.kind === 'notify') {
      listener = await superuser();
      await listener.query(`listen ${p.channel}`);
      heard = new Promise((resolve) => {
        const t = setTimeout(() => resolve(false), 2000);
        listener!.on('notification', (n) => {
          if (n.channel === p.channel) {
            clearTimeout(t);
            resolve(true);
          }
        });
      });
    }
    const running = p.kind === 'victim' && p.effect === 'cancelled' ? victim!.query('select pg_sleep(20)').then(() => null, (e) => e) : undefined;
    const dying = p.kind === 'victim' && p.effect === 'terminated' ? new Promise<Error>((resolve) => victim!.once('error', resolve)) : undefined;
    if (running) await new Promise((r) => setTimeout(r, 100));

    if (inTxn) await c.query('begin');
    const fp = fingerprintOf(p);
    const before = fp ? await scalar(c, fp) : undefined;
    const result = await c.query(k.sql);
    const after = fp ? await scalar(c, fp) : undefined;

    switch (p.kind) {
      case 'data':
      case 'schema':
      case 'privileges':
      case 'changes':
        if (before === after) throw new Error(`${p.kind} proof: ${fp} is unchanged (${String(before)})`);
        break;
      case 'returns':
        if (!p.match.test(resultText(result))) throw new Error(`returns proof: ${resultText(result).slice(0, 200)} does not match ${p.match}`);
        break;
      case 'then': {
        const ok = await scalar(c, p.check);
        if (p.cleanup) await c.query(p.cleanup);
        if (ok !== true) throw new Error(`then proof: ${p.check} answered ${String(ok)}`);
        break;
      }
      case 'victim': {
        const e = (await Promise.race([running ?? dying, new Promise((r) => setTimeout(() => r('timeout'), 2000))])) as Error & { code?: string } | 'timeout' | null;
        const code = typeof e === 'object' && e ? e.code : undefined;
        const want = p.effect === 'cancelled' ? '57014' : '57P01';
        if (p.effect === 'terminated' && e !== 'timeout' && e && !code) break; // connection dropped without a code
        if (code !== want) throw new Error(`victim proof: expected ${want}, got ${e === 'timeout' ? 'nothing within 2 s' : String(code ?? e)}`);
        break;
      }
      case 'notify':
        if (inTxn) await c.query('commit');
        if (!(await heard)) throw new Error(`notify proof: nothing heard on ${p.channel}`);
        break;
    }
  } finally {
    await clean(c);
    if (!inTxn) await resetFixture(c);
    await victim?.end().catch(() => undefined);
    await listener?.end().catch(() => undefined);
  }
}

/** Runs an allowed case as superuser inside a rolled-back transaction: it must be valid SQL that runs. */
export async function runsCleanly(c: pg.Client, k: BypassCase): Promise<void> {
  try {
    if (k.txn !== false) await c.query('begin');
    await c.query(k.sql);
  } finally {
    await clean(c);
    if (k.txn === false) await resetFixture(c);
  }
}
