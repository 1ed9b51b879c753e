// Column lineage (PostgreSQL) as table tests over an in-memory schema: each output's base columns, sinks,
// table readers, statistics, cursors; and the `clean` rule key's lint.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModule } from 'libpg-query';
import { beforeAll, describe, expect, it } from 'vitest';
import { DERIVED, UNKNOWN, pgLineage, type LineageSchema } from '../../../src/sql/pg-lineage.js';
import { SchemaSnapshot } from '../../../src/session/schema-snapshot.js';
import { applyCursorOp, planMasks } from '../../../src/session/mask-plan.js';
import { lintRules } from '../../../src/rules/check.js';
import type { Decision } from '../../../src/rules/types.js';

let schema: LineageSchema;
beforeAll(async () => {
  await loadModule();
  schema = new SchemaSnapshot(
    [
      { schema: 'public', name: 'users', kind: 'r', columns: ['id', 'name', 'email', 'ssn'], system: false },
      { schema: 'public', name: 'v1', kind: 'v', columns: ['id', 'contact'], system: false, view: 'SELECT users.id, users.email AS contact FROM users' },
      { schema: 'public', name: 'v2', kind: 'v', columns: ['c2', 'k'], system: false, view: "SELECT upper(v1.contact) AS c2, 'x'::text AS k FROM v1" },
      { schema: 'pg_catalog', name: 'pg_class', kind: 'r', columns: [], system: true },
    ],
    [
      { schema: 'public', name: 'f', language: 'sql', definition: "CREATE FUNCTION public.f(integer) RETURNS text LANGUAGE sql AS $function$select email from users where id = $1$function$" },
      { schema: 'public', name: 'g', language: 'plpgsql' },
      { schema: 'public', name: 'w', language: 'sql', definition: "CREATE FUNCTION public.w() RETURNS void LANGUAGE sql AS $function$insert into users(id, name) select id, ssn from users$function$" },
      { schema: 'public', name: 'ok', language: 'plpgsql' },
    ],
    new Set(['upper', 'lower', 'set_config', 'pg_notify', 'table_to_xml', 'unnest', 'count']),
    ['public.ok'],
    Date.now(),
  );
});

// the base columns of each output (whether the value is computed is asserted on its own below)
const out = (sql: string) => pgLineage(sql, schema)[0]!.outputs!.map((s) => [...s].filter((x) => x !== DERIVED).sort());
const sinks = (sql: string) => pgLineage(sql, schema)[0]!.sinks.map((s) => [s.what, [...s.src].filter((x) => x !== DERIVED).sort()]);
const computed = (sql: string) => pgLineage(sql, schema)[0]!.outputs!.map((s) => s.has(DERIVED));

describe('outputs', () => {
  const E = ['public.users.email'];
  const cases: [string, string[][]][] = [
    ['select e from users u(i, n, e)', [E]],
    ['select upper(e) || n from users u(i, n, e)', [['public.users.email', 'public.users.name']]],
    ['select x from (select email as x from users) s', [E]],
    ['select x from (select email from users) s(x)', [E]],
    ['select k from users a join (select id, email as k from users) b using (id)', [E]],
    ['select id from users a join (select id as id, email from users) b using (id)', [['public.users.id']]],
    ['select j.c3 from (users a natural join (select id, name, email from users) b) j(c1, c2, c3)', [E]],
    ['select x from unnest(array(select email from users)) f(x)', [E]],
    ['with c(x) as (select ssn from users) select x from c', [['public.users.ssn']]],
    ['with recursive r(x) as (select name from users union all select x from r) select x from r', [['public.users.name']]],
    ['select name from users union select email from users', [['public.users.email', 'public.users.name']]],
    ['select contact from v1', [E]],
    ['select c2, k from v2', [E, []]],
    ['select f(1)', [E]],
    ['select g(1)', [[UNKNOWN]]],
    ['select ok(1)', [[]]],
    ['select relname from pg_class', [[]]],
    ['select nosuch from nowhere', [[UNKNOWN]]],
    ['select u::text from users u', [['public.users.email', 'public.users.id', 'public.users.name', 'public.users.ssn']]],
    ['select count(*) from users', [[]]],
    ['select l.x from users t, lateral (select t.email as x) l', [E]],
  ];
  it.each(cases)('%s', (sql, want) => expect(out(sql)).toEqual(want));
});

describe('sinks, readers, statistics, cursors', () => {
  it('marks values computed from their sources, not passed as they are (masked whole: rules/mask.ts derivedMask)', () => {
    expect(computed('select email, upper(email), email::varchar(3) from users')).toEqual([false, true, true]);
    expect(computed('select x from (select email as x from users) s')).toEqual([false]);
    expect(computed('select x from (select lower(email) as x from users) s')).toEqual([true]);
    expect(computed('with c(x) as (select split_part(email, \'@\', 1) from users) select x from c')).toEqual([true]);
    expect(computed('select contact from v1')).toEqual([false]);
    expect(computed('select c2 from v2')).toEqual([true]);
    expect(computed('select x from unnest(array(select email from users)) f(x)')).toEqual([true]);
    expect(computed("select * from (values ((select email from users limit 1))) v(x)")).toEqual([true]);
    expect(computed('select email from users union select name from users')).toEqual([false]);
    expect(computed("select email from users union select 'x'")).toEqual([true]);
  });
  it('finds every place values leave the result', () => {
    expect(sinks('insert into users select id, e from users u(id, n, e)')).toEqual([['INSERT', ['public.users.email', 'public.users.id']]]);
    expect(sinks("insert into users (id) values (1)")).toEqual([['INSERT', []]]);
    expect(sinks('update users set name = s.e from (select id, email as e from users) s where s.id = users.id')).toEqual([['UPDATE', ['public.users.email']]]);
    expect(sinks("select set_config('a.b', e, false) from users u(i, n, e)")[0]).toEqual(['set_config', ['public.users.email']]);
    expect(sinks('copy (select e from users u(i, n, e)) to stdout')).toEqual([['COPY', ['public.users.email']]]);
    expect(sinks('copy users (ssn) to stdout')).toEqual([['COPY', ['public.users.ssn']]]);
    expect(sinks('create table x as select * from v1')).toEqual([['CREATE TABLE AS', ['public.users.email', 'public.users.id']]]);
    expect(sinks('select w()')).toEqual([['function w', ['public.users.id', 'public.users.ssn']]]);
    expect(sinks('alter table users rename column email to contact')).toEqual([['RENAME COLUMN', ['public.users.email']]]);
    expect(sinks('alter table users add column g text generated always as (lower(email)) stored')).toEqual([['ALTER TABLE', ['public.users.email']]]);
    expect(pgLineage("select table_to_xml('users', true, false, '')", schema)[0]!.tableReaders).toEqual(['table_to_xml']);
    expect(pgLineage('select * from pg_stats', schema)[0]!.statistics).toEqual(['pg_stats']);
    expect(pgLineage('declare c cursor for select email from users', schema)[0]!.cursor).toBe('c');
    expect(pgLineage('fetch 2 from c', schema)[0]!.fetch).toBe('c');
  });
});

describe('mask plan', () => {
  const masks = [{ ruleId: 'mask-email', mask: 'email' as const, columns: ['*.*.email'], message: 'emails' }];
  const allow = (text: string): Decision => ({ action: 'allow', rules: [], statements: [{ kind: 'select', effects: ['read'], tables: [], columns: [], functions: [], where: null, limit: null, nested: false, multiStatement: false, index: 0, text }] });
  it('plans per output column and raises allow to mask', () => {
    const d = planMasks('select e, n from users u(i, n, e)', allow(''), masks, schema, { cursors: new Map() });
    expect(d.action).toBe('mask');
    expect(d.maskPlan).toEqual({ outputs: ['email', null], derived: null });
    expect(d.rules.map((r) => r.id)).toEqual(['mask-email']);
  });
  it('refuses a copy as block by the refusing rule', () => {
    const d = planMasks('copy (select e from users u(i, n, e)) to stdout', allow(''), masks, schema, { cursors: new Map() });
    expect(d.action).toBe('block');
    expect(d.rules[0]).toMatchObject({ id: 'mask-email', action: 'block' });
    expect(d.rules[0]!.message).toMatch(/masked columns cannot be copied or exported/);
  });
  it('without a catalog masks derived values and refuses exports', () => {
    const st = { cursors: new Map() };
    // unknown origin: whatever the client computed, nothing of it is shown (not the email mask's domain)
    expect(planMasks('select upper(name) from users', allow(''), masks, null, st).maskPlan).toEqual({ outputs: ['redact'], derived: null });
    expect(planMasks('insert into t select name from users', allow(''), masks, null, st).action).toBe('block');
    expect(planMasks("insert into t values (1, 'x')", allow(''), masks, null, st).action).toBe('allow');
  });
  it('carries a cursor plan to FETCH', () => {
    const st = { cursors: new Map() };
    // the plan applies once the server confirms the DECLARE (the protocol module calls applyCursorOp)
    const declared = planMasks('declare c cursor for select n, e from users u(i, n, e)', allow(''), masks, schema, st);
    expect(st.cursors.size).toBe(0);
    for (const op of declared.maskPlan?.cursors ?? []) applyCursorOp(st, op);
    expect(planMasks('fetch 1 from c', allow(''), masks, schema, st).maskPlan).toEqual({ outputs: [null, 'email'], derived: null });
    expect(planMasks('fetch 1 from unknown_cursor', allow(''), masks, schema, st).maskPlan).toEqual({ outputs: null, derived: 'redact' });
  });
});

describe('rule key clean', () => {
  const dir = () => mkdtempSync(join(tmpdir(), 'lin-clean-'));
  it('is accepted on a mask rule as schema.name globs', () => {
    const d = dir();
    writeFileSync(join(d, 'x.yaml'), 'ruleset: x\nrules:\n  - id: m\n    when: { columns: ["*.*.email"] }\n    action: mask\n    mask: email\n    clean: ["public.f", "reporting.*"]\n');
    expect(lintRules(d)).toEqual([]);
  });
  it('is refused elsewhere and in other shapes, at its line', () => {
    const d = dir();
    writeFileSync(join(d, 'x.yaml'), 'ruleset: x\nrules:\n  - id: b\n    when: {}\n    action: block\n    clean: ["public.f"]\n  - id: m\n    when: { columns: ["*.*.email"] }\n    action: mask\n    mask: email\n    clean: ["f"]\n');
    const errors = lintRules(d);
    expect(errors).toMatchObject([{ line: 6, ruleId: 'b', message: '`clean` only applies to action mask' }, { line: 11, ruleId: 'm' }]);
    expect(errors[1]!.message).toMatch(/must be schema\.name/);
  });
});
