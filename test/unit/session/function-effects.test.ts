// Read grants and user functions (session/function-effects.ts, mysql/function-effects.ts): which calls become writes.
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import { withFunctionEffects, type FunctionCatalogView, type FunctionVerdict } from '../../../src/session/function-effects.js';
import { MysqlFunctionCatalog, type MysqlFunctionRow } from '../../../src/mysql/function-effects.js';

const pgView = (user: Record<string, FunctionVerdict> | null): FunctionCatalogView => ({
  builtin: (n) => n.startsWith('pg_catalog.') || (!n.includes('.') && ['now', 'lower', 'count'].includes(n) && !(user && n in user)),
  verdict: (n) => (user ? user[n] ?? 'unknown' : null),
});

describe('withFunctionEffects', () => {
  beforeAll(() => initSql());
  const facts = (sql: string) => analyze('postgres', sql);
  it('adds a write effect for user functions that may write, and names them', () => {
    const r = withFunctionEffects(facts('select app.wipe(), lower(x) from t'), pgView({ 'app.wipe': 'writes' }), [], 'postgres');
    expect(r?.names).toEqual(['app.wipe']);
    expect(r?.statements[0]!.effects).toContain('write');
  });
  it('leaves builtins and reading functions alone (no change at all)', () => {
    expect(withFunctionEffects(facts('select now(), pg_catalog.upper(x), app.peek() from t'), pgView({ 'app.peek': 'reads' }), [], 'postgres')).toBeUndefined();
  });
  it('treats unknown user functions, and every user function without a catalog, as writing', () => {
    expect(withFunctionEffects(facts('select app.ghost()'), pgView({}), [], 'postgres')?.names).toEqual(['app.ghost']);
    expect(withFunctionEffects(facts('select app.peek()'), pgView(null), [], 'postgres')?.names).toEqual(['app.peek']);
  });
  it('a clean glob exempts a checked function', () => {
    expect(withFunctionEffects(facts('select app.wipe()'), pgView({ 'app.wipe': 'writes' }), ['app.*'], 'postgres')).toBeUndefined();
  });
  it('an unqualified name a user schema also defines is decided by the user function', () => {
    expect(withFunctionEffects(facts('select lower(x) from t'), pgView({ lower: 'writes' }), [], 'postgres')?.names).toEqual(['lower']);
  });
});

describe('reading a relation is calling what it calls', () => {
  beforeAll(() => initSql());
  const rels: Record<string, string[] | null> = { 'app.v_wipe': ['app.wipe'], 'app.v_ok': ['app.peek', 'pg_catalog.lower'], 'app.v_seq': ['pg_catalog.nextval'], 'app.hidden': null };
  const view: FunctionCatalogView = { ...pgView({ 'app.wipe': 'writes', 'app.peek': 'reads' }), relationCalls: (n) => (n in rels ? (rels[n] as string[] | null) : []) };
  it('a view calling a function that may write makes the read a write, and says through which view', () => {
    expect(withFunctionEffects(analyze('postgres', 'select * from app.v_wipe'), view, [], 'postgres')?.names).toEqual(['app.wipe through app.v_wipe']);
  });
  it('views over reading functions and plain tables stay reads', () => {
    expect(withFunctionEffects(analyze('postgres', 'select * from app.v_ok join app.t using (id)'), view, [], 'postgres')).toBeUndefined();
  });
  it('a builtin reached through a view has its own effect (nextval is a write); an unreadable definition fails closed', () => {
    expect(withFunctionEffects(analyze('postgres', 'select * from app.v_seq'), view, [], 'postgres')?.statements[0]!.effects).toContain('write');
    expect(withFunctionEffects(analyze('postgres', 'select * from app.hidden'), view, [], 'postgres')?.names).toEqual(['app.hidden (a view whose definition cannot be read)']);
  });
  it('a clean mark on the view or on the function exempts it; a relation written to is not read', () => {
    expect(withFunctionEffects(analyze('postgres', 'select * from app.v_wipe'), view, ['app.v_wipe'], 'postgres')).toBeUndefined();
    expect(withFunctionEffects(analyze('postgres', 'select * from app.v_wipe'), view, ['app.wipe'], 'postgres')).toBeUndefined();
  });
});

describe('MysqlFunctionCatalog', () => {
  // bodies are read with the statement reader (sqlparser-rs), loaded first
  const row = (name: string, dataAccess: string, security: string, definition: string | null, type = 'FUNCTION'): MysqlFunctionRow => ({ schema: 'db', name, type, dataAccess, security, definition });
  let cat: MysqlFunctionCatalog;
  const rows = () => [
    row('pure', 'NO SQL', 'INVOKER', 'RETURN x * 2'),
    row('peek', 'READS SQL DATA', 'INVOKER', 'RETURN (SELECT COUNT(*) FROM t)'),
    row('liar', 'READS SQL DATA', 'INVOKER', 'BEGIN DELETE FROM t; RETURN 1; END'),
    row('via', 'READS SQL DATA', 'INVOKER', 'RETURN liar() + 1'),
    row('viaproc', 'READS SQL DATA', 'INVOKER', 'BEGIN DECLARE v INT; SELECT p_clean() INTO v; RETURN v; END'),
    row('p_clean', 'READS SQL DATA', 'INVOKER', 'BEGIN /* delete */ UPDATE t SET a = 1; END', 'PROCEDURE'),
    row('definer', 'READS SQL DATA', 'DEFINER', 'RETURN 1'),
    row('defaulted', 'CONTAINS SQL', 'INVOKER', 'RETURN 1'),
    row('hidden', 'READS SQL DATA', 'INVOKER', null),
    // compound bodies are classified by what they run (the reader of CREATE texts, mysql-compound.ts)
    row('counts', 'READS SQL DATA', 'INVOKER', "BEGIN DECLARE n, s INT DEFAULT 0; DECLARE done INT DEFAULT 0; DECLARE c CURSOR FOR SELECT a FROM t; DECLARE CONTINUE HANDLER FOR NOT FOUND SET done = 1; OPEN c; l: LOOP FETCH c INTO n; IF done THEN LEAVE l; END IF; SET s = s + n; END LOOP l; CLOSE c; IF s > 10 THEN RETURN s; ELSE RETURN 'delete from t'; END IF; END"),
    row('hidden_if', 'READS SQL DATA', 'INVOKER', 'BEGIN IF (SELECT COUNT(*) FROM t) > 0 THEN DELETE FROM t WHERE a = 1; END IF; RETURN 1; END'),
    row('in_handler', 'READS SQL DATA', 'INVOKER', 'BEGIN DECLARE CONTINUE HANDLER FOR SQLEXCEPTION INSERT INTO log VALUES (1); RETURN 1; END'),
    row('dyn', 'READS SQL DATA', 'INVOKER', 'BEGIN PREPARE s FROM @q; EXECUTE s; RETURN 1; END'),
    row('loopy', 'READS SQL DATA', 'INVOKER', 'BEGIN WHILE 1 DO UPDATE t SET a = 1 WHERE a = 2; END WHILE; RETURN 1; END'),
    row('unread', 'READS SQL DATA', 'INVOKER', 'BEGIN FOR i IN 1..3 DO SET @x = i; END FOR; RETURN 1; END'),
  ];
  beforeAll(async () => {
    await initSql();
    cat = new MysqlFunctionCatalog(rows());
  });
  it.each([['counts', 'reads'], ['hidden_if', 'writes'], ['in_handler', 'writes'], ['dyn', 'writes'], ['loopy', 'writes'], ['unread', 'writes'],['pure', 'reads'], ['db.peek', 'reads'], ['liar', 'writes'], ['via', 'writes'], ['viaproc', 'writes'], ['definer', 'writes'], ['defaulted', 'writes'], ['hidden', 'writes'], ['db.nope', 'unknown']])('%s → %s', (n, v) => {
    expect(cat.verdict(n)).toBe(v);
  });
  it('native names are builtins unless a schema defines a stored function of that name; system schemas are decided by name elsewhere', () => {
    expect(cat.builtin('now')).toBe(true);
    expect(cat.builtin('peek')).toBe(false);
    expect(cat.builtin('sys.format_bytes')).toBe(true);
    expect(cat.builtin('db.peek')).toBe(false);
  });
  it('without a readable catalog nothing is a builtin and every verdict is null (fail closed)', () => {
    const none = new MysqlFunctionCatalog(null);
    expect(none.builtin('now')).toBe(false);
    expect(none.verdict('db.peek')).toBeNull();
  });
});

describe('operators on read grants (PostgreSQL)', () => {
  beforeAll(() => initSql());
  const view: FunctionCatalogView = { builtin: () => true, verdict: () => 'reads', operator: (o) => (o === '@@@' || o === 'app.@@@' ? 'writes' : 'builtin') };
  it('a user operator bound to a function that may write is a write', () => {
    expect(withFunctionEffects(analyze('postgres', 'select 1 @@@ 2'), view, [], 'postgres')?.names).toEqual(['operator @@@']);
    expect(withFunctionEffects(analyze('postgres', 'select * from t where a OPERATOR(app.@@@) 2'), view, [], 'postgres')?.names).toEqual(['operator app.@@@']);
  });
  it('builtin operators change nothing', () => {
    expect(withFunctionEffects(analyze('postgres', 'select * from t where a = 1 and b || c like $1'), view, [], 'postgres')).toBeUndefined();
  });
});

describe('casts on read grants (PostgreSQL)', () => {
  beforeAll(() => initSql());
  it('the AST walk lists every type named: casts, typed literals, CAST(… AS t[]), array types by name, column definition lists, PREPARE types; and parameters', () => {
    const f = (sql: string) => analyze('postgres', sql)[0]!;
    expect(f(`select 1::app.t, cast(x as app.u[]), app.v '(1)', array[1]::app._w from tab`).casts?.sort()).toEqual(['app._w', 'app.t', 'app.u', 'app.v']);
    expect(f(`select 'a'::app.io(5)`).casts).toEqual(['app.io']);
    expect(f(`select * from app.f() as x(a app.s)`).casts).toEqual(['app.s']);
    expect(f(`select xmlserialize(content '<a/>' as text)`).casts).toEqual(['text']);
    expect(analyze('postgres', `prepare p(app.s) as select 1`).flatMap((s) => s.casts ?? [])).toContain('app.s');
    expect(f(`select length($1)`).params).toBe(true);
    expect(f(`select 1`).casts).toBeUndefined();
    expect(f(`select 1`).params).toBeUndefined();
  });
  const calls: Record<string, { fn: string; via: string }[]> = {
    'app.dt': [{ fn: 'app.wcast', via: 'cast (integer as app.t), by a cast to app.dt' }],
    'app.ht': [{ fn: 'app.hcast', via: 'cast (integer as app.ht), by a cast to app.ht' }],
  };
  const view: FunctionCatalogView = {
    ...pgView({ 'app.wcast': 'writes', 'app.hcast': 'reads', 'app.s_to_text': 'writes', 'app.make_s': 'reads' }),
    castCalls: (t) => calls[t] ?? [],
    implicitCalls: (kind, name) => (kind === 'relation' && name === 'app.holder') || (kind === 'function' && name === 'app.make_s')
      ? [{ fn: 'app.s_to_text', via: `implicit cast (app.s as text), on values of ${name}` }] : [],
    implicitParams: (oids) => (oids.includes(4242) ? [{ fn: 'app.s_to_text', via: 'implicit cast (app.s as text), on a parameter declared app.s' }] : []),
  };
  const names = (sql: string, oids: number[] = []) => withFunctionEffects(analyze('postgres', sql), view, [], 'postgres', oids)?.names;
  it('a conversion to a type whose cast function may write is a write, naming the cast and its function', () => {
    expect(names('select 1::app.dt')).toEqual(['app.wcast (cast (integer as app.t), by a cast to app.dt)']);
    expect(names('select 1::app.ht')).toBeUndefined();
  });
  it('an implicit cast is a write where a value it applies to appears: a relation read, a function result, a declared parameter', () => {
    expect(names('select lower(x) from app.holder')).toEqual(['app.s_to_text (implicit cast (app.s as text), on values of app.holder)']);
    expect(names('select lower(app.make_s())')).toEqual(['app.s_to_text (implicit cast (app.s as text), on values of app.make_s)']);
    expect(names('select lower($1)', [4242])).toEqual(['app.s_to_text (implicit cast (app.s as text), on a parameter declared app.s)']);
    expect(names('select lower($1)', [25])).toBeUndefined();
    expect(names('select * from app.other')).toBeUndefined();
  });
  it('a cast between system types bound to a writing function may apply to any expression', () => {
    const anywhere: FunctionCatalogView = { ...view, implicitEverywhere: () => [{ fn: 'app.s_to_text', via: 'implicit cast (integer as bytea) between system types: any expression may apply it' }] };
    expect(withFunctionEffects(analyze('postgres', 'select 1 + 1'), anywhere, [], 'postgres')?.names).toEqual(['app.s_to_text (implicit cast (integer as bytea) between system types: any expression may apply it)']);
    expect(withFunctionEffects(analyze('postgres', 'select * from app.other'), anywhere, ['app.s_to_text'], 'postgres')).toBeUndefined();
  });
});
