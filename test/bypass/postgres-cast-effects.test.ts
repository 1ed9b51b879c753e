// Read grants and casts (PostgreSQL): a user-defined cast runs its function when the server applies it, and the
// text need not name that function — nor, for implicit casts, the cast. Proven on the real server first (the read
// role, SELECT only, deletes every row through a SECURITY DEFINER cast function: a cast to a domain over the cast's
// target, to the array type by its own name, an implicit cast applied to a column read, a view's column, a
// function's result, a parameter the client typed, a clean-flagged function's body, and a type's typmod_in),
// then decided through a live broker with a read grant (pg/function-catalog.ts CONVERSIONS_SQL and
// IMPLICIT_CASTS_SQL, session/function-effects.ts): refused, naming the cast and its function. Harmless casts (an
// IMMUTABLE function) still pass.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { cstr, errorsOf, int32, RawPg, SYNC, typed } from '../helpers/raw-pg.js';

const S = `dbw_cx_${randomBytes(4).toString('hex')}`;
const DIRECT = { host: '127.0.0.1', port: 5432, user: 'dbw_ro', password: 'dbw_ro_secret', database: 'dbw_app' };

/** Parse with declared parameter type OIDs, Bind (text values), Execute, Sync. */
function typedParse(text: string, oids: number[], values: string[]): Buffer {
  const n = (x: number) => Buffer.from([x >> 8, x & 255]);
  return Buffer.concat([
    typed('P', Buffer.concat([cstr(''), cstr(text), n(oids.length), ...oids.map(int32)])),
    typed('B', Buffer.concat([cstr(''), cstr(''), n(0), n(values.length), ...values.flatMap((v) => [int32(Buffer.byteLength(v)), Buffer.from(v)]), n(0)])),
    typed('E', Buffer.concat([cstr(''), int32(0)])),
    SYNC,
  ]);
}

describe('read grants and casts whose functions may write', () => {
  let b: TestBroker;
  let su: pg.Client;
  let reader: pg.Client;
  let cred: { login: string; password: string };
  let sOid = 0;
  const count = async () => Number((await su.query(`select count(*) from ${S}.t`)).rows[0].count);

  beforeAll(async () => {
    su = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'dbw_app' });
    await su.connect();
    // every writer below is SECURITY DEFINER, owned by the superuser: it deletes what the read role may not
    await su.query(`create schema ${S}; create table ${S}.t (id int); insert into ${S}.t values (1), (2), (3);
      create type ${S}.tt as (v int);
      create function ${S}.int_to_tt(int) returns ${S}.tt language plpgsql volatile security definer
        as $$ begin delete from ${S}.t; return row($1); end $$;
      create cast (int as ${S}.tt) with function ${S}.int_to_tt(int);
      create domain ${S}.dtt as ${S}.tt;
      create type ${S}.s as (v int);
      create function ${S}.s_to_text(${S}.s) returns text language plpgsql volatile security definer
        as $$ begin delete from ${S}.t; return 'x'; end $$;
      create cast (${S}.s as text) with function ${S}.s_to_text(${S}.s) as implicit;
      create table ${S}.holder (x ${S}.s); insert into ${S}.holder values (row(1));
      create view ${S}.vh as select x from ${S}.holder;
      create function ${S}.make_s() returns ${S}.s language sql stable as $$ select row(1)::${S}.s $$;
      create function ${S}.s_plus(${S}.s, ${S}.s) returns ${S}.s language sql immutable as $$ select row(($1).v + ($2).v)::${S}.s $$;
      create operator ${S}.#+# (function = ${S}.s_plus, leftarg = ${S}.s, rightarg = ${S}.s);
      create function ${S}.len_stable() returns int language sql stable as $$ select length(x) from ${S}.holder $$;
      create type ${S}.u as (v int);
      create function ${S}.u_to_text(${S}.u) returns text language plpgsql volatile security definer
        as $$ begin delete from ${S}.t; return 'u'; end $$;
      create cast (${S}.u as text) with function ${S}.u_to_text(${S}.u);
      create table ${S}.uholder (x ${S}.u); insert into ${S}.uholder values (row(1));
      create function ${S}.wipe() returns int language plpgsql volatile security definer as $$ begin delete from ${S}.t; return 1; end $$;
      create domain ${S}.dchk as int check (${S}.wipe() > 0);
      create function ${S}.takes_dchk(${S}.dchk) returns int language plpgsql stable as $$ begin return 1; end $$;
      create type ${S}.ct as (f ${S}.tt);
      create type ${S}.io;
      create function ${S}.io_in(cstring) returns ${S}.io language internal immutable strict as 'textin';
      create function ${S}.io_out(${S}.io) returns cstring language internal immutable strict as 'textout';
      create function ${S}.io_mod(cstring[]) returns int language plpgsql security definer
        as $$ begin delete from ${S}.t; return 1; end $$;
      create type ${S}.io (input = ${S}.io_in, output = ${S}.io_out, typmod_in = ${S}.io_mod, internallength = variable);
      create type ${S}.ht as (v int);
      create function ${S}.int_to_ht(int) returns ${S}.ht language sql immutable as $$ select row($1)::${S}.ht $$;
      create cast (int as ${S}.ht) with function ${S}.int_to_ht(int);
      create domain ${S}.dht as ${S}.ht;
      create type ${S}.hs as (v int);
      create function ${S}.hs_to_text(${S}.hs) returns text language sql immutable as $$ select 'h' || $1.v $$;
      create cast (${S}.hs as text) with function ${S}.hs_to_text(${S}.hs) as implicit;
      create table ${S}.hholder (x ${S}.hs); insert into ${S}.hholder values (row(7));
      grant usage on schema ${S} to dbw_ro; grant usage on type ${S}.io to dbw_ro;
      grant select on ${S}.t, ${S}.holder, ${S}.vh, ${S}.hholder, ${S}.uholder to dbw_ro`);
    sOid = Number((await su.query(`select '${S}.s'::regtype::oid as o`)).rows[0].o);
    b = await startTestBroker();
    cred = await b.grant({ access: 'read', who: 'alice', databases: ['dbw_app'] });
    reader = new pg.Client({ connectionString: b.url(cred, 'dbw_app') });
    reader.on('error', () => undefined);
    await reader.connect();
  });
  afterAll(async () => {
    await reader?.end().catch(() => undefined);
    await b?.close();
    await su?.query(`drop schema ${S} cascade`).catch(() => undefined);
    await su?.end();
  });

  const attacks: [string, string, RegExp][] = [
    ['a cast to a domain over the cast target', `select 1::${S}.dtt`, new RegExp(`${S}\\.int_to_tt \\(cast \\(integer as ${S}\\.tt\\), by a cast to ${S}\\.dtt\\)`)],
    ['a cast to the array type by its own name', `select array[1]::${S}._tt`, new RegExp(`${S}\\.int_to_tt \\(cast \\(integer as ${S}\\.tt\\), by a cast to ${S}\\._tt\\)`)],
    ['an implicit cast applied to a column read', `select length(x) from ${S}.holder`, new RegExp(`${S}\\.s_to_text \\(implicit cast \\(${S}\\.s as text\\), on values read from ${S}\\.holder\\)`)],
    ['an implicit cast applied to a view column', `select length(x) from ${S}.vh`, new RegExp(`${S}\\.s_to_text \\(implicit cast \\(${S}\\.s as text\\), on values read from ${S}\\.vh\\)`)],
    ['an implicit cast applied to a function result', `select length(${S}.make_s())`, new RegExp(`${S}\\.s_to_text \\(implicit cast \\(${S}\\.s as text\\), on values of ${S}\\.make_s\\)`)],
    ['an implicit cast applied to an operator result over literals', `select length('(1)' operator(${S}.#+#) '(2)')`, new RegExp(`${S}\\.s_to_text \\(implicit cast \\(${S}\\.s as text\\), on values of ${S}\\.s_plus \\(operator ${S}\\.#\\+#\\)\\)`)],
    ['an implicit cast applied to a converted value', `select length(row(1)::${S}.s)`, new RegExp(`${S}\\.s_to_text \\(implicit cast \\(${S}\\.s as text\\), on a value converted to ${S}\\.s\\)`)],
    ['an implicit cast inside a STABLE function body', `select ${S}.len_stable()`, new RegExp(`${S}\\.len_stable`)],
    ['an explicit cast from a user type to a system type', `select x::text from ${S}.uholder`, new RegExp(`${S}\\.u_to_text \\(cast \\(${S}\\.u as text\\), on values read from ${S}\\.uholder\\)`)],
    ['a domain whose CHECK constraint calls a writer', `select 1::${S}.dchk`, new RegExp(`${S}\\.wipe \\(check constraint dchk_check of domain ${S}\\.dchk, by a cast to ${S}\\.dchk\\)`)],
    ['a STABLE function taking that domain (its argument is coerced)', `select ${S}.takes_dchk(1)`, new RegExp(`${S}\\.takes_dchk, which may write`)],
    ['a cast to a composite type applying a field\'s cast', `select row(1)::${S}.ct`, new RegExp(`${S}\\.int_to_tt \\(cast \\(integer as ${S}\\.tt\\), by a cast to ${S}\\.ct\\)`)],
    ['a type modifier input function', `select 'a'::${S}.io(5)`, new RegExp(`${S}\\.io_mod \\(type modifier input of ${S}\\.io, by a cast to ${S}\\.io\\)`)],
  ];

  it('on the real server: each statement deletes every row as the read role (SELECT only)', async () => {
    const direct = new pg.Client(DIRECT);
    await direct.connect();
    try {
      // the read role cannot delete on its own
      await expect(direct.query(`delete from ${S}.t`)).rejects.toThrow(/permission denied/);
      for (const [what, sql] of attacks) {
        await direct.query('begin');
        await direct.query(sql);
        expect(Number((await direct.query(`select count(*) from ${S}.t`)).rows[0].count), what).toBe(0);
        await direct.query('rollback');
      }
    } finally {
      await direct.end();
    }
    expect(await count()).toBe(3);
  });

  it('on the real server: a parameter the client types (Parse) as the source type applies the implicit cast', async () => {
    const raw = await RawPg.connect({ port: 5432, user: 'dbw_ro', password: 'dbw_ro_secret', database: 'dbw_app' });
    try {
      raw.write(typed('Q', cstr('begin')));
      await raw.untilReady();
      raw.write(typedParse('select length($1)', [sOid], ['(1)']));
      expect(errorsOf(await raw.untilReady())).toEqual([]);
      raw.write(typed('Q', cstr(`select count(*) from ${S}.t`)));
      const rows = (await raw.untilReady()).filter((m) => m.name === 'dataRow');
      expect(JSON.stringify(rows)).toContain('"0"');
      raw.write(typed('Q', cstr('rollback')));
      await raw.untilReady();
    } finally {
      raw.end();
    }
    expect(await count()).toBe(3);
  });

  for (const [what, sql, names] of attacks) {
    it(`read grant refuses ${what}: ${sql}`, async () => {
      const err = await reader.query(sql).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*may write/);
      expect(err?.message).toMatch(names);
      expect(err?.code).toBe('42501');
      expect(await count()).toBe(3);
    });
  }

  it('read grant refuses a parameter typed (Parse) as a type an implicit writing cast applies to', async () => {
    const raw = await RawPg.connect({ port: b.pgPort, user: cred.login, password: cred.password, database: 'dbw_app' });
    try {
      raw.write(typedParse('select length($1)', [sOid], ['(1)']));
      const errors = errorsOf(await raw.untilReady());
      expect(errors[0]?.message).toMatch(new RegExp(`read-only-writes: .*${S}\\.s_to_text \\(implicit cast \\(${S}\\.s as text\\), on a parameter`));
    } finally {
      raw.end();
    }
    expect(await count()).toBe(3);
  });

  it('read grant allows casts bound to IMMUTABLE functions (through a domain too), an implicit one on a column, and plain reads', async () => {
    expect((await reader.query(`select (1::${S}.ht).v as a, (2::${S}.dht).v as b`)).rows[0]).toEqual({ a: 1, b: 2 });
    expect((await reader.query(`select length(x) as n from ${S}.hholder`)).rows[0].n).toBe(2);
    expect((await reader.query(`select count(*)::int as n from ${S}.t where id = $1`, [2])).rows[0].n).toBe(1);
    expect((await reader.query(`select 'a'::text as a, 1::bigint as b`)).rows[0]).toEqual({ a: 'a', b: '1' });
    expect(await count()).toBe(3);
  });
});
