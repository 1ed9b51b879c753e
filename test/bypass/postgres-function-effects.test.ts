// Issue 12 class 5 (PostgreSQL): a read grant calling an existing user function that may write. Proven on the real
// server first (a SECURITY DEFINER function and a volatile plpgsql function delete every row when called by a role
// with no DELETE privilege of its own / as the caller), then decided through a live broker with a read grant: the
// catalog snapshot (pg/function-catalog.ts) makes such calls writes; stable functions and builtins stay allowed.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';

const S = `dbw_fx_${randomBytes(4).toString('hex')}`;

async function superuser(): Promise<pg.Client> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'dbw_app' });
  await c.connect();
  return c;
}

describe('read grants and user functions that may write', () => {
  let b: TestBroker;
  let su: pg.Client;
  let reader: pg.Client;
  let writer: pg.Client;
  const count = async () => Number((await su.query(`select count(*) from ${S}.t`)).rows[0].count);

  beforeAll(async () => {
    su = await superuser();
    await su.query(`create schema ${S}; create table ${S}.t (id int); insert into ${S}.t values (1), (2), (3);
      create function ${S}.wipe() returns int language plpgsql volatile as $$ begin delete from ${S}.t; return 1; end $$;
      create function ${S}.wipe_definer() returns int language sql security definer as $$ delete from ${S}.t returning 1 $$;
      create function ${S}.peek_definer() returns bigint language sql stable security definer as $$ select count(*) from ${S}.t $$;
      create function ${S}.doubled(x int) returns int language sql immutable as $$ select x * 2 $$;
      create function ${S}.wipe_op(int, int) returns bool language plpgsql security definer as $$ begin delete from ${S}.t; return true; end $$;
      create operator ${S}.@@@ (function = ${S}.wipe_op, leftarg = int, rightarg = int);
      create function ${S}.rows_now() returns bigint language sql stable as $$ select count(*) from ${S}.t $$;
      create view ${S}.v_wipe as select ${S}.wipe_definer() as n;
      create view ${S}.v_over as select * from ${S}.v_wipe;
      create view ${S}.v_where as select id from ${S}.t where ${S}.wipe_definer() > 0;
      create view ${S}.v_op as select id from ${S}.t where id operator(${S}.@@@) 1;
      create view ${S}.v_ok as select id, ${S}.rows_now() as n, lower('X') as l from ${S}.t;
      create table ${S}.p (id int); insert into ${S}.p values (1); alter table ${S}.p enable row level security;
      create policy p_all on ${S}.p using (${S}.wipe_definer() > 0);
      create function ${S}.stable_wrap() returns int language sql stable as $$ select ${S}.wipe() $$;
      create function ${S}.immutable_wrap() returns int language plpgsql immutable as $$ begin return ${S}.wipe_definer(); end $$;
      create function ${S}.wrap_twice() returns int language sql stable as $$ select ${S}.stable_wrap() + 0 $$;
      create function ${S}.wrap_view() returns bigint language sql stable as $$ select count(*) from ${S}.v_wipe $$;
      create function ${S}.wrap_dynamic() returns int language plpgsql stable as $$ declare n int; begin execute 'select 1' into n; return n; end $$;
      create function ${S}.wrap_reads() returns bigint language sql stable as $$ select ${S}.rows_now() + length(lower('ab')) $$;
      create function ${S}.op_wrap(int, int) returns bool language sql stable as $$ select ${S}.wipe() > $1 + $2 $$;
      create operator ${S}.### (function = ${S}.op_wrap, leftarg = int, rightarg = int);
      create function ${S}.flip() returns int language sql stable as $$ select 1 $$;
      create function ${S}.flip2() returns int language sql stable as $$ select 1 $$;
      create type ${S}.mt as (a int);
      create function ${S}.wcast(int) returns ${S}.mt language plpgsql volatile as $$ begin delete from ${S}.t; return row($1)::${S}.mt; end $$;
      create cast (int as ${S}.mt) with function ${S}.wcast(int);
      create type ${S}.mt2 as (a bigint);
      create function ${S}.wcast2(bigint) returns ${S}.mt2 language plpgsql volatile as $$ begin delete from ${S}.t; return row($1)::${S}.mt2; end $$;
      create cast (bigint as ${S}.mt2) with function ${S}.wcast2(bigint) as implicit;
      create function ${S}.takes_mt2(${S}.mt2) returns int language plpgsql stable as $$ begin return 1; end $$;
      create sequence ${S}.sq;
      create view ${S}.v_seq as select id, nextval('${S}.sq') as n from ${S}.t;
      grant usage on sequence ${S}.sq to dbw_ro;
      grant usage on schema ${S} to dbw_ro, dbw_rw; grant select on ${S}.t to dbw_ro; grant select, delete on ${S}.t to dbw_rw;
      grant select on ${S}.v_wipe, ${S}.v_over, ${S}.v_where, ${S}.v_op, ${S}.v_ok, ${S}.p, ${S}.v_seq to dbw_ro`);
    b = await startTestBroker();
    const connect = async (access: 'read' | 'write') => {
      const cred = await b.grant({ access, who: 'alice', databases: ['dbw_app'] });
      const c = new pg.Client({ connectionString: b.url(cred, 'dbw_app') });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };
    reader = await connect('read');
    writer = await connect('write');
  });
  afterAll(async () => {
    await reader?.end().catch(() => undefined);
    await writer?.end().catch(() => undefined);
    await b?.close();
    await su?.query(`drop schema ${S} cascade`).catch(() => undefined);
    await su?.end();
  });

  it('on the real server: the read role deletes every row through a SECURITY DEFINER function', async () => {
    const direct = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'dbw_ro', password: 'dbw_ro_secret', database: 'dbw_app' });
    await direct.connect();
    try {
      await direct.query('begin');
      await direct.query(`select ${S}.wipe_definer()`);
      expect(Number((await direct.query(`select count(*) from ${S}.t`)).rows[0].count)).toBe(0);
      await direct.query('rollback');
      // and a volatile (non-definer) function deletes as whoever calls it
      await su.query('begin');
      await su.query(`select ${S}.wipe()`);
      expect(Number((await su.query(`select count(*) from ${S}.t`)).rows[0].count)).toBe(0);
      await su.query('rollback');
    } finally {
      await direct.end();
    }
    expect(await count()).toBe(3);
  });

  for (const sql of [`select ${S}.wipe()`, `select ${S}.wipe_definer()`, `select ${S}.peek_definer()`, `select * from ${S}.t where id = ${S}.wipe()`,
    `with x as (select ${S}.wipe_definer()) select * from x`, `select * from ${S}.t where 1 operator(${S}.@@@) id`]) {
    it(`read grant refuses: ${sql}`, async () => {
      const err = await reader.query(sql).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*may write/);
      expect(err?.code).toBe('42501');
      expect(await count()).toBe(3);
    });
  }

  it('on the real server: reading a view, a view over it, or a table whose policy calls the function deletes every row', async () => {
    const direct = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'dbw_ro', password: 'dbw_ro_secret', database: 'dbw_app' });
    await direct.connect();
    try {
      for (const rel of ['v_wipe', 'v_over', 'v_where', 'p']) {
        await direct.query('begin');
        await direct.query(`select * from ${S}.${rel}`);
        expect(Number((await direct.query(`select count(*) from ${S}.t`)).rows[0].count), rel).toBe(0);
        await direct.query('rollback');
      }
    } finally {
      await direct.end();
    }
    expect(await count()).toBe(3);
  });

  for (const rel of ['v_wipe', 'v_over', 'v_where', 'v_op', 'p']) {
    it(`read grant refuses reading ${rel}: it runs a function that may write`, async () => {
      const err = await reader.query(`select * from ${S}.${rel}`).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*through/);
      expect(err?.code).toBe('42501');
      expect(await count()).toBe(3);
    });
  }

  it('read grant reads a view over stable functions and builtins, unqualified names included', async () => {
    await reader.query(`set search_path = ${S}, public`);
    expect((await reader.query(`select count(*)::int as n from ${S}.v_ok`)).rows[0].n).toBe(3);
    expect((await reader.query(`select count(*)::int as n from v_ok`)).rows[0].n).toBe(3);
    const err = await reader.query(`select * from v_wipe`).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/read-only-writes/);
    await reader.query('reset search_path');
  });

  it('on the real server: the operator deletes every row (it is its SECURITY DEFINER function)', async () => {
    await su.query('begin');
    await su.query(`select 1 operator(${S}.@@@) 2`);
    expect(await count()).toBe(0);
    await su.query('rollback');
    expect(await count()).toBe(3);
  });

  it('read grant refuses a user function the catalog does not know (fail closed)', async () => {
    const err = await reader.query(`select ${S}.nonexistent_${randomBytes(3).toString('hex')}()`).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes/);
  });

  it('read grant allows stable and immutable functions, builtins and plain reads', async () => {
    expect((await reader.query(`select ${S}.doubled(21) as v`)).rows[0].v).toBe(42);
    expect(Number((await reader.query(`select ${S}.rows_now() as v`)).rows[0].v)).toBe(3);
    expect((await reader.query(`select lower('AB') as v, now() is not null as n, pg_catalog.upper('x') as u`)).rows[0]).toEqual({ v: 'ab', n: true, u: 'X' });
    expect((await reader.query(`select count(*)::int as n from ${S}.t`)).rows[0].n).toBe(3);
  });

  it('the extended protocol (Parse) is decided the same way', async () => {
    const err = await reader.query({ text: `select ${S}.wipe_definer() where $1::int = 1`, values: [1] }).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/read-only-writes/);
    expect(await count()).toBe(3);
  });

  it('a write grant still calls the volatile function', async () => {
    await writer.query('begin');
    await writer.query(`select ${S}.wipe()`);
    await writer.query('rollback');
    expect(await count()).toBe(3);
  });

  // issue 12 class 5: a function whose flags say it only reads (STABLE / IMMUTABLE, not SECURITY DEFINER) but whose
  // body calls one that may write is a writer: the body is read from the catalog and effects follow the calls
  it('on the real server: a STABLE or IMMUTABLE wrapper writes through what it calls', async () => {
    for (const f of ['stable_wrap', 'immutable_wrap', 'wrap_twice', 'wrap_view']) {
      await su.query('begin');
      await su.query(`select ${S}.${f}()`);
      expect(await count(), f).toBe(0);
      await su.query('rollback');
    }
    await su.query('begin');
    await su.query(`select 1 operator(${S}.###) 2`);
    expect(await count()).toBe(0);
    await su.query('rollback');
    expect(await count()).toBe(3);
  });

  for (const sql of [`select ${S}.stable_wrap()`, `select ${S}.immutable_wrap()`, `select ${S}.wrap_twice()`, `select ${S}.wrap_view()`,
    `select ${S}.wrap_dynamic()`, `select * from ${S}.t where id operator(${S}.###) 1`]) {
    it(`read grant refuses a clean-flagged function whose body may write: ${sql}`, async () => {
      const err = await reader.query(sql).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*may write/);
      expect(await count()).toBe(3);
    });
  }

  it('read grant allows a stable function whose body calls only reading functions and builtins', async () => {
    expect(Number((await reader.query(`select ${S}.wrap_reads() as v`)).rows[0].v)).toBe(5);
  });

  // casts: CREATE CAST … WITH FUNCTION runs that function for `x::type`
  it('on the real server: a cast to a user type runs its (writing) cast function', async () => {
    await su.query('begin');
    await su.query(`select 1::${S}.mt`);
    expect(await count()).toBe(0);
    await su.query('rollback');
    expect(await count()).toBe(3);
  });

  it('on the real server: an implicit cast to a user type runs its cast function when a function taking the type is called', async () => {
    await su.query('begin');
    await su.query(`select ${S}.takes_mt2(5::bigint)`);
    expect(await count()).toBe(0);
    await su.query('rollback');
    expect(await count()).toBe(3);
  });

  it('read grant refuses a call of a function reached by an implicit writing cast', async () => {
    const err = await reader.query(`select ${S}.takes_mt2(5::bigint)`).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*takes_mt2.*may write/);
    expect(await count()).toBe(3);
  });

  for (const sql of [`select 1::${S}.mt`, `select cast(id as ${S}.mt) from ${S}.t`]) {
    it(`read grant refuses a cast whose function may write: ${sql}`, async () => {
      const err = await reader.query(sql).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*cast to/);
      expect(await count()).toBe(3);
    });
  }

  // builtins a view calls: pg_depend lists none of them (pinned), so the view's text is read
  it('on the real server: reading a view advances a sequence (nextval is not in pg_depend)', async () => {
    const deps = await su.query(`select count(*)::int as n from pg_depend d join pg_rewrite r on d.classid = 'pg_rewrite'::regclass and d.objid = r.oid
      where r.ev_class = '${S}.v_seq'::regclass and d.refclassid = 'pg_proc'::regclass`);
    expect(deps.rows[0].n).toBe(0);
    const direct = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'dbw_ro', password: 'dbw_ro_secret', database: 'dbw_app' });
    await direct.connect();
    try {
      const before = (await su.query(`select last_value, is_called from ${S}.sq`)).rows[0];
      await direct.query(`select * from ${S}.v_seq`);
      const after = (await su.query(`select last_value, is_called from ${S}.sq`)).rows[0];
      expect(after).not.toEqual(before);
    } finally {
      await direct.end();
    }
  });

  it('read grant refuses reading a view that calls a writing builtin', async () => {
    const err = await reader.query(`select * from ${S}.v_seq`).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*nextval through/);
  });

  // the race: a function replaced between two catalog snapshots was decided by its old entry
  it('a function replaced by another connection right before the call is decided by its new definition', async () => {
    expect((await reader.query(`select ${S}.flip() as v`)).rows[0].v).toBe(1);
    await su.query(`create or replace function ${S}.flip() returns int language plpgsql volatile as $$ begin delete from ${S}.t; return 2; end $$`);
    try {
      const err = await reader.query(`select ${S}.flip()`).then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*flip.*may write/);
      const ext = await reader.query({ text: `select ${S}.flip() where $1::int = 1`, values: [1] }).then(() => undefined, (e: Error) => e);
      expect(ext?.message).toMatch(/read-only-writes/);
      expect(await count()).toBe(3);
      // and back: a function made clean again is allowed at once (drop + create: a new identity)
      await su.query(`drop function ${S}.flip(); create function ${S}.flip() returns int language sql stable as $$ select 3 $$`);
      expect((await reader.query(`select ${S}.flip() as v`)).rows[0].v).toBe(3);
    } finally {
      await su.query(`create or replace function ${S}.flip() returns int language sql stable as $$ select 1 $$`);
    }
  });

  // the same race across executions: a statement prepared while the function was clean, executed after it changed
  it('a prepared statement executed after its function was replaced is decided again at Bind', async () => {
    const q = { name: `flipq_${S}`, text: `select ${S}.flip2() as v` };
    expect((await reader.query(q)).rows[0].v).toBe(1);
    await su.query(`create or replace function ${S}.flip2() returns int language plpgsql volatile security definer as $$ begin delete from ${S}.t; return 2; end $$`);
    try {
      const err = await reader.query(q).then(() => undefined, (e: Error & { code?: string }) => e);
      expect(err?.message).toMatch(/^dbwarden: blocked by rule read-only-writes: .*flip2.*may write/);
      expect(err?.code).toBe('42501');
      expect(await count()).toBe(3);
      // the connection goes on: other statements still run
      expect((await reader.query('select 5 as v')).rows[0].v).toBe(5);
    } finally {
      await su.query(`drop function ${S}.flip2(); create function ${S}.flip2() returns int language sql stable as $$ select 1 $$`);
    }
  });
});
