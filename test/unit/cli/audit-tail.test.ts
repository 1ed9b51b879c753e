// `dbwarden audit tail`: one readable line per event, filters, colour only on a terminal, --follow across a rotation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { formatAuditLine, tailAuditFile } from '../../../src/cli/commands/audit-tail.js';
import { runCli } from '../../../src/cli/run-cli.js';
import { cli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dbwarden-tail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function trail(name: string): Promise<string> {
  const path = join(dir, name);
  const f = AuditFile.open(path);
  f.record({ type: 'grant.activated', actor: 'alice', requestId: 'req_1', grantId: 'grt_1', identity: 'alice', target: 'app', access: 'write', expiresAt: '2030-01-01T00:00:00.000Z' });
  f.record({ type: 'session.started', session: 'ses_1', grant: 'grt_1', identity: 'alice', target: 'app', database: 'dbw_app', protocol: 'postgres', client: '127.0.0.1:5000' });
  f.record({ type: 'statement', session: 'ses_1', grant: 'grt_1', identity: 'alice', target: 'app', database: 'dbw_app', text: 'select *\n  from   orders', kind: 'select', action: 'allow', rules: [] });
  f.record({ type: 'statement', session: 'ses_1', grant: 'grt_1', identity: 'alice', target: 'app', database: 'dbw_app', text: `delete from customers ${'x'.repeat(300)}`, kind: 'delete', action: 'block', rules: ['unscoped-write'] });
  f.record({ type: 'statement', session: 'ses_2', grant: 'grt_2', identity: 'bob', target: 'app', database: 'dbw_app', text: 'select 1', kind: 'select', action: 'allow', rules: [] });
  f.record({ type: 'auth.failed', protocol: 'postgres', login: 'alice_zzzzzz', client: '127.0.0.1:5001', reason: 'bad password' });
  f.record({ type: 'grant.revoked', actor: 'bob', grantId: 'grt_1', identity: 'alice', target: 'app', reason: 'done' });
  await f.close();
  return path;
}

describe('audit tail', () => {
  it('prints one line per event with time, type, identity, target, action, rules and shortened text', async () => {
    const path = await trail('a.jsonl');
    const r = await cli(['audit', 'tail', path]);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z grant\.activated +alice +app +write +.*grantId=grt_1/);
    expect(lines[2]).toMatch(/statement +alice +app\/dbw_app +allow +select \* from orders$/);
    expect(lines[3]).toMatch(/statement +alice +app\/dbw_app +block +\[unscoped-write\] delete from customers x+…$/);
    expect(lines[3]!.length).toBeLessThan(250);
    expect(lines[5]).toMatch(/auth\.failed +alice_zzzzzz .*reason="bad password"/);
    expect(r.stdout).not.toContain('\u001b[');
  });

  it('filters by grant, identity and type (a prefix like "grant" means grant.*)', async () => {
    const path = await trail('b.jsonl');
    const byGrant = (await cli(['audit', 'tail', path, '--grant', 'grt_1'])).stdout.trimEnd().split('\n');
    expect(byGrant).toHaveLength(5);
    const bob = (await cli(['audit', 'tail', path, '--identity', 'bob'])).stdout.trimEnd().split('\n');
    // events about bob and events bob did (he revoked alice's grant)
    expect(bob).toHaveLength(2);
    expect(bob[0]).toContain('select 1');
    expect(bob[1]).toMatch(/grant\.revoked +alice .*by=bob grantId=grt_1/);
    const grants = (await cli(['audit', 'tail', path, '--type', 'grant'])).stdout.trimEnd().split('\n');
    expect(grants.map((l) => l.split(/ +/)[2])).toEqual(['grant.activated', 'grant.revoked']);
    const blocked = (await cli(['audit', 'tail', path, '--type', 'statement', '--identity', 'alice'])).stdout.trimEnd().split('\n');
    expect(blocked).toHaveLength(2);
    const json = await cli(['audit', 'tail', path, '--type', 'auth.failed', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ type: 'auth.failed', login: 'alice_zzzzzz', seq: 6 });
  });

  it('colours only when stdout is a terminal and NO_COLOR is unset', async () => {
    const path = await trail('c.jsonl');
    const run = async (isTTY: boolean, env: Record<string, string> = {}) => {
      let out = '';
      await runCli(['audit', 'tail', path, '--type', 'statement'], { stdout: { isTTY, write: (s: string) => (out += s) }, stderr: { write: () => true }, env });
      return out;
    };
    expect(await run(true)).toContain('\u001b[31mblock');
    expect(await run(true, { NO_COLOR: '1' })).not.toContain('\u001b[');
    expect(await run(false)).not.toContain('\u001b[');
    expect(formatAuditLine({ ts: 't', type: 'statement', action: 'warn', text: 'x' }, true)).toContain('\u001b[33mwarn');
  });

  it('a missing file is one error line, exit 1; an unreadable line is shown, not hidden', async () => {
    const r = await cli(['audit', 'tail', join(dir, 'none.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dbwarden: audit file .*none\.jsonl not found\n$/);
    const { writeFileSync } = await import('node:fs');
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, 'not json at all\n');
    expect((await cli(['audit', 'tail', bad])).stdout).toBe('?? unreadable line: not json at all\n');
  });

  it('--follow prints events appended later, also after the file is rotated, until stopped', async () => {
    const path = join(dir, 'follow.jsonl');
    const writer = AuditFile.open(path, undefined, { maxBytes: 4096 });
    writer.record({ type: 'admin.test', actor: 'alice', n: 0 });
    const out: string[] = [];
    const stop = new AbortController();
    const done = tailAuditFile(path, { filter: {}, follow: true, color: false, write: (t) => out.push(t), signal: stop.signal, pollMs: 20 });
    const waitFor = async (n: number) => {
      for (let i = 0; i < 200 && out.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      expect(out.length).toBeGreaterThanOrEqual(n);
    };
    await waitFor(1);
    // enough events to rotate a few times while the tail is polling
    for (let n = 1; n <= 60; n++) {
      writer.record({ type: 'admin.test', actor: 'alice', n, pad: 'y'.repeat(150) });
      if (n % 10 === 0) await new Promise((r) => setTimeout(r, 60));
    }
    await waitFor(61);
    stop.abort();
    expect(await done).toBe(61);
    await writer.close();
    const ns = out.map((l) => Number(/ n=(\d+)/.exec(l)?.[1]));
    expect(ns).toEqual(Array.from({ length: 61 }, (_, i) => i));
  });
});
