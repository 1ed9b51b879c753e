// Rule actions `review` and `warn` end to end: node-postgres and psql through the broker, the admin API, the CLI,
// the audit file, and a broker restart that must still honour an approval.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/log.js';
import { startBroker, type Broker } from '../../src/main.js';
import { TOKENS, adminSql, testConfigObject } from '../helpers/broker.js';
import { cli } from '../unit/cli/helpers.js';

const run = promisify(execFile);

const REVIEW_RULES = `
ruleset: review-test
description: rules for the review and warn integration tests
rules:
  - id: accounts-review
    when: { statement: [update], tables: ["*.rv_accounts"] }
    action: review
    message: changes to account balances need a second pair of eyes
  - id: ledger-warn
    when: { tables: ["*.rv_ledger"] }
    action: warn
    message: the ledger is append-only by convention
`;

const rulesDir = mkdtempSync(join(tmpdir(), 'dbw-review-rules-'));
const stateDir = mkdtempSync(join(tmpdir(), 'dbw-review-state-'));
copyFileSync(resolve('rules/safe-defaults.yaml'), join(rulesDir, 'safe-defaults.yaml'));
writeFileSync(join(rulesDir, 'review-test.yaml'), REVIEW_RULES);

async function start(): Promise<Broker> {
  const base = testConfigObject(stateDir) as { targets: { app: Record<string, unknown> } };
  const obj = testConfigObject(stateDir, {
    rules: rulesDir,
    targets: { app: { ...base.targets.app, rulesets: ['safe-defaults', 'review-test'] } },
    access: [
      { name: 'read-self-service', requesters: ['*'], access: ['read'], maxTtl: '8h', approvals: 0 },
      // no approval to get the grant, but the DBAs are the ones who may release held statements
      { name: 'write-auto', requesters: ['group:dev', 'group:deploy'], access: ['write'], maxTtl: '2h', approvals: 0, approvers: ['group:dba'] },
    ],
  });
  return startBroker(parseConfig(stringify(obj), join(stateDir, 'dbwarden.yaml'), {}), { logger: silentLogger });
}

let b: Broker;
let cred: { grantId: string; login: string; password: string };

const url = (broker: Broker) => `postgresql://${cred.login}:${cred.password}@127.0.0.1:${broker.pg!.port}/dbw_app?sslmode=disable`;

async function api(who: keyof typeof TOKENS, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${b.admin.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKENS[who]}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: await res.json() };
}

async function connect(broker = b): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url(broker) });
  // a client a failed test leaves open is ended by the broker's shutdown later; that must not surface as a second,
  // unrelated failure in whichever test is running then
  c.on('error', () => {});
  await c.connect();
  return c;
}

function auditEvents(): Array<Record<string, any>> {
  return readFileSync(join(stateDir, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
}

const asCli = (who: keyof typeof TOKENS) => ({ DBWARDEN_URL: b.admin.url, DBWARDEN_TOKEN: TOKENS[who] });
const REVIEW_ERROR = /^dbwarden: review required \((rv_[a-z2-9]{16})\) by rule accounts-review: changes to account balances need a second pair of eyes$/;

beforeAll(async () => {
  await adminSql(`drop table if exists rv_accounts, rv_ledger;
    create table rv_accounts (id int primary key, balance int); insert into rv_accounts values (1, 100), (2, 200), (3, 300);
    create table rv_ledger (id int primary key, note text); insert into rv_ledger values (1, 'opening');
    alter table rv_accounts owner to dbw_rw; alter table rv_ledger owner to dbw_rw`);
  b = await start();
  const r = await api('alice', 'POST', '/v1/requests', { target: 'app', access: 'write', ttl: '30m', reason: 'fix balances', databases: ['dbw_app'] });
  expect(r.status).toBe(201);
  cred = r.body.grant;
});

afterAll(async () => {
  await b?.close();
  rmSync(rulesDir, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
});

describe('review', () => {
  it('holds the statement with 42501, the review id and a hint naming the approve command; approved, it runs once', async () => {
    const c = await connect();
    const text = 'update rv_accounts set balance = 0 where id = 1';
    const e = await c.query(text).catch((x) => x);
    expect(e.code).toBe('42501');
    expect(e.message).toMatch(REVIEW_ERROR);
    const id = REVIEW_ERROR.exec(e.message)![1]!;
    expect(e.hint).toContain(`dbwarden review approve ${id}`);
    // nothing ran
    expect(((await adminSql('select balance from rv_accounts where id = 1')) as pg.QueryResult).rows[0].balance).toBe(100);
    // a retry while pending points at the same review
    expect((await c.query(text).catch((x) => x)).message).toContain(`(${id})`);

    const list = await api('bob', 'GET', '/v1/reviews?status=pending');
    expect(list.status).toBe(200);
    expect(list.body).toContainEqual(expect.objectContaining({ id, grantId: cred.grantId, identity: 'alice', target: 'app', text, ruleIds: ['accounts-review'], status: 'pending' }));
    expect((await api('bob', 'GET', '/v1/reviews?status=bogus')).status).toBe(400);
    expect((await api('bob', 'GET', `/v1/reviews/${id}`)).body.status).toBe('pending');

    // the author cannot release their own statement, nor can someone the policy does not name
    expect((await api('alice', 'POST', `/v1/reviews/${id}/approve`)).status).toBe(403);
    expect((await api('ci', 'POST', `/v1/reviews/${id}/approve`)).status).toBe(403);

    // the dry run is asynchronous: an approval before it ends is valid but would show no dry-run result
    await b.reviews.settleDryRuns();
    const shown = await cli(['reviews'], asCli('bob'));
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(id);
    const approved = await cli(['review', 'approve', id, '--comment', 'checked with finance'], asCli('bob'));
    expect(approved.stderr).toBe('');
    expect(approved.code).toBe(0);
    // the approver was shown what the statement would change (a dry run the broker rolled back)
    expect(approved.stdout).toBe(`review ${id}: approved (dry run: would change 1 row (UPDATE 1); rolled back)\n`);
    expect((await cli(['review', 'approve', id], asCli('bob'))).code).not.toBe(0);

    // only the exact text passes, then only once
    expect((await c.query(text + ' ').catch((x) => x)).code).toBe('42501');
    const ok = await c.query(text);
    expect(ok.rowCount).toBe(1);
    expect(((await adminSql('select balance from rv_accounts where id = 1')) as pg.QueryResult).rows[0].balance).toBe(0);
    const again = await c.query(text).catch((x) => x);
    expect(again.code).toBe('42501');
    expect(REVIEW_ERROR.exec(again.message)![1]).not.toBe(id);
    await c.end();

    await b.reviews.flush();
    expect((await api('bob', 'GET', `/v1/reviews/${id}`)).body).toMatchObject({ status: 'used', decidedBy: 'bob', comment: 'checked with finance' });
    const events = auditEvents();
    expect(events).toContainEqual(expect.objectContaining({ type: 'review.requested', review: id, grant: cred.grantId, actor: 'alice' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'review.approved', review: id, actor: 'bob', identity: 'alice' }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'statement', text, action: 'review', review: id }));
    expect(events).toContainEqual(expect.objectContaining({ type: 'statement', text, action: 'allow', review: id, approvedBy: 'bob' }));
  });

  it('any session of the grant may use the approval, but only one of them', async () => {
    const text = 'update rv_accounts set balance = balance + 1 where id = 2';
    const c1 = await connect();
    const c2 = await connect();
    const id = REVIEW_ERROR.exec((await c1.query(text).catch((x) => x)).message)![1]!;
    expect((await api('bob', 'POST', `/v1/reviews/${id}/approve`)).status).toBe(200);
    const results = await Promise.all([c1.query(text).catch((x) => x), c2.query(text).catch((x) => x)]);
    expect(results.filter((r) => r.rowCount === 1)).toHaveLength(1);
    expect(results.filter((r) => r.code === '42501')).toHaveLength(1);
    expect(((await adminSql('select balance from rv_accounts where id = 2')) as pg.QueryResult).rows[0].balance).toBe(201);
    await c1.end();
    await c2.end();
  });

  it('a denied review stays refused (CLI deny) and a retry files a new review', async () => {
    const c = await connect();
    const text = 'update rv_accounts set balance = -1 where id = 3';
    const id = REVIEW_ERROR.exec((await c.query(text).catch((x) => x)).message)![1]!;
    const denied = await cli(['review', 'deny', id, '--reason', 'not during quarter close'], asCli('bob'));
    expect(denied.code).toBe(0);
    expect(denied.stdout).toBe(`review ${id}: denied\n`);
    const e = await c.query(text).catch((x) => x);
    expect(e.code).toBe('42501');
    expect(REVIEW_ERROR.exec(e.message)![1]).not.toBe(id);
    expect(((await adminSql('select balance from rv_accounts where id = 3')) as pg.QueryResult).rows[0].balance).toBe(300);
    expect(auditEvents()).toContainEqual(expect.objectContaining({ type: 'review.denied', review: id, actor: 'bob', comment: 'not during quarter close' }));
    await c.end();
  });

  it('the extended protocol is held the same way and released by the same approval', async () => {
    const c = await connect();
    const text = 'update rv_accounts set balance = $1 where id = $2';
    const e = await c.query(text, [5, 3]).catch((x) => x);
    expect(e.message).toMatch(REVIEW_ERROR);
    const id = REVIEW_ERROR.exec(e.message)![1]!;
    // the session goes on after the failed pipeline
    expect((await c.query('select 1 as n')).rows[0].n).toBe(1);
    expect((await api('bob', 'POST', `/v1/reviews/${id}/approve`)).status).toBe(200);
    expect((await c.query(text, [5, 3])).rowCount).toBe(1);
    expect((await c.query(text, [6, 3]).catch((x) => x)).code).toBe('42501');
    await c.end();
  });

  it('approvals survive a broker restart (store) and are still used only once', async () => {
    const c = await connect();
    const text = "update rv_accounts set balance = 42 where id = 1 /* after restart */";
    const id = REVIEW_ERROR.exec((await c.query(text).catch((x) => x)).message)![1]!;
    await c.end();
    expect((await api('bob', 'POST', `/v1/reviews/${id}/approve`)).status).toBe(200);
    await b.close();
    b = await start();
    expect((await api('bob', 'GET', `/v1/reviews/${id}`)).body.status).toBe('approved');
    const c2 = await connect();
    expect((await c2.query(text)).rowCount).toBe(1);
    expect((await c2.query(text).catch((x) => x)).code).toBe('42501');
    await c2.end();
  });
});

describe('warn', () => {
  it('node-postgres gets a WARNING notice naming the rule, then the result', async () => {
    const c = await connect();
    const notices: Array<{ severity?: string; message?: string }> = [];
    c.on('notice', (n) => notices.push(n));
    const r = await c.query('select note from rv_ledger where id = 1');
    expect(r.rows).toEqual([{ note: 'opening' }]);
    expect(notices).toEqual([expect.objectContaining({ severity: 'WARNING', message: 'dbwarden: rule ledger-warn: the ledger is append-only by convention' })]);
    // extended protocol too, and the write goes through
    const w = await c.query('insert into rv_ledger values ($1, $2)', [2, 'second']);
    expect(w.rowCount).toBe(1);
    expect(notices).toHaveLength(2);
    await c.end();
    expect(auditEvents()).toContainEqual(expect.objectContaining({ type: 'statement', text: 'select note from rv_ledger where id = 1', action: 'warn', rules: ['ledger-warn'] }));
  });

  it('psql prints the warning and the rows', async () => {
    const { stdout, stderr } = await run('psql', [url(b), '-X', '-At', '-c', 'select count(*) from rv_ledger']);
    expect(stdout.trim()).toBe('2');
    expect(stderr).toContain('WARNING:  dbwarden: rule ledger-warn: the ledger is append-only by convention');
  });
});
