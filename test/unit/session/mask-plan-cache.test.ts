// Mask plans shared by texts of one literal-free shape (session/mask-plan-cache.ts) must be the plans each text gets
// on its own: a differential test over literal variants, and the cases the cache must never serve.
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadRuleSets } from '../../../src/rules/load.js';
import type { RuleSet } from '../../../src/rules/rule-set.js';
import type { AccessLevel, Decision } from '../../../src/rules/types.js';
import { Guard } from '../../../src/session/guard.js';
import { MaskPlanCache } from '../../../src/session/mask-plan-cache.js';
import { applyCursorOp, planMasks, type LineageState } from '../../../src/session/mask-plan.js';
import { SchemaSnapshot } from '../../../src/session/schema-snapshot.js';
import { initSql } from '../../../src/sql/analyze.js';
import { pgLiteralShape } from '../../../src/sql/pg-shape.js';

let sets: RuleSet[];
let schema: SchemaSnapshot;
beforeAll(async () => {
  await initSql();
  const { rulesets } = loadRuleSets(resolve('rules'));
  sets = [rulesets.get('safe-defaults')!, rulesets.get('pii-masking')!];
  schema = new SchemaSnapshot(
    [
      { schema: 'public', name: 'users', kind: 'r', columns: ['id', 'name', 'email', 'ssn'], system: false },
      { schema: 'public', name: 'sink', kind: 'r', columns: ['id', 'note'], system: false },
      { schema: 'public', name: 'v1', kind: 'v', columns: ['id', 'contact'], system: false, view: 'SELECT users.id, users.email AS contact FROM users' },
      { schema: 'public', name: 'v2', kind: 'v', columns: ['c2', 'k'], system: false, view: "SELECT upper(v1.contact) AS c2, 'x'::text AS k FROM v1" },
      { schema: 'pg_catalog', name: 'pg_class', kind: 'r', columns: [], system: true },
      { schema: 'pg_catalog', name: 'pg_stats', kind: 'r', columns: [], system: true },
    ],
    [
      { schema: 'public', name: 'f', language: 'sql', definition: 'CREATE FUNCTION public.f(integer) RETURNS text LANGUAGE sql AS $function$select email from users where id = $1$function$' },
      { schema: 'public', name: 'g', language: 'plpgsql' },
      { schema: 'public', name: 'keep', language: 'sql', definition: "CREATE FUNCTION public.keep(x text) RETURNS text LANGUAGE sql AS $function$select set_config('a.k', x, false)$function$" },
      { schema: 'public', name: 'ok', language: 'plpgsql' },
    ],
    new Set(['upper', 'lower', 'set_config', 'pg_notify', 'table_to_xml', 'unnest', 'count', 'length', 'coalesce', 'now', 'split_part']),
    ['public.ok'],
    Date.now(),
  );
});

const ctx = (access: AccessLevel) => ({ dialect: 'postgres' as const, access, target: 't', groups: [] });
const seen = (d: Decision) => ({ action: d.action, rules: d.rules.map((r) => `${r.id}:${r.action}`), maskPlan: d.maskPlan });
const noCursors = (): LineageState => ({ cursors: new Map() });

/** Every literal of `sql` replaced, in turn, by each of the values, and all at once by a few; same shape or not. */
function variants(sql: string): string[] {
  const values = [
    '0', '1', '42', '7', '2147483647', '2147483648', '99999999999999999999', '3.14', '.5', '00012',
    '101', '-3', "'x'", "''", "'email'", "'users.email'", "'u.e'", "'ssn'", "'select email from users'", "'DROP TABLE users'",
    "'1'", "'it''s'", "'; select email from users; --'", "'$$'", "'\"email\"'", "'%@%'", "'é'",
  ];
  const literal = /'(?:[^']|'')*'|(?<![\w.])\d+(?:\.\d+)?(?![\w.])/g;
  const spots = [...sql.matchAll(literal)];
  const out: string[] = [];
  for (const m of spots) for (const v of values) out.push(sql.slice(0, m.index) + v + sql.slice(m.index! + m[0].length));
  out.push(sql.replace(literal, '1'), sql.replace(literal, "'1'"), sql.replace(literal, "'email'"));
  return [...new Set(out)].filter((v) => v !== sql);
}

// masked-column selects, aliases, views, functions, CTEs, RETURNING, cursors, and texts that move masked values
const CORPUS: [AccessLevel, string][] = [
  ['read', 'select abalance from pgbench_accounts where aid = 12345'],
  ['read', 'select email from users where id = 1'],
  ['read', "select id, name from users where email = 'a@b.c' limit 10"],
  ['read', 'select e, n from users u(i, n, e) where i = 5'],
  ['read', "select email as contact, 'email' as email, 1 as ssn from users where name = 'x'"],
  ['read', 'select contact from v1 where id = 3'],
  ['read', "select c2, k from v2 where k = 'x'"],
  ['read', 'select f(1)'],
  ['read', 'select f(2) as x, 3 as y'],
  ['read', 'select g(1)'],
  ['read', 'select ok(1), ok(2)'],
  ['read', "select keep('x')"],
  ['read', 'select keep(email) from users where id = 1'],
  ['read', 'with c(x) as (select ssn from users where id > 10) select x from c'],
  ['read', 'with recursive r(x, n) as (select name, 1 from users union all select x, n + 1 from r where n < 5) select x from r'],
  ['read', "with a as (select email, 'k' as k from users where id = 2) select k, email from a"],
  ['read', "select * from users where id = -1 and name = 'x'"],
  ['read', "select email::text, 'x'::text, 5::text, cast('7' as int) from users where id = -1"],
  ['read', 'select null, email from users where name is null and id = 1'],
  ['read', 'select u.email from users u join v1 on v1.id = u.id where u.id in (1, 2, 3)'],
  ['read', "select lower(email) from users where email like 'a%'"],
  ['read', 'select email from users order by 1 limit 5 offset 10'],
  ['read', "select id from users where name = 'x'; select email from users where id = 2"],
  ['read', "select id, name, email, ssn from users where id = 1 union select 1, 'a', 'b', 'c'"],
  ['read', "select 'select email from users' from users"],
  ['read', "select length('users.email'), coalesce(name, 'email') from users where id = 4"],
  ['read', "values (1, 'x'), (2, 'email')"],
  ['read', 'select 1'],
  ['read', "select relname from pg_class where relname = 'users'"],
  ['read', "select * from pg_stats where tablename = 'users'"],
  ['read', "select table_to_xml('users', true, false, '')"],
  ['read', 'explain select f(1)'],
  ['read', "select x from unnest(array['a', 'b']) t(x)"],
  // constants the grammar accepts of one class only: `float('5')` and `float(2147483648)` do not parse
  ['read', 'select name::float(5), email from users where id = 1'],
  ['write', "update users set name = 'x' where id = 1 returning email"],
  ['write', "update users set name = 'x' where id = 1 returning id, upper(email), 'k'"],
  ['write', 'update users set name = email where id = 1'],
  ['write', "insert into users (id, name) values (1, 'a') returning id, upper(email)"],
  ['write', "insert into sink values (1, 'email')"],
  ['write', 'insert into sink select id, email from users where id = 1001'],
  ['write', "insert into sink (id, note) values (1, 'x') on conflict (id) do update set note = (select email from users where id = 2)"],
  ['write', 'delete from users where id = 1 returning *'],
  ['write', "select set_config('a.b', email, false) from users where id = 1"],
  ['write', "select set_config('a.b', 'x', false)"],
  ['write', "select pg_notify('c', email) from users where id = 1"],
  ['write', 'copy (select email from users where id = 1) to stdout'],
  ['write', "copy (select name from users where id = 1) to '/tmp/x'"],
  ['write', 'declare c cursor for select email from users where id = 1'],
  ['write', "declare c cursor for select name, 'x' from users where id = 1; close c"],
  ['write', 'begin; select email from users where id = 1; commit'],
  ['write', "merge into sink s using users u on s.id = u.id and u.id = 1 when matched then update set note = 'x'"],
  // bodies carried by a string literal (never cached: see 'what the cache never serves')
  ['write', "do 'begin perform 1; end'"],
  ['write', "create function h() returns void language plpgsql as 'begin insert into sink select id, email from users; end'"],
  ['write', "create function h2() returns text language sql as 'select email from users where id = 1'"],
];

describe('cached mask plans are the plans each text gets on its own', () => {
  it(`holds for every literal variant of ${CORPUS.length} statements`, () => {
    let compared = 0;
    let served = 0;
    for (const [access, sql] of CORPUS) {
      const guard = new Guard(ctx(access), sets, 1000);
      const cache = new MaskPlanCache(1000, 1 << 20);
      planMasks(sql, guard.decide(sql), guard.masks, schema, noCursors(), undefined, cache); // warms the cache
      for (const v of variants(sql)) {
        const d = guard.decide(v);
        const hits = cache.hits;
        const got = planMasks(v, d, guard.masks, schema, noCursors(), undefined, cache);
        const want = planMasks(v, d, guard.masks, schema, noCursors(), undefined, null);
        expect({ sql: v, ...seen(got) }).toEqual({ sql: v, ...seen(want) });
        compared++;
        if (cache.hits > hits && pgLiteralShape(v) === pgLiteralShape(sql)) served++;
      }
    }
    // most variants keep the shape and are served from the cache; the rest are computed (and compared) all the same
    expect(compared).toBeGreaterThan(1500);
    expect(served).toBeGreaterThan(500);
  });

  it('without a catalog (schema null) too', () => {
    for (const [access, sql] of CORPUS) {
      const guard = new Guard(ctx(access), sets, 1000);
      const cache = new MaskPlanCache(1000, 1 << 20);
      planMasks(sql, guard.decide(sql), guard.masks, null, noCursors(), undefined, cache);
      for (const v of variants(sql)) {
        const d = guard.decide(v);
        expect({ sql: v, ...seen(planMasks(v, d, guard.masks, null, noCursors(), undefined, cache)) }).toEqual({ sql: v, ...seen(planMasks(v, d, guard.masks, null, noCursors(), undefined, null)) });
      }
    }
  });

  it('serves a same-shape text from the cache (no parse) and keeps the masked column masked', () => {
    const guard = new Guard(ctx('read'), sets, 1000);
    const cache = new MaskPlanCache(100, 1 << 20);
    const a = planMasks('select id, email from users where id = 1001', guard.decide('select id, email from users where id = 1001'), guard.masks, schema, noCursors(), undefined, cache);
    const b = planMasks("select id, email from users where id = 2002", guard.decide('select id, email from users where id = 2002'), guard.masks, schema, noCursors(), undefined, cache);
    expect(cache.hits).toBe(1);
    expect(a.maskPlan).toEqual({ outputs: [null, 'email'], derived: null });
    expect(b.action).toBe('mask');
    expect(b.maskPlan).toEqual(a.maskPlan);
    // shared plans are frozen: a consumer cannot change another statement's plan
    expect(Object.isFrozen(b.maskPlan)).toBe(true);
    expect(Object.isFrozen(b.maskPlan!.outputs)).toBe(true);
  });
});

describe('what the cache never serves', () => {
  it('DO and CREATE FUNCTION bodies carried by a string literal', () => {
    const guard = new Guard(ctx('write'), sets, 1000);
    const cache = new MaskPlanCache(100, 1 << 20);
    const run = (sql: string) => planMasks(sql, guard.decide(sql), guard.masks, schema, noCursors(), undefined, cache);
    expect(run("do 'begin perform 1; end'").action).not.toBe('block');
    expect(run("do 'begin insert into sink select id, email from users; end'").action).toBe('block');
    expect(run("create function h() returns void language plpgsql as 'begin perform 1; end'").action).not.toBe('block');
    expect(run("create function h() returns void language plpgsql as 'begin insert into sink select id, email from users; end'").action).toBe('block');
    expect(cache.size).toBe(0);
  });

  it('FETCH, whose plan is the session cursor state', () => {
    const guard = new Guard(ctx('write'), sets, 1000);
    const cache = new MaskPlanCache(100, 1 << 20);
    const st = noCursors();
    const run = (sql: string) => planMasks(sql, guard.decide(sql), guard.masks, schema, st, undefined, cache);
    expect(run('fetch 1 from c').maskPlan).toEqual({ outputs: null, derived: 'redact' });
    for (const op of run('declare c cursor for select name, email from users where id = 1').maskPlan!.cursors!) applyCursorOp(st, op);
    expect(run('fetch 2 from c').maskPlan).toEqual({ outputs: [null, 'email'], derived: null });
    for (const op of run('declare c cursor for select name, id from users where id = 1').maskPlan!.cursors!) applyCursorOp(st, op);
    expect(run('fetch 3 from c').maskPlan).toEqual({ outputs: [null, null], derived: null });
    // a FETCH beside other statements makes the whole text unknown when the cursor masks anything
    for (const op of run('declare c cursor for select email from users where id = 1').maskPlan!.cursors!) applyCursorOp(st, op);
    expect(run('fetch 4 from c; select 1').maskPlan).toEqual({ outputs: null, derived: 'redact' });
  });

  it('texts the parser refuses (another text of the shape may parse)', () => {
    const guard = new Guard(ctx('read'), sets, 1000);
    const cache = new MaskPlanCache(100, 1 << 20);
    // an allowed decision, as rule sets without an unparsed-statement rule give
    const allow: Decision = { action: 'allow', rules: [], statements: [] };
    const run = (sql: string) => planMasks(sql, allow, guard.masks, schema, noCursors(), undefined, cache);
    // the grammar itself rejects float(0) ("precision must be at least 1 bit"): refused, and not kept for float(5)
    expect(run('select name::float(0) from users where id = 1').action).toBe('block');
    expect(cache.size).toBe(0);
    expect(run('select name::float(5) from users where id = 1').action).not.toBe('block');
  });

  it('across schema snapshots, masks, reading options, or a schema that is not a snapshot', () => {
    const guard = new Guard(ctx('read'), sets, 1000);
    const cache = new MaskPlanCache(100, 1 << 20);
    const q = (id: number) => `select email from users where id = ${id}`;
    planMasks(q(1), guard.decide(q(1)), guard.masks, schema, noCursors(), undefined, cache);
    // a newer catalog read where users has no email column any more: the old plan is not used
    const snap2 = new SchemaSnapshot([{ schema: 'public', name: 'users', kind: 'r', columns: ['id', 'name', 'mail', 'ssn'], system: false }], [], new Set(), [], Date.now());
    expect(planMasks(q(2), guard.decide(q(2)), guard.masks, snap2, noCursors(), undefined, cache).maskPlan).toEqual({ outputs: ['redact'], derived: null });
    // other masks (a rules reload, another context's guard): the email is not masked by them
    const ssnOnly = guard.masks.filter((m) => m.ruleId === 'mask-national-id');
    expect(planMasks(q(3), guard.decide(q(3)), ssnOnly, schema, noCursors(), undefined, cache).maskPlan).toEqual({ outputs: [null], derived: null });
    // standard_conforming_strings off: keyed apart, and by exact text only
    const hits = cache.hits;
    planMasks(q(4), guard.decide(q(4), { standardConformingStrings: false }), guard.masks, schema, noCursors(), { standardConformingStrings: false }, cache);
    planMasks(q(5), guard.decide(q(5), { standardConformingStrings: false }), guard.masks, schema, noCursors(), { standardConformingStrings: false }, cache);
    expect(cache.hits).toBe(hits);
    planMasks(q(5), guard.decide(q(5), { standardConformingStrings: false }), guard.masks, schema, noCursors(), { standardConformingStrings: false }, cache);
    expect(cache.hits).toBe(hits + 1);
    // the distrusted schema after the session's DDL is a new object each time: never cached
    const before = cache.size;
    planMasks(q(6), guard.decide(q(6)), guard.masks, schema.untrusted(), noCursors(), undefined, cache);
    expect(cache.size).toBe(before);
  });

  it('texts too large to key', () => {
    const guard = new Guard(ctx('read'), sets, 1000);
    const cache = new MaskPlanCache(100, 1 << 16);
    const big = `select email from users where name = '${'x'.repeat(10_000)}' and id = 1 or id in (${Array.from({ length: 3000 }, (_, i) => i).join(', ')})`;
    planMasks(big, guard.decide(big), guard.masks, schema, noCursors(), undefined, cache);
    expect(cache.size).toBe(0);
  });
});
