// Rules hot reload without dropping sessions (POST /v1/rules/reload and SIGHUP on `dbwarden serve`), invalid files
// keeping the old rules, and the decision cache's hit/miss counters on /metrics.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS, adminSql, startTestBroker, testConfigObject, type TestBroker } from '../helpers/broker.js';
import { freePort, spawnLogged, type Spawned } from '../helpers/process.js';

const RELOADABLE = 'reload-test.yaml';

/** A rule set that blocks reads of `table` (or nothing, for `null`). */
function ruleFile(table: string | null): string {
  const rules = table === null
    ? '  - id: nothing-yet\n    when: { statement: [load] }\n    action: warn\n    message: placeholder'
    : `  - id: no-${table}\n    when: { tables: ["*.${table}"] }\n    action: block\n    message: ${table} is off limits since the reload`;
  return `ruleset: reload-test\nrules:\n${rules}\n`;
}

/** Invalid on purpose: an unknown key on line 5. */
const BROKEN = 'ruleset: reload-test\nrules:\n  - id: broken\n    when: { statement: [select] }\n    actoin: block\n';

function rulesFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dbw-reload-rules-'));
  copyFileSync(resolve('rules/safe-defaults.yaml'), join(dir, 'safe-defaults.yaml'));
  writeFileSync(join(dir, RELOADABLE), ruleFile(null));
  return dir;
}

function targetWith(stateDir: string): Record<string, unknown> {
  const base = testConfigObject(stateDir) as { targets: { app: Record<string, unknown> } };
  return { app: { ...base.targets.app, rulesets: ['safe-defaults', 'reload-test'] } };
}

async function metric(adminUrl: string, name: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

beforeAll(async () => {
  await adminSql(`drop table if exists rl_a, rl_b; create table rl_a (id int); create table rl_b (id int);
    insert into rl_a values (1); insert into rl_b values (2); alter table rl_a owner to dbw_rw; alter table rl_b owner to dbw_rw; grant select on rl_a, rl_b to dbw_ro`);
});

describe('POST /v1/rules/reload', () => {
  let b: TestBroker;
  let dir: string;
  beforeAll(async () => {
    dir = rulesFolder();
    b = await startTestBroker({ rules: dir, targets: targetWith('unused') });
  });
  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const reload = async () => {
    const res = await fetch(`${b.admin.url}/v1/rules/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.bob}`, 'content-type': 'application/json' }, body: '{}' });
    return { status: res.status, body: (await res.json()) as { ok: boolean; rulesets?: string[]; errors?: string[]; error?: { code: string } } };
  };

  it('a live session keeps working and its next statement meets the new rules; a broken file keeps the old ones', async () => {
    const cred = await b.grant({ access: 'write' });
    const c = new pg.Client({ connectionString: b.url(cred) });
    c.on('error', () => undefined);
    await c.connect();
    expect((await c.query('select id from rl_a')).rows).toEqual([{ id: 1 }]);

    writeFileSync(join(dir, RELOADABLE), ruleFile('rl_a'));
    const ok = await reload();
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ ok: true, rulesets: ['reload-test', 'safe-defaults'] });
    const blocked = await c.query('select id from rl_a').catch((e) => e);
    expect(blocked.code).toBe('42501');
    expect(blocked.message).toBe('dbwarden: blocked by rule no-rl_a: rl_a is off limits since the reload');
    expect((await c.query('select id from rl_b')).rows).toEqual([{ id: 2 }]);

    writeFileSync(join(dir, RELOADABLE), BROKEN);
    const bad = await reload();
    expect(bad.status).toBe(422);
    expect(bad.body.ok).toBe(false);
    expect(bad.body.error?.code).toBe('BRK_RULES_INVALID');
    expect(bad.body.errors?.join('\n')).toContain(`${join(dir, RELOADABLE)}:5:`);
    expect(bad.body.errors?.join('\n')).toMatch(/unknown key "actoin"/);
    // old rules stay in force, session untouched
    expect((await c.query('select id from rl_a').catch((e) => e)).code).toBe('42501');
    expect((await c.query('select id from rl_b')).rows).toEqual([{ id: 2 }]);
    // a new session gets the old rules as well
    const c2 = new pg.Client({ connectionString: b.url(cred) });
    await c2.connect();
    expect((await c2.query('select id from rl_a').catch((e) => e)).code).toBe('42501');
    await c2.end();

    writeFileSync(join(dir, RELOADABLE), ruleFile('rl_b'));
    expect((await reload()).status).toBe(200);
    expect((await c.query('select id from rl_a')).rows).toEqual([{ id: 1 }]);
    expect((await c.query('select id from rl_b').catch((e) => e)).message).toMatch(/^dbwarden: blocked by rule no-rl_b: /);
    await c.end();
  });

  it('the decision cache counts misses and hits on /metrics, per rules version', async () => {
    const cred = await b.grant({ access: 'read' });
    const c = new pg.Client({ connectionString: b.url(cred) });
    c.on('error', () => undefined);
    await c.connect();
    const text = `select id, ${Date.now()} as stamp from rl_a`;
    const [h0, m0] = [await metric(b.admin.url, 'dbwarden_statement_cache_hits_total'), await metric(b.admin.url, 'dbwarden_statement_cache_misses_total')];
    await c.query(text);
    const [h1, m1] = [await metric(b.admin.url, 'dbwarden_statement_cache_hits_total'), await metric(b.admin.url, 'dbwarden_statement_cache_misses_total')];
    expect(m1 - m0).toBe(1);
    expect(h1 - h0).toBe(0);
    await c.query(text);
    await c.query(text);
    const [h2, m2] = [await metric(b.admin.url, 'dbwarden_statement_cache_hits_total'), await metric(b.admin.url, 'dbwarden_statement_cache_misses_total')];
    expect(h2 - h1).toBe(2);
    expect(m2 - m1).toBe(0);
    // a reload starts a new rules version: the same text is decided afresh
    expect((await fetch(`${b.admin.url}/v1/rules/reload`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.bob}` }, body: '{}' })).status).toBe(200);
    await c.query(text);
    expect(await metric(b.admin.url, 'dbwarden_statement_cache_misses_total')).toBe(m2 + 1);
    // the same text under another access level is its own cache entry
    const w = await b.grant({ access: 'write' });
    const cw = new pg.Client({ connectionString: b.url(w) });
    cw.on('error', () => undefined);
    await cw.connect();
    await cw.query(text);
    expect(await metric(b.admin.url, 'dbwarden_statement_cache_misses_total')).toBe(m2 + 2);
    expect(await metric(b.admin.url, 'dbwarden_statement_check_seconds_count')).toBeGreaterThan(0);
    await cw.end();
    await c.end();
  });
});

describe('SIGHUP on dbwarden serve', () => {
  let dir: string;
  let rules: string;
  let serve: Spawned;
  let adminUrl: string;
  let pgPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dbw-sighup-'));
    rules = rulesFolder();
    let adminPort: number;
    [pgPort, adminPort] = [await freePort(), await freePort()];
    adminUrl = `http://127.0.0.1:${adminPort}`;
    const state = join(dir, 'state');
    const cfg = testConfigObject(state, {
      listen: { postgres: `127.0.0.1:${pgPort}`, admin: `127.0.0.1:${adminPort}` }, log: { level: 'info' }, rules, targets: targetWith(state),
    });
    writeFileSync(join(dir, 'dbwarden.yaml'), stringify(cfg));
    serve = spawnLogged(process.execPath, ['--import', 'tsx', 'src/bin.ts', 'serve', '--config', join(dir, 'dbwarden.yaml')]);
    for (let i = 0; i < 200; i++) {
      if (await fetch(`${adminUrl}/healthz`).then((r) => r.ok, () => false)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 40_000);

  afterAll(async () => {
    serve?.child.kill('SIGTERM');
    await serve?.exited;
    rmSync(dir, { recursive: true, force: true });
    rmSync(rules, { recursive: true, force: true });
  });

  it('reloads the rules for live sessions; an invalid file is logged with file:line and the old rules stay', async () => {
    const res = await fetch(`${adminUrl}/v1/requests`, {
      method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' },
      body: JSON.stringify({ target: 'app', access: 'write', ttl: '10m', reason: 'sighup test', databases: ['dbw_app'] }),
    });
    const { grant } = (await res.json()) as { grant: { login: string; password: string } };
    const c = new pg.Client({ connectionString: `postgresql://${grant.login}:${grant.password}@127.0.0.1:${pgPort}/dbw_app?sslmode=disable` });
    await c.connect();
    expect((await c.query('select id from rl_b')).rows).toEqual([{ id: 2 }]);

    writeFileSync(join(rules, RELOADABLE), ruleFile('rl_b'));
    serve.child.kill('SIGHUP');
    await serve.waitFor(/rules reloaded/);
    expect((await c.query('select id from rl_b').catch((e) => e)).message).toMatch(/^dbwarden: blocked by rule no-rl_b: /);

    writeFileSync(join(rules, RELOADABLE), BROKEN);
    serve.child.kill('SIGHUP');
    const line = await serve.waitFor(/rules reload failed.*\n?/);
    expect(serve.output()).toContain(`${join(rules, RELOADABLE)}:5:`);
    expect(line[0]).toBeTruthy();
    expect((await c.query('select id from rl_b').catch((e) => e)).code).toBe('42501');
    expect((await c.query('select id from rl_a')).rows).toEqual([{ id: 1 }]);
    await c.end();
  });
});
