// `dbwarden connect` and `dbwarden targets` against a live broker and the local PostgreSQL: the client starts
// with the password in its environment (never argv), --print shows a line without it, a live grant is reused.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, TOKENS, type TestBroker } from '../helpers/broker.js';
import { cli } from '../unit/cli/helpers.js';

describe('dbwarden connect / targets', () => {
  let b: TestBroker;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    b = await startTestBroker();
    dir = mkdtempSync(join(tmpdir(), 'dbw-connect-'));
    env = { DBWARDEN_URL: b.admin.url, DBWARDEN_TOKEN: TOKENS.alice, DBWARDEN_CACHE_DIR: join(dir, 'cache'), PATH: process.env.PATH ?? '' };
  });
  afterAll(async () => {
    await b?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('targets lists what the caller may request; an unknown target names the valid ones', async () => {
    const r = await cli(['targets'], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^app\s+postgres\s+read\s+dbw_app,postgres\s+8h\s+none\s+read-self-service$/m);
    expect(r.stdout).toMatch(/^app\s+postgres\s+write\s+/m);
    expect(r.stdout).not.toMatch(/^app\s+postgres\s+admin/m); // alice is not in group dba
    const bad = await cli(['connect', 'nope'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown target "nope" (targets you may request: app)');
  });

  it('starts the client with PGPASSWORD in its environment, never in argv; --print has no password; the grant is reused', async () => {
    // a stand-in client that records its argv and runs the real psql with it
    const out = join(dir, 'client.out');
    const client = join(dir, 'client.sh');
    writeFileSync(client, `#!/bin/sh\necho "argv: $*" > ${out}\necho "pgpassword-set: \${PGPASSWORD:+yes}" >> ${out}\nexec psql "$@" >> ${out} 2>&1\n`);
    chmodSync(client, 0o755);
    const r = await cli(['connect', 'app', '--database', 'dbw_app', '--client', client, '--', '-XAtc', 'select current_user'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/using grant gr_\w+ \(read on app\/dbw_app/);
    const text = readFileSync(out, 'utf8');
    expect(text).toContain('pgpassword-set: yes');
    expect(text.trim().split('\n').at(-1)).toBe('dbw_ro');
    const cached = JSON.parse(readFileSync(join(dir, 'cache', readFileSync(out, 'utf8') && (await import('node:fs')).readdirSync(join(dir, 'cache')).find((f) => f.endsWith('.json'))!), 'utf8')) as { password: string; grantId: string };
    expect(text).not.toContain(cached.password);
    expect(statSync(join(dir, 'cache')).mode & 0o777).toBe(0o700);

    const again = await cli(['connect', 'app', '--print'], env);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain(`reusing grant ${cached.grantId}`);
    expect(again.stdout).not.toContain(cached.password);
    const m = /^PGPASSFILE=(\S+) psql -h 127\.0\.0\.1 -p \d+ -U \S+ -d dbw_app\n$/.exec(again.stdout);
    expect(m, again.stdout).not.toBeNull();
    expect(statSync(m![1]!).mode & 0o777).toBe(0o600);

    // after a revoke the cached password is useless: connect asks for a new grant
    await fetch(`${b.admin.url}/v1/grants/${cached.grantId}/revoke`, { method: 'POST', headers: { authorization: `Bearer ${TOKENS.alice}`, 'content-type': 'application/json' }, body: '{}' });
    const fresh = await cli(['connect', 'app', '--print'], env);
    expect(fresh.stderr).toMatch(/using grant gr_\w+/);
    expect(fresh.stderr).not.toContain(cached.grantId);
    const all = await cli(['grants', '--all'], env);
    expect(all.stdout).toMatch(new RegExp(`^${cached.grantId}\\s.*\\srevoked\\s+revoked (now|\\d+s ago)$`, 'm'));
  }, 60_000);
});
