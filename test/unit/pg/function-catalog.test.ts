// The PostgreSQL function snapshot's effect propagation (issue 12 class 5): what a clean-flagged body calls decides.
import { beforeAll, describe, expect, it } from 'vitest';
import { initSql } from '../../../src/sql/analyze.js';
import { FunctionCatalog, Snapshot } from '../../../src/pg/function-catalog.js';

const def = (name: string, lang: string, body: string) =>
  `CREATE OR REPLACE FUNCTION app.${name}()\n RETURNS integer\n LANGUAGE ${lang}\n STABLE\nAS $function$${body}$function$\n`;

describe('Snapshot propagation', () => {
  beforeAll(() => initSql());
  const snap = () => new Snapshot({
    functions: [['b', 'pg_catalog', 'lower'], ['b', 'pg_catalog', 'nextval'], ['w', 'app', 'purge'], ['r', 'app', 'wrap'], ['r', 'app', 'wrap2'],
      ['r', 'app', 'clean'], ['r', 'app', 'ping'], ['r', 'app', 'pong'], ['r', 'app', 'ghostly'], ['r', 'app', 'seq'], ['r', 'app', 'opb'], ['r', 'app', 'opw']],
    operators: [['app', '###', 'pg_catalog.int4pl', 'r'], ['app', '!!!', 'app.purge', 'w']],
    bodies: [
      ['app', 'wrap', def('wrap', 'sql', ' select app.purge() ')],
      ['app', 'wrap2', def('wrap2', 'plpgsql', ' begin return app.wrap(); end ')],
      ['app', 'clean', def('clean', 'sql', ' select lower(\'x\')::int ')],
      ['app', 'ping', def('ping', 'sql', ' select app.pong() ')],
      ['app', 'pong', def('pong', 'sql', ' select app.ping() ')],
      ['app', 'ghostly', def('ghostly', 'sql', ' select app.not_there() ')],
      ['app', 'seq', def('seq', 'sql', ' select nextval(\'s\')::int ')],
      ['app', 'opb', def('opb', 'sql', ' select 1 operator(app.###) 2 ')],
      ['app', 'opw', def('opw', 'sql', ' select (1 operator(app.!!!) 2)::int ')],
    ],
  }, Date.now());
  it('a wrapper of a writer writes, through any depth; clean bodies and cycles of clean functions read', () => {
    const s = snap();
    expect(s.user.get('app.wrap')).toBe('writes');
    expect(s.user.get('app.wrap2')).toBe('writes');
    expect(s.user.get('app.clean')).toBe('reads');
    expect(s.user.get('app.ping')).toBe('reads');
    expect(s.user.get('app.pong')).toBe('reads');
  });
  it('an unknown callee fails closed; a writing builtin in the body writes', () => {
    const s = snap();
    expect(s.user.get('app.ghostly')).toBe('writes');
    expect(s.user.get('app.seq')).toBe('writes');
  });
  it('operators are their functions: a builtin-backed clean one reads, one bound to a writer writes', () => {
    const s = snap();
    expect(s.user.get('app.opb')).toBe('reads');
    expect(s.user.get('app.opw')).toBe('writes');
  });
  it('the closure of what a decision trusts follows calls', () => {
    expect([...snap().closure(['wrap2'])].sort()).toEqual(['app.purge', 'app.wrap', 'app.wrap2']);
  });
});

describe('Snapshot casts', () => {
  beforeAll(() => initSql());
  const snap = () => new Snapshot({
    functions: [['b', 'pg_catalog', 'length'], ['w', 'app', 'wcast'], ['r', 'app', 'hcast'], ['w', 'app', 's_to_text'], ['r', 'app', 'make_s'], ['r', 'app', 'len_stable'], ['r', 'app', 'plain']],
    conversions: [['app.t', 'app.wcast', 'cast (integer as app.t)'], ['app.dt', 'app.wcast', 'cast (integer as app.t)'], ['app.ht', 'app.hcast', 'cast (integer as app.ht)']],
    implicit: [['t', 'implicit cast (app.s as text)', 'app.s_to_text', 'app.s', '4242'], ['r', 'implicit cast (app.s as text)', 'app.s_to_text', 'app.holder', null],
      ['f', 'implicit cast (app.s as text)', 'app.s_to_text', 'app.make_s', null]],
    bodies: [
      ['app', 'len_stable', def('len_stable', 'sql', ' select length(x) from app.holder ')],
      ['app', 'plain', def('plain', 'sql', ' select length(x) from app.other ')],
    ],
  }, Date.now());
  it('conversions are looked up by the type as written, qualified or not', () => {
    expect(snap().castCalls('app.dt').map((c) => c.fn)).toEqual(['app.wcast']);
    expect(snap().castCalls('dt')[0]?.via).toBe('cast (integer as app.t), by a cast to app.dt');
    expect(snap().castCalls('app.s').map((c) => c.via)).toEqual(['implicit cast (app.s as text), on a value converted to app.s']);
  });
  it('implicit casts by relation (unqualified names too), function and declared parameter type', () => {
    const s = snap();
    expect(s.implicitCalls('relation', 'holder').map((c) => c.fn)).toEqual(['app.s_to_text']);
    expect(s.implicitCalls('function', 'make_s').map((c) => c.fn)).toEqual(['app.s_to_text']);
    expect(s.implicitParams([25, 4242]).map((c) => c.fn)).toEqual(['app.s_to_text']);
    expect(s.implicitParams([25])).toEqual([]);
  });
  it('an operator whose function returns or takes such a type makes such values (from literals): its name is marked', () => {
    const s = new Snapshot({
      functions: [['w', 'app', 's_to_text'], ['r', 'app', 's_plus']],
      operators: [['app', '+++', 'app.s_plus', 'r']],
      implicit: [['f', 'implicit cast (app.s as text)', 'app.s_to_text', 'app.s_plus', null]],
    }, Date.now());
    expect(s.implicitCalls('operator', 'app.+++').map((c) => c.via)).toEqual(['implicit cast (app.s as text), on values of app.s_plus (operator app.+++)']);
    expect(s.implicitCalls('operator', '+++').map((c) => c.fn)).toEqual(['app.s_to_text']);
  });
  it('a clean-flagged body reading a relation an implicit writing cast applies to writes', () => {
    expect(snap().user.get('app.len_stable')).toBe('writes');
    expect(snap().user.get('app.plain')).toBe('reads');
  });
});

describe('Snapshot domain checks', () => {
  beforeAll(() => initSql());
  const snap = () => new Snapshot({
    functions: [['b', 'pg_catalog', 'nextval'], ['b', 'pg_catalog', 'length'], ['w', 'app', 'purge'], ['r', 'app', 'takes_d'], ['r', 'app', 'takes_ok']],
    links: [['d', 'app.takes_d', 'app.d'], ['d', 'app.takes_ok', 'app.ok']],
    domainChecks: [['app.d', 'check constraint d_check of domain app.d', '(app.purge() > VALUE)'], ['app._d', 'check constraint d_check of domain app.d', '(app.purge() > VALUE)'],
      ['app.ds', 'check constraint ds_check of domain app.ds', "(nextval('s'::regclass) > 0)"], ['app.ok', 'check constraint ok_check of domain app.ok', '(length(VALUE) > 2)']],
  }, Date.now());
  it('converting to a domain calls what its CHECK calls: user functions, builtins with an effect; not plain builtins', () => {
    const s = snap();
    expect(s.castCalls('app._d')).toEqual([{ fn: 'app.purge', via: 'check constraint d_check of domain app.d, by a cast to app._d' }]);
    expect(s.castCalls('ds').map((c) => c.fn)).toEqual(['nextval']);
    expect(s.castCalls('app.ok')).toEqual([]);
  });
  it('a function taking such a domain runs its CHECK (its argument is coerced)', () => {
    expect(snap().user.get('app.takes_d')).toBe('writes');
    expect(snap().user.get('app.takes_ok')).toBe('reads');
  });
});

describe('FunctionCatalog revalidation when the catalog cannot be read', () => {
  beforeAll(() => initSql());
  // a side connection scripted by SQL text: the function list and row versions, empty for the rest
  const fake = { failing: false, version: 'app:1:100' };
  const catalog = {
    exclusive: async <T>(fn: (query: (sql: string) => Promise<(string | null)[][]>) => Promise<T>): Promise<T> =>
      fn(async (sql) => {
        if (fake.failing) throw new Error('side connection lost');
        if (sql.startsWith("select case when n.nspname in ('pg_catalog'")) return [['r', 'app', 'f']];
        if (sql.startsWith('select p.proname, string_agg')) return [['f', fake.version]];
        return [];
      }),
  };

  it('drops a snapshot it could not re-check (every user function then counts as writing), and recovers', async () => {
    const c = new FunctionCatalog(catalog as never);
    await c.loaded();
    expect(c.verdict('app.f')).toBe('reads');
    // the version check itself fails: nothing it trusted can be confirmed
    fake.failing = true;
    await c.revalidate(['f']);
    expect(c.verdict('app.f')).toBeNull();
    fake.failing = false;
    // a read that was already under way when the connection came back may still fail; the next one succeeds
    for (let i = 0; i < 3 && c.verdict('app.f') !== 'reads'; i++) await c.loaded();
    expect(c.verdict('app.f')).toBe('reads');
    // the function was replaced (new row version) and the fresh read fails: the old entry is not trusted
    fake.version = 'app:1:101';
    const check = c.revalidate(['f']);
    fake.failing = true;
    await check;
    expect(c.verdict('app.f')).toBeNull();
    fake.failing = false;
  });
});
