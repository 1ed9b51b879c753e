// `dbwarden rules check|lint` offline: decision JSON and the exit-code contract (0 allow/warn/mask, 3 block, 4 review, 2 usage).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dbwarden-cli-rules-'));
const good = join(dir, 'good');
const bad = join(dir, 'bad');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

mkdirSync(good);
mkdirSync(bad);
writeFileSync(join(good, 'house.yaml'), `ruleset: house
rules:
  - id: no-unscoped-delete
    when: { statement: [delete], where: [absent, always-true] }
    action: block
    message: scope your delete
  - id: updates-need-review
    when: { statement: [update] }
    action: review
    message: a second pair of eyes
  - id: mask-email
    when: { columns: ["*.email", "*.*.email"] }
    action: mask
    mask: email
  - id: warn-no-limit
    when: { statement: [select], limit: [absent], tables: ["*.orders", "orders"] }
    action: warn
    message: add a LIMIT
`);
writeFileSync(join(bad, 'broken.yaml'), `ruleset: broken
rules:
  - id: oops
    when: { statement: [frobnicate] }
    action: block
`);

describe('rules check', () => {
  it.each([
    ['SELECT 1', 0, 'allow'],
    ['DELETE FROM accounts', 3, 'block'],
    ['UPDATE accounts SET x = 1 WHERE id = 2', 4, 'review'],
    ['SELECT id FROM orders', 0, 'warn'],
    ['SELECT email FROM users', 0, 'mask'],
  ])('%s → exit %i (%s)', async (sql, code, action) => {
    const r = await cli(['rules', 'check', '--dialect', 'postgres', '--rules', good, sql]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(code);
    const j = JSON.parse(r.stdout);
    expect(j.action).toBe(action);
    expect(Array.isArray(j.statements)).toBe(true);
    expect(j.statements.length).toBeGreaterThan(0);
    if (action !== 'allow') expect(j.rules[0].id).toBeTruthy();
  });

  it('names the matched rule and per-statement facts', async () => {
    const r = await cli(['rules', 'check', '--dialect', 'postgres', '--rules', good, 'DELETE FROM accounts']);
    const j = JSON.parse(r.stdout);
    expect(j.rules.map((x: { id: string }) => x.id)).toContain('no-unscoped-delete');
    expect(j.statements[0]).toMatchObject({ kind: 'delete', where: 'absent' });
  });

  it('with the shipped or local rules: a write on a read grant is blocked, a scoped update allowed for write', async () => {
    const ro = await cli(['rules', 'check', '--dialect', 'postgres', '--access', 'read', 'UPDATE t SET a = 1 WHERE id = 1']);
    expect(ro.code).toBe(3);
    const rw = await cli(['rules', 'check', '--dialect', 'postgres', '--access', 'write', 'UPDATE t SET a = 1 WHERE id = 1']);
    expect(rw.code).toBe(0);
    expect((await cli(['rules', 'check', '--dialect', 'mysql', 'DROP TABLE t'])).code).toBe(3);
  });

  it.each([
    [['rules', 'check', 'SELECT 1']],
    [['rules', 'check', '--dialect', 'oracle', 'SELECT 1']],
    [['rules', 'check', '--dialect', 'postgres', '--access', 'root', 'SELECT 1']],
    [['rules', 'check', '--dialect', 'postgres']],
    [['rules', 'check', '--dialect', 'postgres', '--rules', join(dir, 'missing'), 'SELECT 1']],
  ])('usage error %j → exit 2', async (argv) => {
    const r = await cli(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^dbwarden: [^\n]+\n$/);
  });

  it('invalid rule files make check fail with exit 1 naming the file', async () => {
    const r = await cli(['rules', 'check', '--dialect', 'postgres', '--rules', bad, 'SELECT 1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('broken.yaml');
  });
});

describe('rules lint', () => {
  it('valid folder: exit 0', async () => {
    const r = await cli(['rules', 'lint', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('valid');
  });

  it('errors name file and line, exit 1; --json lists them', async () => {
    const r = await cli(['rules', 'lint', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/broken\.yaml:\d+/);
    expect(r.stderr).toContain('frobnicate');
    const j = await cli(['rules', 'lint', bad, '--json']);
    const body = JSON.parse(j.stdout);
    expect(body.ok).toBe(false);
    expect(body.errors[0]).toMatchObject({ file: expect.stringContaining('broken.yaml'), line: expect.any(Number) });
  });

  it('the shipped rules lint clean', async () => {
    expect((await cli(['rules', 'lint'])).code).toBe(0);
  });
});
