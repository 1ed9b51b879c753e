// Mask plans shared by same-shape texts (session/mask-plan-cache.ts) through a live broker on the real PostgreSQL:
// a run of statements differing only in their literals stays masked (or refused) statement after statement, and is
// served from the cache (one lineage parse per shape).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { maskPlanCache } from '../../src/session/mask-plan-cache.js';
import { adminSql, startMaskingTestBroker, type TestBroker } from '../helpers/broker.js';

const S = `dbw_mc_${randomBytes(4).toString('hex')}`;
const T = `${S}_users`;
const SINK = `${S}_sink`;
const MARK = `q${randomBytes(3).toString('hex')}x`;
const email = (id: number) => `u${id}.${MARK}@secret.example`;
const IDS = [1001, 1002, 1003, 1004, 1005, 1006];
let b: TestBroker;
let read: Awaited<ReturnType<TestBroker['grant']>>;
let write: Awaited<ReturnType<TestBroker['grant']>>;

beforeAll(async () => {
  await adminSql(`create table ${T} (id int primary key, name text, email text);
    insert into ${T} values ${IDS.map((id) => `(${id}, 'name ${id}', '${email(id)}')`).join(', ')};
    create table ${SINK} (id int, note text);
    create view ${S}_v as select id, email as contact from ${T};
    create function ${S}_f(int) returns text language sql stable as 'select email from ${T} where id = $1';
    alter table ${T} owner to dbw_rw; alter table ${SINK} owner to dbw_rw; alter view ${S}_v owner to dbw_rw;
    grant select on ${T}, ${SINK}, ${S}_v to dbw_ro;`);
  ({ b, read, write } = await startMaskingTestBroker());
}, 60_000);
afterAll(async () => {
  await b?.close();
  await adminSql(`drop view if exists ${S}_v; drop function if exists ${S}_f(int); drop table if exists ${T}, ${SINK} cascade;`);
});

/** One session, the texts in order over the simple protocol: each one's rows, or its error message. */
async function session(texts: string[], cred = read): Promise<(unknown[] | string)[]> {
  const c = new pg.Client({ connectionString: b.url(cred) });
  await c.connect();
  try {
    const out: (unknown[] | string)[] = [];
    for (const t of texts) out.push(await c.query(t).then((r) => r.rows, (e: Error) => e.message));
    return out;
  } finally {
    await c.end();
  }
}
const leaks = (x: unknown) => JSON.stringify(x).includes(MARK);

describe('same-shape statements with other literals stay masked through the broker', () => {
  it('direct connection shows the values (the test data is real)', async () => {
    const r = (await adminSql(`select email from ${T} where id = ${IDS[0]}`)) as pg.QueryResult;
    expect(leaks(r.rows)).toBe(true);
  });

  it('masked column selects, by alias, view and function, with numbers, strings, NULL, negatives and casts', async () => {
    const hits = maskPlanCache.hits;
    const texts = [
      ...IDS.map((id) => `select id, email from ${T} where id = ${id}`),
      ...IDS.map((id) => `select e from ${T} u(i, n, e) where i = ${id} and n <> 'email'`),
      ...IDS.map((id) => `select contact from ${S}_v where id = ${id}`),
      ...IDS.map((id) => `select ${S}_f(${id})`),
      ...IDS.map((id) => `with c as (select email as x from ${T} where id = ${id}) select x, 'select email from ${T}' as email from c`),
      ...IDS.map((id) => `select email from ${T} where id = ${id} and name is not null and id > -${id} and id::text = '${id}'`),
      `select email from ${T} where name = 'email'`,
      `select email from ${T} where name = 'name ${IDS[1]}'`,
      `select email from ${T} where name = '${T}.email'`,
    ];
    const res = await session(texts);
    res.forEach((r, i) => {
      expect(typeof r === 'string' ? r : null, texts[i]).toBeNull();
      expect(leaks(r), texts[i]).toBe(false);
    });
    // every statement found its row, masked (u***@secret.example), except the three by name that match nothing or one
    expect(res.slice(0, 6).map((r) => (r as { email: string }[])[0]!.email)).toEqual(IDS.map(() => 'u***@secret.example'));
    expect(res.slice(12, 18).map((r) => (r as { contact: string }[])[0]!.contact)).toEqual(IDS.map(() => 'u***@secret.example'));
    expect((res[texts.length - 2] as unknown[]).length).toBe(1);
    // the run was served by shape: far more hits than the few shapes it has
    expect(maskPlanCache.hits - hits).toBeGreaterThanOrEqual(25);
  });

  it('a column that is not masked stays in clear for every literal (no over-masking from a shared plan)', async () => {
    const res = await session(IDS.map((id) => `select name from ${T} where id = ${id}`));
    expect(res).toEqual(IDS.map((id) => [{ name: `name ${id}` }]));
  });

  it('RETURNING of a masked column on a write, literal after literal', async () => {
    const texts = IDS.map((id) => `update ${T} set name = 'renamed ${id}' where id = ${id} returning id, email, upper(email) as shout`);
    const res = await session(texts, write);
    res.forEach((r, i) => {
      expect(Array.isArray(r), `${texts[i]}: ${String(r)}`).toBe(true);
      expect(leaks(r), texts[i]).toBe(false);
      expect((r as unknown[]).length).toBe(1);
    });
  });

  it('copies of masked values stay refused for every literal, and harmless same-shape statements stay allowed', async () => {
    const texts = [
      ...IDS.map((id) => `insert into ${SINK} select id, name from ${T} where id = ${id}`),
      ...IDS.map((id) => `insert into ${SINK} select id, email from ${T} where id = ${id}`),
      `do 'begin perform 1; end'`,
      `do 'begin insert into ${SINK} select id, email from ${T}; end'`,
    ];
    const res = await session(texts, write);
    expect(res.slice(0, 6).every((r) => Array.isArray(r))).toBe(true);
    for (const r of res.slice(6, 12)) expect(r).toMatch(/masked columns cannot be copied or exported/);
    expect(Array.isArray(res[12])).toBe(true);
    expect(res[13]).toMatch(/masked/);
    const copied = (await adminSql(`select note from ${SINK}`)) as pg.QueryResult;
    expect(leaks(copied.rows)).toBe(false);
  });
});
