// CLI commands that read the broker's config file (issue 16): `rules check --config --target` applies that target's
// rule sets only (the broker's own decision), `audit verify` / `audit tail` find audit.file through --config.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { cli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dbwarden-cli-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
cpSync(resolve('rules'), join(dir, 'rules'), { recursive: true });
const auditPath = join(dir, 'trail', 'audit.jsonl');
const cfg = join(dir, 'dbwarden.yaml');
writeFileSync(cfg, `
rules: ./rules
state: { dir: ./state }
audit: { file: ./trail/audit.jsonl }
targets:
  plain:
    protocol: postgres
    host: 127.0.0.1
    databases: [app]
    rulesets: [safe-defaults]
    roles: { read: { user: r }, write: { user: w } }
  pii:
    protocol: postgres
    host: 127.0.0.1
    databases: [app]
    rulesets: [safe-defaults, pii-masking]
    roles: { read: { user: r }, write: { user: w } }
`);

describe('rules check --config --target', () => {
  const check = (target: string, sql: string, extra: string[] = []) => cli(['rules', 'check', '--dialect', 'postgres', '--config', cfg, '--target', target, ...extra, sql]);

  it("applies only the target's rule sets: masking where the target has pii-masking, not elsewhere", async () => {
    const plain = await check('plain', 'SELECT email FROM customers');
    expect(plain.stderr).toBe('');
    expect(plain.code).toBe(0);
    expect(JSON.parse(plain.stdout).action).toBe('allow');
    const pii = await check('pii', 'SELECT email FROM customers');
    expect(pii.code).toBe(0);
    const j = JSON.parse(pii.stdout);
    expect(j.action).toBe('mask');
    expect(j.rules.map((r: { id: string }) => r.id).join()).toMatch(/email/);
  });

  it('blocks what the target blocks (exit 3) and names an unknown target with the valid ones', async () => {
    const blocked = await check('plain', 'DELETE FROM customers', ['--access', 'write']);
    expect(blocked.code).toBe(3);
    expect(JSON.parse(blocked.stdout).rules[0].id).toBe('unscoped-write');
    const unknown = await check('nope', 'SELECT 1');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/nope/);
    expect(unknown.stderr).toMatch(/plain/);
    expect(unknown.stderr).toMatch(/pii/);
  });
});

describe('audit verify / tail --config', () => {
  it('read audit.file from the config', async () => {
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(dir, 'trail'), { recursive: true });
    const f = AuditFile.open(auditPath);
    f.record({ type: 'grant.activated', actor: 'alice', identity: 'alice', grant: 'gr_cfg1', target: 'plain' });
    f.record({ type: 'grant.revoked', actor: 'bob', identity: 'alice', grant: 'gr_cfg1', target: 'plain' });
    await f.close();
    const v = await cli(['audit', 'verify', '--config', cfg]);
    expect(v.stderr).toBe('');
    expect(v.code).toBe(0);
    expect(v.stdout).toBe(`ok: 2 events, hash chain intact (${auditPath})\n`);
    const t = await cli(['audit', 'tail', '--config', cfg]);
    expect(t.code).toBe(0);
    expect(t.stdout.trimEnd().split('\n').map((l) => l.split(/ +/)[2])).toEqual(['grant.activated', 'grant.revoked']);
    // a FILE and --config together is a usage error
    expect((await cli(['audit', 'verify', auditPath, '--config', cfg])).code).toBe(2);
  });
});
