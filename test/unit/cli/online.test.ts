// runCli against a real admin server (AccessService over EmbeddedStore): human and --json output, exit codes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFixture, type Fixture } from '../admin/fixture.js';
import { cli } from './helpers.js';

let fx: Fixture;
let as: (who: 'alice' | 'bob' | 'carol') => Record<string, string>;
beforeAll(async () => {
  fx = await startFixture();
  as = (who) => ({ DBWARDEN_URL: fx.url, DBWARDEN_TOKEN: fx.tokens[who] });
});
afterAll(async () => {
  await fx?.close();
});

const readArgs = ['request', 'app', '--access', 'read', '--ttl', '30m', '--reason', 'look at orders'];
const writeArgs = ['request', 'app', '--access', 'write', '--ttl', '1h', '--reason', 'fix order 7'];

describe('request', () => {
  it('auto-approved: prints login, password, expiry and a ready psql line', async () => {
    const r = await cli(readArgs, as('alice'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const login = /^login\s+(alice_\S+)$/m.exec(r.stdout)?.[1];
    const password = /^password\s+(\S+)\s+\(shown once\)$/m.exec(r.stdout)?.[1];
    expect(login).toBeDefined();
    expect(password).toBeDefined();
    expect(r.stdout).toMatch(/^request\s+req_\S+ \(active\)$/m);
    expect(r.stdout).toMatch(/^grant\s+gr_\S+$/m);
    expect(r.stdout).toMatch(/^expires\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ \(in (29m5\ds|30m)\)$/m);
    // the broker listens on 0.0.0.0, so the line uses the host the API was reached by
    expect(r.stdout).toContain(`psql "postgresql://${login}@127.0.0.1:7432/app"`);
    // the password is shown once in its field, never inside a URL or command line (shell history, process lists)
    expect(r.stdout.split('\n').filter((l) => l.includes(password!))).toEqual([expect.stringMatching(/^password\s/)]);
    expect(r.stdout).not.toContain('mysql -h');
  });

  it('--database picks the database in the connect line', async () => {
    const r = await cli([...readArgs, '--database', 'analytics'], as('carol'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/@127\.0\.0\.1:7432\/analytics"/);
  });

  it('--json prints the API object', async () => {
    const r = await cli([...readArgs, '--json'], as('alice'));
    const j = JSON.parse(r.stdout);
    expect(j.request.status).toBe('active');
    expect(j.grant).toMatchObject({ grantId: expect.any(String), login: expect.stringMatching(/^alice_/), password: expect.any(String) });
  });

  it('--url and --token flags override the environment', async () => {
    const r = await cli([...readArgs, '--url', fx.url, '--token', fx.tokens.bob, '--json'], { DBWARDEN_URL: 'http://127.0.0.1:9', DBWARDEN_TOKEN: 'wrong' });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).request.requester).toBe('bob');
  });

  it('needing approval without --wait: prints the id, pending, and what to do next', async () => {
    const r = await cli(writeArgs, as('alice'));
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^request\s+req_\S+$/m);
    expect(r.stdout).toMatch(/^status\s+pending$/m);
    expect(r.stdout).toMatch(/dbwarden approve req_/);
  });

  it('--wait blocks until an approver approves, with progress on stderr, then prints the password', async () => {
    const before = new Set((await fx.call('bob', 'GET', '/v1/requests?status=pending')).body.map((x: { id: string }) => x.id));
    const run = cli([...writeArgs, '--wait', '--timeout', '20s'], as('carol'), { pollIntervalMs: 40 });
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 30));
      const pending = (await fx.call('bob', 'GET', '/v1/requests?status=pending')).body as { id: string; requester: string }[];
      id = pending.find((x) => !before.has(x.id) && x.requester === 'carol')?.id;
    }
    expect(id).toBeDefined();
    await new Promise((r) => setTimeout(r, 100));
    expect((await fx.call('bob', 'POST', `/v1/requests/${id}/approve`)).status).toBe(200);
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`waiting for approval of ${id}`);
    expect(r.stdout).toMatch(/^password\s+\S+\s+\(shown once\)$/m);
    expect(r.stdout).toContain('psql "postgresql://carol_');
    // the password was collected: a second collection is refused
    const again = await cli(['credentials', id!], as('carol'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('BRK_GONE');
  });

  it('--wait ends with exit 1 when denied', async () => {
    const before = new Set((await fx.call('bob', 'GET', '/v1/requests?status=pending')).body.map((x: { id: string }) => x.id));
    const run = cli([...writeArgs, '--wait', '--timeout', '20s', '--json'], as('alice'), { pollIntervalMs: 40 });
    let id: string | undefined;
    for (let i = 0; i < 100 && !id; i++) {
      await new Promise((r) => setTimeout(r, 30));
      const pending = (await fx.call('bob', 'GET', '/v1/requests?status=pending')).body as { id: string; requester: string }[];
      id = pending.find((x) => !before.has(x.id) && x.requester === 'alice')?.id;
    }
    expect(id).toBeDefined();
    await fx.call('bob', 'POST', `/v1/requests/${id}/deny`, { comment: 'use read' });
    const r = await run;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`request ${id} is denied`);
    expect(r.stderr).toContain('use read');
    expect(JSON.parse(r.stdout).request.status).toBe('denied');
  });

  it('--wait times out with exit 1 and says how to collect later', async () => {
    const r = await cli([...writeArgs, '--wait', '--timeout', '1s'], as('carol'), { pollIntervalMs: 100 });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/timed out after 1s waiting for approval of req_\S+; once approved, run: dbwarden credentials req_/);
  });

  it('over the policy limit: one line with the code, exit 1; --json prints the error object', async () => {
    const r = await cli(['request', 'app', '--access', 'read', '--ttl', '9h', '--reason', 'x'], as('alice'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dbwarden: ttl 9h exceeds the maximum of 8h .*\(BRK_POLICY_LIMIT\)\n$/);
    const j = await cli(['request', 'app', '--access', 'read', '--ttl', '9h', '--reason', 'x', '--json'], as('alice'));
    expect(JSON.parse(j.stdout)).toEqual({ error: { code: 'BRK_POLICY_LIMIT', message: expect.stringContaining('8h') } });
  });

  it('a bad token is a one-line 401 error', async () => {
    const r = await cli(['grants'], { DBWARDEN_URL: fx.url, DBWARDEN_TOKEN: 'nope' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('dbwarden: missing or invalid bearer token (BRK_UNAUTHENTICATED)\n');
  });
});

describe('approve, deny, requests', () => {
  it('approving your own request is refused; an approver activates it', async () => {
    const created = JSON.parse((await cli([...writeArgs, '--json'], as('alice'))).stdout);
    const id = created.request.id;
    const self = await cli(['approve', id], as('alice'));
    expect(self.code).toBe(1);
    expect(self.stderr).toContain('BRK_FORBIDDEN');
    const list = await cli(['requests', '--status', 'pending'], as('bob'));
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+REQUESTER\s+TARGET\s+ACCESS\s+TTL\s+STATUS\s+APPROVALS\s+CREATED\s+REASON$/);
    expect(list.stdout).toMatch(new RegExp(`^${id}\\s+alice\\s+app\\s+write\\s+1h\\s+pending\\s+0/1`, 'm'));
    const ok = await cli(['approve', id, '--comment', 'go'], as('bob'));
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe(`request ${id} by alice: active\n`);
    const creds = await cli(['credentials', id], as('alice'));
    expect(creds.code).toBe(0);
    expect(creds.stdout).toMatch(/^password\s+\S+/m);
  });

  it('deny --reason', async () => {
    const id = JSON.parse((await cli([...writeArgs, '--json'], as('carol'))).stdout).request.id;
    const r = await cli(['deny', id, '--reason', 'not now'], as('bob'));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`request ${id} by carol: denied\n`);
    const got = await fx.call('bob', 'GET', `/v1/requests/${id}`);
    expect(got.body.approvals.at(-1)).toMatchObject({ by: 'bob', decision: 'deny', comment: 'not now' });
  });
});

describe('grants, revoke, extend', () => {
  it('lists grants as an aligned table and as JSON; revoke and extend', async () => {
    const created = JSON.parse((await cli([...readArgs, '--json'], as('carol'))).stdout);
    const grantId = created.grant.grantId;

    const table = await cli(['grants'], as('carol'));
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+IDENTITY\s+LOGIN\s+TARGET\s+ACCESS\s+DATABASES\s+STATUS\s+EXPIRES$/);
    const row = lines.find((l) => l.startsWith(grantId));
    expect(row).toMatch(/\scarol\s+carol_\S+\s+app\s+read\s+app\s+active\s+in (29m|30m)/);
    // aligned: every row's STATUS column starts where the header's does
    const col = lines[0].indexOf('STATUS');
    for (const l of lines.slice(1)) expect(l.slice(col)).toMatch(/^(active|revoked|expired)\b/);

    const json = JSON.parse((await cli(['grants', '--json'], as('carol'))).stdout);
    expect(json.find((g: { id: string }) => g.id === grantId)).toMatchObject({ status: 'active', identity: 'carol' });
    expect(JSON.stringify(json)).not.toContain('verifiers');

    const ext = await cli(['extend', grantId, '--ttl', '15m'], as('carol'));
    expect(ext.code).toBe(0);
    expect(ext.stdout).toMatch(new RegExp(`^grant ${grantId} now expires \\d{4}-.*\\(in (44m5\\ds|45m)\\)\\n$`));

    const rv = await cli(['revoke', grantId], as('carol'));
    expect(rv.code).toBe(0);
    expect(rv.stdout).toMatch(new RegExp(`^grant ${grantId} \\(carol_\\S+\\) revoked`));
    const again = await cli(['revoke', grantId], as('carol'));
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('BRK_WRONG_STATE');

    const active = await cli(['grants', '--json'], as('carol'));
    expect(JSON.parse(active.stdout).map((g: { id: string }) => g.id)).not.toContain(grantId);
    const all = await cli(['grants', '--all', '--json'], as('carol'));
    expect(JSON.parse(all.stdout).find((g: { id: string }) => g.id === grantId).status).toBe('revoked');
    // the table states the revoke, never a countdown to an expiry that will not come
    const allTable = (await cli(['grants', '--all'], as('carol'))).stdout.split('\n').find((l) => l.startsWith(grantId))!;
    expect(allTable).toMatch(/\srevoked\s/);
    expect(allTable).not.toMatch(/\bin \d+m/);
  });

  it('extend without --ttl is a usage error', async () => {
    expect((await cli(['extend', 'gr_x'], as('carol'))).code).toBe(2);
  });
});

describe('sessions, kill, reviews', () => {
  it('sessions table, kill, reviews empty', async () => {
    const created = JSON.parse((await cli([...readArgs, '--json'], as('alice'))).stdout);
    fx.sessions.push({
      id: 'ses_cli1', grantId: created.grant.grantId, identity: 'alice', target: 'app', database: 'app', protocol: 'postgres',
      client: '10.1.2.3:50000', startedAt: new Date(Date.now() - 65_000).toISOString(), instance: 'node-a',
    });
    const t = await cli(['sessions'], as('alice'));
    expect(t.code).toBe(0);
    expect(t.stdout.split('\n')[0]).toMatch(/^ID\s+IDENTITY\s+TARGET\s+DATABASE\s+PROTOCOL\s+CLIENT\s+STARTED\s+GRANT\s+INSTANCE$/);
    expect(t.stdout).toMatch(/^ses_cli1\s+alice\s+app\s+app\s+postgres\s+10\.1\.2\.3:50000\s+1m5s ago\s+gr_\S+\s+node-a$/m);

    expect((await cli(['kill', 'ses_cli1'], as('carol'))).code).toBe(1);
    const k = await cli(['kill', 'ses_cli1'], as('alice'));
    expect(k.code).toBe(0);
    expect(k.stdout).toBe('session ses_cli1 killed\n');
    expect((await cli(['sessions'], as('alice'))).stdout).toBe('no live sessions\n');

    const rv = await cli(['reviews'], as('bob'));
    expect(rv.stdout).toBe('no reviews\n');
    expect(JSON.parse((await cli(['reviews', '--json'], as('bob'))).stdout)).toEqual([]);
    const dec = await cli(['review', 'approve', 'rv_x'], as('bob'));
    expect(dec.code).toBe(1);
    expect(dec.stderr).toContain('BRK_NOT_FOUND');
  });
});
