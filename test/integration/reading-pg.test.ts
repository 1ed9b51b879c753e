// Reading PostgreSQL text exactly as the server does: client encodings (SJIS smuggling refused, LATIN1 decoded),
// reading barriers in pipelines, NUL bytes, and the server's own syntax errors. Every attack is first shown to do
// harm on a direct connection, then shown refused through a live broker (raw socket, psql, node-postgres).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminSql, startTestBroker, type TestBroker } from '../helpers/broker.js';
import { RawPg, SYNC, cstr, errorsOf, extended, int32, query, run, typed } from '../helpers/raw-pg.js';

const T = `reading_${randomBytes(4).toString('hex')}`;
/** `さ\` in UTF-8 is E3 81 95 5C; in SJIS E3 81 and 95 5C are two characters: the backslash is gone */
const SA = Buffer.from('さ');
const smuggle = (head: string, tail: string) => Buffer.concat([Buffer.from(head), SA, Buffer.from('\\'), Buffer.from(tail)]);

let b: TestBroker;
let write: Awaited<ReturnType<TestBroker['grant']>>;
let read: Awaited<ReturnType<TestBroker['grant']>>;

async function rows(): Promise<number> {
  const r = (await adminSql(`select count(*)::int as n from ${T}`)) as pg.QueryResult;
  return r.rows[0].n as number;
}
async function refill(): Promise<void> {
  await adminSql(`drop table if exists ${T}; create table ${T} (id int primary key, v text); insert into ${T} select g, 'v' || g from generate_series(1, 5) g; alter table ${T} owner to dbw_rw`);
}
const direct = (params?: Record<string, string>) => RawPg.connect({ port: 5432, user: 'postgres', database: 'dbw_app', params });
const broker = (cred = write, params?: Record<string, string>) => RawPg.connect({ port: b.pgPort, user: cred.login, password: cred.password, database: 'dbw_app', params });

beforeAll(async () => {
  b = await startTestBroker();
  write = await b.grant({ access: 'write' });
  read = await b.grant({ access: 'read' });
  await refill();
});
afterAll(async () => {
  await adminSql(`drop table if exists ${T}`).catch(() => undefined);
  await b?.close();
});

describe('client character sets', () => {
  // the broker (UTF-8) reads one E'' string holding an escaped quote; the server (SJIS) a closed string, then OR true
  const attack = () => smuggle(`DELETE FROM ${T} WHERE v = E'`, `' OR true -- '`);

  it('proof: under SJIS the bytes of a scoped DELETE delete every row on the real server', async () => {
    await refill();
    const c = await direct({ client_encoding: 'SJIS' });
    c.write(query(attack()));
    const out = await c.untilReady();
    expect(errorsOf(out)).toEqual([]);
    expect(await rows()).toBe(0);
    c.end();
    await refill();
  });

  it('an SJIS session is refused at login with an error naming the encoding (raw startup, node-postgres, psql)', async () => {
    await expect(broker(write, { client_encoding: 'SJIS' })).rejects.toThrow(/client character set SJIS is not supported.*use UTF8/);
    await expect(broker(write, { client_encoding: 'shift_jis' })).rejects.toThrow(/SJIS is not supported/);
    const psql = await run('psql', [b.url(write), '-Atc', 'select 1'], '', { ...process.env, PGCLIENTENCODING: 'SJIS' });
    expect(psql.status).not.toBe(0);
    expect(psql.out).toMatch(/client character set SJIS is not supported/);
    // node-postgres: SET on a live session is refused with the same message and the session goes on
    const c = new pg.Client({ connectionString: b.url(write) });
    await c.connect();
    await expect(c.query("SET client_encoding TO 'GBK'")).rejects.toThrow(/GBK is not supported.*use UTF8/);
    expect((await c.query('SHOW client_encoding')).rows).toEqual([{ client_encoding: 'UTF8' }]);
    await c.end();
  });

  it('SET client_encoding / SET NAMES / set_config to an unsafe encoding is refused, in every spelling; the session stays UTF8', async () => {
    const c = await broker();
    for (const sql of [
      "SET client_encoding TO 'SJIS'", 'set client_encoding = sjis', "SET NAMES 'GBK'", "set session client_encoding to 'Windows-936'",
      "SET LOCAL client_encoding = 'UHC'", "select set_config('client_encoding', 'JOHAB', false)", "SET client_encoding = 'gb18030'",
      "select set_config('client_encoding', (select 'S' || 'JIS'), false)",
    ]) {
      c.write(query(sql));
      const errs = errorsOf(await c.untilReady());
      expect(errs.length, sql).toBe(1);
      expect(errs[0]!.message, sql).toMatch(/client character set \w+ is not supported|literal value/);
    }
    c.write(query('show client_encoding'));
    const out = await c.untilReady();
    expect(out.find((m) => m.name === 'dataRow')?.fields).toEqual(['UTF8']);
    c.end();
  });

  it('psql: \\encoding SJIS is refused and the smuggled DELETE never runs', async () => {
    await refill();
    const r = await run('psql', [b.url(write), '-At', '-v', 'ON_ERROR_STOP=0'], Buffer.concat([Buffer.from('\\encoding SJIS\nshow client_encoding;\n'), attack(), Buffer.from(';\n')]));
    // psql reports any failure of its SET as its own message
    expect(r.out).toMatch(/SJIS: invalid encoding name/);
    expect(r.out).toMatch(/^UTF8$/m);
    expect(await rows()).toBe(5);
  });

  it('a LATIN1 session with non-ASCII text is decoded like the server decodes it, not refused', async () => {
    const c = await broker(write, { client_encoding: 'LATIN1' });
    c.write(query(Buffer.from(`SELECT 'caf\xe9' AS w, length('caf\xe9') AS n`, 'latin1')));
    const out = await c.untilReady();
    expect(errorsOf(out)).toEqual([]);
    // (node's protocol parser shows the LATIN1 é as U+FFFD; the server counted 4 characters)
    expect((out.find((m) => m.name === 'dataRow')?.fields as string[])[1]).toBe('4');
    // and the rules still read it: an unscoped DELETE in LATIN1 is blocked
    c.write(query(Buffer.from(`DELETE FROM ${T} /* \xe9 */`, 'latin1')));
    expect(errorsOf(await c.untilReady())[0]?.message).toMatch(/blocked by rule unscoped-write/);
    // WIN1252 after SET (a safe barrier): the new encoding applies to the next message
    c.write(Buffer.concat([query("SET client_encoding = 'WIN1252'"), query(Buffer.from([...Buffer.from("SELECT '"), 0x80, ...Buffer.from("' AS euro")]))]));
    const out2 = await c.untilReady(2);
    expect(errorsOf(out2)).toEqual([]);
    expect(out2.filter((m) => m.name === 'dataRow').length).toBe(1);
    c.end();
  });
});

describe('client encoding changed through a door the broker cannot read', () => {
  it('a function that switches client_encoding to SJIS inside its body: the session ends when the server reports it', async () => {
    await adminSql(`create or replace function ${T}_enc() returns text language plpgsql as $f$ begin perform set_config('client_encoding', 'SJIS', false); return 'x'; end $f$; grant execute on function ${T}_enc() to dbw_rw`);
    const c = await broker(write);
    c.write(Buffer.concat([query(`select ${T}_enc()`), query(smuggle(`DELETE FROM ${T} WHERE v = E'`, `' OR true -- '`))]));
    const out: { name: string; severity?: string; message?: string }[] = [];
    for (;;) {
      const m = await c.next().catch(() => null);
      if (!m) break;
      out.push(m as never);
      if (m.name === 'error' && (m as { severity?: string }).severity === 'FATAL') break;
    }
    expect(out.find((m) => m.severity === 'FATAL')?.message).toMatch(/SJIS is not supported/);
    expect(await rows()).toBe(5);
    await adminSql(`drop function ${T}_enc()`);
  });
});

describe('reading barriers in a pipeline', () => {
  // under standard_conforming_strings on: SELECT of two strings; under off: a string, then DROP TABLE
  const smuggled = () => `SELECT 'a\\', $$' ; DROP TABLE ${T}; --$$`;

  it('proof: SET standard_conforming_strings = off pipelined with the next Query drops the table on the real server', async () => {
    await refill();
    const c = await direct();
    c.write(Buffer.concat([query('SET standard_conforming_strings = off'), query(smuggled())]));
    await c.untilReady(2);
    const r = (await adminSql(`select to_regclass('${T}') as t`)) as pg.QueryResult;
    expect(r.rows[0].t).toBeNull();
    c.end();
    await refill();
  });

  it('through the broker the second Query waits for the SET to apply and is decided under off (refused)', async () => {
    const c = await broker();
    c.write(Buffer.concat([query('SET standard_conforming_strings = off'), query(smuggled()), query('SELECT 1 AS still')]));
    const out = await c.untilReady(3);
    const errs = errorsOf(out);
    expect(errs.length).toBe(1);
    expect(errs[0]!.message).toMatch(/blocked by rule unparsed/);
    expect(out.filter((m) => m.name === 'dataRow').map((m) => m.fields)).toEqual([['1']]);
    const r = (await adminSql(`select to_regclass('${T}') as t`)) as pg.QueryResult;
    expect(r.rows[0].t).toBe(T);
    c.end();
  });

  it('extended protocol: texts after a barrier Parse in the same pipeline must read the same under every reading', async () => {
    const c = await broker();
    c.write(Buffer.concat([extended('SET standard_conforming_strings = off'), extended(smuggled()), SYNC, query('SELECT 2')]));
    const out = await c.untilReady(2);
    expect(errorsOf(out)[0]?.message).toMatch(/same pipeline/);
    expect(out.filter((m) => m.name === 'dataRow').map((m) => m.fields)).toEqual([['2']]);
    c.write(query('SHOW standard_conforming_strings'));
    // the failed pipeline rolled back its implicit transaction: the SET did not stick
    expect((await c.untilReady()).find((m) => m.name === 'dataRow')?.fields).toEqual(['on']);
    // ASCII text without backslashes reads the same under every reading: it runs
    c.write(Buffer.concat([extended('SET standard_conforming_strings = off'), extended('SELECT 3'), SYNC]));
    const ok = await c.untilReady();
    expect(errorsOf(ok)).toEqual([]);
    expect(ok.filter((m) => m.name === 'dataRow').map((m) => m.fields)).toEqual([['3']]);
    c.end();
  });

  it('within one Query text the server parses everything before running any of it (the old reading applies)', async () => {
    const c = await direct();
    c.write(query("SET standard_conforming_strings = off; SELECT 'a\\' AS v"));
    const out = await c.untilReady();
    expect(out.find((m) => m.name === 'dataRow')?.fields).toEqual(['a\\']);
    c.end();
    const viaBroker = await broker();
    viaBroker.write(query("SET standard_conforming_strings = off; SELECT 'a\\' AS v"));
    const out2 = await viaBroker.untilReady();
    expect(errorsOf(out2)).toEqual([]);
    expect(out2.find((m) => m.name === 'dataRow')?.fields).toEqual(['a\\']);
    viaBroker.end();
  });

  it('RESET ALL and DISCARD ALL are barriers too: the next Query is decided after the server reset', async () => {
    const c = await broker();
    c.write(query('SET standard_conforming_strings = off'));
    await c.untilReady();
    c.write(Buffer.concat([query('RESET ALL'), query("SELECT 'x\\' AS v")]));
    const out = await c.untilReady(2);
    expect(errorsOf(out)).toEqual([]);
    expect(out.find((m) => m.name === 'dataRow')?.fields).toEqual(['x\\']);
    c.end();
  });
});

describe('reading changed by what an Execute runs (the server reports it only at the Sync)', () => {
  // one statement (a Parse takes only one): under on, v = 'x\' AND id = 1 (scoped); under off, v = 'x'' …' OR true
  const single = () => `DELETE FROM ${T} WHERE v = 'x\\' AND id = 1 -- ' OR true --`;
  const parseNamed = (name: string, text: string) => typed('P', Buffer.concat([cstr(name), cstr(text), Buffer.from([0, 0])]));
  const bindExecute = (name: string) => Buffer.concat([
    typed('B', Buffer.concat([cstr(''), cstr(name), Buffer.from([0, 0, 0, 0, 0, 0])])),
    typed('E', Buffer.concat([cstr(''), int32(0)])),
  ]);
  const setsOff = () => adminSql(`create or replace function ${T}_off() returns text language plpgsql as $f$ begin perform set_config('standard_conforming_strings', 'off', false); return 'x'; end $f$; grant execute on function ${T}_off() to dbw_rw`);

  it('proof: a SET prepared in one pipeline and executed in the next, before a smuggled Parse, deletes every row on the real server', async () => {
    await refill();
    const c = await direct();
    c.write(Buffer.concat([parseNamed('s1', 'SET standard_conforming_strings = off'), SYNC]));
    await c.untilReady();
    c.write(Buffer.concat([bindExecute('s1'), extended(single()), SYNC]));
    expect(errorsOf(await c.untilReady())).toEqual([]);
    expect(await rows()).toBe(0);
    c.end();
    await refill();
  });

  it('through the broker the Parse after the Execute must read the same under every reading (refused, nothing deleted)', async () => {
    const c = await broker();
    c.write(Buffer.concat([parseNamed('s1', 'SET standard_conforming_strings = off'), SYNC]));
    await c.untilReady();
    c.write(Buffer.concat([bindExecute('s1'), extended(single()), SYNC]));
    const out = await c.untilReady();
    expect(errorsOf(out)[0]?.message).toMatch(/blocked by rule unparsed/);
    expect(await rows()).toBe(5);
    // a Parse of the next pipeline sent at once waits for the ReadyForQuery and is decided under off (refused)
    c.write(query('RESET standard_conforming_strings'));
    await c.untilReady();
    c.write(Buffer.concat([bindExecute('s1'), SYNC, extended(single()), SYNC]));
    const next = await c.untilReady(2);
    expect(errorsOf(next).map((e) => e.message).join('\n')).toMatch(/standard_conforming_strings is off|blocked by rule unparsed/);
    expect(await rows()).toBe(5);
    // ASCII text without a backslash after an Execute reads the same under every reading: it runs
    c.write(Buffer.concat([bindExecute('s1'), extended('SELECT 7'), SYNC]));
    const ok = await c.untilReady();
    expect(errorsOf(ok)).toEqual([]);
    expect(ok.filter((m) => m.name === 'dataRow').map((m) => m.fields)).toEqual([['7']]);
    c.end();
  });

  it('a function that calls set_config, executed before a smuggled Parse in one pipeline: deletes on the server, refused through the broker', async () => {
    await refill();
    await setsOff();
    const d = await direct();
    d.write(Buffer.concat([extended(`select ${T}_off()`), extended(single()), SYNC]));
    expect(errorsOf(await d.untilReady())).toEqual([]);
    expect(await rows()).toBe(0);
    d.end();
    await refill();
    const c = await broker();
    c.write(Buffer.concat([extended(`select ${T}_off()`), extended(single()), SYNC]));
    expect(errorsOf(await c.untilReady())[0]?.message).toMatch(/blocked by rule unparsed/);
    expect(await rows()).toBe(5);
    c.end();
    await adminSql(`drop function ${T}_off()`);
  });

  it('a SQL function body is read again at each call under the caller\'s standard_conforming_strings: a backslash in a \'…\' string of a body is refused', async () => {
    await refill();
    const create = `CREATE FUNCTION ${T}_g() RETURNS void LANGUAGE sql AS $f$ DELETE FROM ${T} WHERE v = 'x\\' AND id = 1 -- ' OR true --\n $f$`;
    // proof on the server: created under on (scoped), called under off (every row deleted)
    const x = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'dbw_rw', database: 'dbw_app' });
    await x.connect();
    await x.query(create);
    await x.query('SET standard_conforming_strings = off');
    await x.query(`SELECT ${T}_g()`);
    await x.query(`DROP FUNCTION ${T}_g()`);
    await x.end();
    expect(await rows()).toBe(0);
    await refill();
    const c = new pg.Client({ connectionString: b.url(write) });
    await c.connect();
    const e = await c.query(create).catch((err) => err);
    expect(e.message).toMatch(/blocked by rule unparsed/);
    const e2 = await c.query(`CREATE FUNCTION ${T}_p() RETURNS text LANGUAGE plpgsql AS $f$ begin return 'a\\'; end $f$`).catch((err) => err);
    expect(e2.message).toMatch(/blocked by rule unparsed/);
    // E'…' and dollar-quoted strings read the same under both settings: allowed, and the function runs
    await c.query(`CREATE FUNCTION ${T}_h() RETURNS text LANGUAGE sql AS $f$ SELECT E'a\\\\' || $$b\\$$ $f$`);
    await c.query('SET standard_conforming_strings = off');
    expect((await c.query(`SELECT ${T}_h() AS v`)).rows).toEqual([{ v: 'a\\b\\' }]);
    await c.end();
    await adminSql(`drop function ${T}_h()`);
    expect(await rows()).toBe(5);
  });
});

describe('NUL bytes and syntax errors', () => {
  it('a Query with a NUL inside its text is refused, never forwarded', async () => {
    const c = await broker();
    c.write(Buffer.concat([Buffer.from('Q'), Buffer.alloc(4), Buffer.from('SELECT 1\0; DROP TABLE x'), Buffer.from([0])]));
    // fix the length field
    const body = Buffer.from('SELECT 1\0; DROP TABLE x\0');
    c.sock.destroy();
    const d = await broker();
    const msg = Buffer.alloc(5 + body.length);
    msg.write('Q');
    msg.writeInt32BE(4 + body.length, 1);
    body.copy(msg, 5);
    d.write(msg);
    const errs = errorsOf(await d.untilReady());
    expect(errs[0]?.message).toMatch(/NUL byte/);
    d.end();
  });

  it('SELEC 1 gets the server\'s own 42601 with its position; the session and its transaction behave as the server\'s would', async () => {
    const x = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'dbw_app' });
    await x.connect();
    const directErr = await x.query('SELECT 1 FROM x WHERE y = 1 ORDER BY ; ').catch((e: unknown) => e) as { code: string; message: string; position: string };
    await x.end();
    const c = new pg.Client({ connectionString: b.url(read) });
    await c.connect();
    const e1 = await c.query('SELEC 1').catch((e) => e);
    expect(e1.code).toBe('42601');
    expect(e1.message).toBe('syntax error at or near "SELEC"');
    expect(e1.position).toBe('1');
    // a syntax error is not a guardrail refusal: none of the markers tools use to tell one (docs/client-errors.md)
    expect(e1.routine ?? '').not.toMatch(/^dbwarden_/);
    expect(e1.hint).toBeUndefined();
    const e2 = await c.query('SELECT 1 FROM x WHERE y = 1 ORDER BY ; ').catch((e) => e);
    expect([e2.code, e2.message, e2.position]).toEqual([directErr.code, directErr.message, directErr.position]);
    const e3 = await c.query("SELECT 'é', 'ü' FROM WHERE").catch((e) => e);
    expect(e3.code).toBe('42601');
    expect(e3.position).toBe('22'); // characters, not bytes (as the server says: psql puts its caret under WHERE)
    await c.query('BEGIN');
    await c.query('SELEC 2').catch(() => undefined);
    const aborted = await c.query('SELECT 1').catch((e) => e);
    expect(aborted.code).toBe('25P02');
    await c.query('ROLLBACK');
    expect((await c.query('SELECT 3 AS n')).rows).toEqual([{ n: 3 }]);
    await c.end();
  });
});
