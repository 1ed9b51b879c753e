// `dbwarden audit verify`: an intact chain exits 0 with the count, an edited line exits 1 naming it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { cli } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'dbwarden-cli-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function writeTrail(name: string, n: number): Promise<string> {
  const path = join(dir, name);
  const f = AuditFile.open(path);
  for (let i = 0; i < n; i++) f.record({ type: 'admin.test', actor: 'alice', i });
  await f.close();
  return path;
}

describe('audit verify', () => {
  it('intact: exit 0 and the count', async () => {
    const path = await writeTrail('ok.jsonl', 5);
    const r = await cli(['audit', 'verify', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ok: 5 events, hash chain intact (${path})\n`);
    const j = await cli(['audit', 'verify', path, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, count: 5 });
  });

  it('an edited line: exit 1 naming the first broken line', async () => {
    const path = await writeTrail('edited.jsonl', 5);
    const lines = readFileSync(path, 'utf8').split('\n');
    lines[2] = lines[2].replace('"actor":"alice"', '"actor":"mallory"');
    writeFileSync(path, lines.join('\n'));
    const r = await cli(['audit', 'verify', path]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dbwarden: audit chain broken at line 3 \(seq 3\): .+\n$/);
    const j = await cli(['audit', 'verify', path, '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, firstBrokenLine: 3 });
  });

  it('a missing file: exit 1, one line', async () => {
    const r = await cli(['audit', 'verify', join(dir, 'nope.jsonl')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^dbwarden: audit file .*nope\.jsonl not found\n$/);
  });
});
