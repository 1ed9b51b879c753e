// Review dry runs: a statement held by a `review` rule is run by the broker inside a transaction it rolls back, and the
// approver sees what it would change (API, `dbwarden reviews`, `review approve`), on PostgreSQL and MariaDB. Texts a
// rollback could not fully undo (triggers, functions outside pg_catalog, MyISAM) are never run.
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { startBroker, type Broker } from '../../src/main.js';
import { TOKENS, adminSql, testConfigObject } from '../helpers/broker.js';
import { ensureMysqlFixtures, myAdmin, mysqlTarget } from '../helpers/mysql.js';
import { cli } from '../unit/cli/helpers.js';

const S = randomBytes(3).toString('hex');
const T = `dr_${S}`; // every table of this file starts with it
const rulesDir = mkdtempSync(join(tmpdir(), 'dbw-dryrun-rules-'));
const stateDir = mkdtempSync(join(tmpdir(), 'dbw-dryrun-state-'));
copyFileSync(resolve('rules/safe-defaults.yaml'), join(rulesDir, 'safe-defaults.yaml'));
writeFileSync(join(rulesDir, 'dry-run-test.yaml'), `
ruleset: dry-run-test
rules:
  - id: held-writes
    when: { statement: [update, delete], tables: ["**${T}*"] }
    action: review
    message: writes here need a second pair of eyes
`);

let b: Broker;
let pgCred: { login: string; password: string };
let myCred: { login: string; password: string };

async function api(who: keyof typeof TOKENS, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${b.admin.url}${path}`, { method, headers: { authorization: `Bearer ${TOKENS[who]}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: await res.json() };
}
const asCli = (who: keyof typeof TOKENS) => ({ DBWARDEN_URL: b.admin.url, DBWARDEN_TOKEN: TOKENS[who] });
const held = (message: string) => /\((rv_[a-z2-9]{16})\)/.exec(message)![1]!;

/** The review once its dry run has been stored. */
async function reviewed(id: string): Promise<any> {
  await b.reviews.settleDryRuns();
  return (await api('bob', 'GET', `/v1/reviews/${id}`)).body;
}

beforeAll(async () => {
  await ensureMysqlFixtures();
  await adminSql(`create table ${T}_items (id int primary key, qty int not null check (qty >= 0));
    insert into ${T}_items select g, 10 from generate_series(1, 10) g;
    create table ${T}_audited (id int primary key, v int);
    insert into ${T}_audited select g, 0 from generate_series(1, 5) g;
    create table ${T}_log (n int);
    create function ${T}_f() returns trigger language plpgsql as $$ begin insert into ${T}_log values (1); return new; end $$;
    create trigger ${T}_t before update on ${T}_audited for each row execute function ${T}_f();
    create function ${T}_double(x int) returns int language sql immutable as $$ select x * 2 $$;
    alter table ${T}_items owner to dbw_rw; alter table ${T}_audited owner to dbw_rw; alter table ${T}_log owner to dbw_rw;`);
  await myAdmin(`CREATE TABLE dbw_my.${T}_inno (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=InnoDB;
    INSERT INTO dbw_my.${T}_inno (id) SELECT seq FROM dbw_my.seq_1_to_20;
    CREATE TABLE dbw_my.${T}_isam (id INT PRIMARY KEY, v INT NOT NULL DEFAULT 0) ENGINE=MyISAM;
    INSERT INTO dbw_my.${T}_isam (id) SELECT seq FROM dbw_my.seq_1_to_20;`);
  const base = testConfigObject(stateDir) as { targets: { app: Record<string, unknown> } };
  const obj = testConfigObject(stateDir, {
    listen: { postgres: '127.0.0.1:0', mysql: '127.0.0.1:0', admin: '127.0.0.1:0' },
    rules: rulesDir,
    targets: {
      app: { ...base.targets.app, rulesets: ['safe-defaults', 'dry-run-test'] },
      my: mysqlTarget({ rulesets: ['safe-defaults', 'dry-run-test'] }),
    },
    access: [{ name: 'write-auto', requesters: ['group:dev'], access: ['write'], maxTtl: '2h', approvals: 0, approvers: ['group:dba'] }],
  });
  b = await startBroker(parseConfig(stringify(obj), join(stateDir, 'dbwarden.yaml'), {}), { logger: silentLogger });
  pgCred = (await api('alice', 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '30m', reason: 'dry runs', databases: ['dbw_app'] })).body.grant;
  myCred = (await api('alice', 'POST', '/v1/requests', { target: 'my', access: 'write', ttl: '30m', reason: 'dry runs', databases: ['dbw_my'] })).body.grant;
});

afterAll(async () => {
  await b?.close();
  await adminSql(`drop table if exists ${T}_items, ${T}_audited, ${T}_log; drop function if exists ${T}_f(), ${T}_double(int)`).catch(() => undefined);
  await myAdmin(`DROP TABLE IF EXISTS dbw_my.${T}_inno, dbw_my.${T}_isam`).catch(() => undefined);
  rmSync(rulesDir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

describe('PostgreSQL', () => {
  let c: pg.Client;
  beforeAll(async () => {
    c = new pg.Client({ connectionString: `postgresql://${pgCred.login}:${pgCred.password}@127.0.0.1:${b.pg!.port}/dbw_app?sslmode=disable` });
    await c.connect();
  });
  afterAll(() => c.end());
  const count = async (sql: string) => Number(((await adminSql(sql)) as pg.QueryResult).rows[0].n);

  it('the approver sees the row count of a run that was rolled back, in the API and the CLI', async () => {
    const text = `delete from ${T}_items where id > 2`;
    const id = held((await c.query(text).catch((e) => e)).message);
    const r = await reviewed(id);
    expect(r.database).toBe('dbw_app');
    expect(r.dryRun).toMatchObject({ changes: [{ command: 'DELETE', rows: 8 }], rows: 8 });
    // nothing of the dry run stayed
    expect(await count(`select count(*) n from ${T}_items`)).toBe(10);
    const list = await cli(['reviews'], asCli('bob'));
    expect(list.stdout).toContain('would change 8 rows (DELETE 8); rolled back');
    const ok = await cli(['review', 'approve', id], asCli('bob'));
    expect(ok.stdout).toBe(`review ${id}: approved (dry run: would change 8 rows (DELETE 8); rolled back)\n`);
    expect((await c.query(text)).rowCount).toBe(8);
    expect(await count(`select count(*) n from ${T}_items`)).toBe(2);
  });

  it('a statement that would fail shows the server error; nothing changes', async () => {
    const id = held((await c.query(`update ${T}_items set qty = qty - 11 where id = 1`).catch((e) => e)).message);
    const r = await reviewed(id);
    expect(r.dryRun.error).toMatch(/violates check constraint/);
    expect(await count(`select qty n from ${T}_items where id = 1`)).toBe(10);
    expect((await cli(['reviews'], asCli('bob'))).stdout).toMatch(/would fail: new row for relation \S+ violates check con/);
  });

  it('is not run when a trigger or a function outside pg_catalog could do what a rollback cannot undo', async () => {
    const trig = held((await c.query(`update ${T}_audited set v = 1 where id = 1`).catch((e) => e)).message);
    expect((await reviewed(trig)).dryRun).toMatchObject({ skipped: expect.stringContaining('has triggers') });
    const fn = held((await c.query(`update ${T}_items set qty = ${T}_double(qty) where id = 2`).catch((e) => e)).message);
    expect((await reviewed(fn)).dryRun).toMatchObject({ skipped: expect.stringContaining(`${T}_double()`) });
    expect(await count(`select count(*) n from ${T}_log`)).toBe(0);
    expect(await count(`select qty n from ${T}_items where id = 2`)).toBe(10);
  });
});

describe('MariaDB', () => {
  let c: mysql.Connection;
  beforeAll(async () => {
    c = await mysql.createConnection({ host: '127.0.0.1', port: b.mysql!.port, user: myCred.login, password: myCred.password, database: 'dbw_my' });
  });
  afterAll(() => c.end());
  const count = async (sql: string) => {
    const d = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', database: 'dbw_my' });
    const [rows] = await d.query(sql);
    await d.end();
    return Number((rows as { n: unknown }[])[0]!.n);
  };

  it('InnoDB: the count from a rolled-back run (query and execute); MyISAM: not run', async () => {
    const id = held((await c.query(`UPDATE ${T}_inno SET v = 1 WHERE id <= 7`).catch((e) => e)).message);
    expect((await reviewed(id)).dryRun).toMatchObject({ changes: [{ command: 'UPDATE', rows: 7 }], rows: 7 });
    expect(await count(`SELECT COUNT(*) n FROM ${T}_inno WHERE v = 1`)).toBe(0);
    const ex = held((await c.execute(`DELETE FROM ${T}_inno WHERE id > ?`, [15]).catch((e) => e)).message);
    // a prepared statement is held by its text; the dry run cannot know the parameters
    const exr = await reviewed(ex);
    expect(exr.dryRun.error ?? exr.dryRun.skipped).toBeTruthy();
    const isam = held((await c.query(`DELETE FROM ${T}_isam WHERE id > 10`).catch((e) => e)).message);
    expect((await reviewed(isam)).dryRun).toMatchObject({ skipped: expect.stringContaining('MYISAM') });
    expect(await count(`SELECT COUNT(*) n FROM ${T}_isam`)).toBe(20);
    expect(await count(`SELECT COUNT(*) n FROM ${T}_inno`)).toBe(20);
  });
});
