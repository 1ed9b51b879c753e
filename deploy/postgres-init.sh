#!/bin/sh
# deploy/postgres-init.sh — first-start script of the compose postgres service: the upstream roles dbwarden
# maps grants to (read → app_ro, write → app_rw) and a small table to try the rules on.
# Run by the postgres image's entrypoint (sourced or executed) once, when the data volume is empty.
set -e
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v ro_pw="$APP_RO_PASSWORD" -v rw_pw="$APP_RW_PASSWORD" <<'SQL'
create role app_ro login password :'ro_pw';
create role app_rw login password :'rw_pw';
grant connect on database app to app_ro, app_rw;
grant usage on schema public to app_ro;
grant usage, create on schema public to app_rw;
-- tables app_rw creates later are readable by app_ro without further grants
alter default privileges for role app_rw in schema public grant select on tables to app_ro;

set role app_rw;
create table customers (id int primary key, name text not null, email text, phone text);
insert into customers values
  (1, 'Ada Lovelace', 'ada@example.com', '+44 20 7946 0001'),
  (2, 'Alan Turing', 'alan@example.com', '+44 20 7946 0002');
reset role;
SQL
