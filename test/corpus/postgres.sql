## Statements PostgreSQL drivers and frameworks send (one per line). Prefix "R " = read grant too; else write grant.
## Rails pg adapter
R SET client_min_messages TO 'warning'
R SET standard_conforming_strings = on
R SET intervalstyle = iso_8601
R SHOW max_identifier_length
R SELECT t.oid, t.typname FROM pg_type as t WHERE t.typname IN ('int2', 'int4', 'int8', 'oid', 'float4', 'float8', 'bool')
R SELECT "corpus_users".* FROM "corpus_users" WHERE "corpus_users"."id" = $1 LIMIT $2
W INSERT INTO "corpus_users" ("name", "email") VALUES ($1, $2) RETURNING "id"
W UPDATE "corpus_users" SET "name" = $1 WHERE "corpus_users"."id" = $2
W DELETE FROM "corpus_users" WHERE "corpus_users"."id" = $1
W CREATE TABLE "corpus_posts" ("id" bigserial primary key, "title" character varying, "user_id" bigint, "created_at" timestamp(6) NOT NULL)
R SELECT pg_try_advisory_lock(1)
## Django
R SELECT "corpus_users"."id", "corpus_users"."name" FROM "corpus_users" WHERE "corpus_users"."email"::text LIKE 'ann%' ORDER BY "corpus_users"."id" ASC LIMIT 21
W UPDATE "corpus_users" SET "name" = 'x' WHERE "corpus_users"."id" IN (1, 2, 3)
R SELECT c.relname, CASE WHEN c.relispartition THEN 'p' WHEN c.relkind IN ('m', 'v') THEN 'v' ELSE 't' END FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('f', 'm', 'p', 'r', 'v') AND n.nspname NOT IN ('pg_catalog', 'pg_toast') AND pg_catalog.pg_table_is_visible(c.oid)
R SET TIME ZONE 'UTC'
## SQLAlchemy / psycopg2
R select pg_catalog.version()
R select current_schema()
R show standard_conforming_strings
R SELECT CAST('test plain returns' AS VARCHAR(60)) AS anon_1
R BEGIN ISOLATION LEVEL READ COMMITTED
## Prisma / TypeORM / Sequelize / node-postgres
R SELECT "corpus_users"."id", "corpus_users"."name" FROM "corpus_users" WHERE "corpus_users"."id" = $1 LIMIT $2 OFFSET $3
W INSERT INTO "corpus_users" ("name","email") VALUES ($1,$2) RETURNING "corpus_users"."id"
R SELECT * FROM current_schema()
R SELECT "User"."id" AS "User_id" FROM "corpus_users" "User" WHERE "User"."id" = $1
W INSERT INTO "corpus_users" ("name","email") VALUES ($1,$2) ON CONFLICT ("id") DO UPDATE SET "name" = EXCLUDED."name"
W UPDATE "corpus_users" SET "name"=$1 WHERE "id" = $2
## Hibernate / pgjdbc
R SET extra_float_digits = 3
R SET application_name = 'PostgreSQL JDBC Driver'
R select u1_0.id,u1_0.email,u1_0.name from corpus_users u1_0 where u1_0.id=$1
W update corpus_users set email=$1,name=$2 where id=$3
W delete from corpus_users where id=$1
## Go pgx / lib/pq
R select 1
R SELECT t.typname FROM pg_type t WHERE t.oid = $1
## psql (psql -E)
R SELECT n.nspname as "Schema", c.relname as "Name", CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' END as "Type", pg_catalog.pg_get_userbyid(c.relowner) as "Owner" FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p','v','m','S','f','') AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_toast' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2
R SELECT d.datname as "Name", pg_catalog.pg_get_userbyid(d.datdba) as "Owner", pg_catalog.pg_encoding_to_char(d.encoding) as "Encoding" FROM pg_catalog.pg_database d ORDER BY 1
R SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(corpus_users)$' COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3
R SELECT r.rolname, r.rolsuper, r.rolinherit FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY 1
## pg_dump
R SET statement_timeout = 0
R SELECT pg_catalog.set_config('search_path', '', false)
R SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY
R LOCK TABLE corpus_users IN ACCESS SHARE MODE
## Metabase / Grafana style
R SELECT date_trunc('day', "created_at") AS "created_at", count(*) AS "count" FROM "corpus_users" GROUP BY 1 ORDER BY 1 ASC
R SELECT extract(epoch from created_at) AS "time", count(*) FROM corpus_users WHERE created_at BETWEEN '2024-01-01T00:00:00Z' AND '2025-01-01T00:00:00Z' GROUP BY 1 ORDER BY 1
## role switching back
R SET ROLE NONE
R RESET ROLE
## more CRUD with bind styles (node-postgres, psycopg2 after interpolation)
W UPDATE corpus_users SET name = 'y', email = NULL WHERE id = 7 RETURNING id
W DELETE FROM corpus_users WHERE id = ANY($1::int[])
R SELECT id FROM corpus_users WHERE name = ANY(ARRAY['a','b']) ORDER BY id LIMIT 10
