// Runs once before all test files: makes sure the local PostgreSQL has the roles and database the
// integration tests broker to (upstream credentials the users never see).
import { execFileSync } from 'node:child_process';
import { ensureMysqlFixtures } from './helpers/mysql-fixtures.js';

export const PG = { host: '127.0.0.1', port: 5432 };

function psql(sql: string, db = 'postgres'): string {
  return execFileSync('psql', ['-h', PG.host, '-p', String(PG.port), '-U', 'postgres', '-d', db, '-v', 'ON_ERROR_STOP=1', '-Atqc', sql], { encoding: 'utf8' });
}

export default async function setup(): Promise<void> {
  try {
    psql('select 1');
  } catch {
    throw new Error('PostgreSQL is not reachable at 127.0.0.1:5432 (run .ci/run, or start it: pg_ctlcluster ... main start)');
  }
  if (!psql("select 1 from pg_database where datname = 'dbw_app'").trim()) psql('create database dbw_app');
  if (!psql("select 1 from pg_database where datname = 'dbw_other'").trim()) psql('create database dbw_other');
  psql(`do $$ begin
    if not exists (select 1 from pg_roles where rolname = 'dbw_ro') then create role dbw_ro login password 'dbw_ro_secret'; end if;
    if not exists (select 1 from pg_roles where rolname = 'dbw_rw') then create role dbw_rw login password 'dbw_rw_secret'; end if;
  end $$`);
  psql(`grant connect on database dbw_app to dbw_ro, dbw_rw;
    grant all on schema public to dbw_rw;
    grant usage on schema public to dbw_ro;
    alter default privileges for role dbw_rw in schema public grant select on tables to dbw_ro;`, 'dbw_app');
  // the MariaDB fixtures too, so no MySQL test depends on another one having created them (fresh machine, any order)
  try {
    await ensureMysqlFixtures();
  } catch (e) {
    throw new Error(`MariaDB is not reachable at 127.0.0.1:3306 as root (run .ci/run): ${(e as Error).message}`);
  }
}
