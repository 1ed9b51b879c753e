// Size-based rotation: the chain runs on across audit.jsonl.N … .1, audit.jsonl; verifyAuditTrail checks the set.
import { existsSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { trailFiles } from '../../../src/audit/trail-files.js';
import { verifyAuditFile, verifyAuditTrail } from '../../../src/audit/verify.js';
import { cli } from '../cli/helpers.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'dbwarden-rot-'));
  path = join(dir, 'audit.jsonl');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function writeEvents(f: AuditFile, from: number, n: number): void {
  for (let i = from; i < from + n; i++) f.record({ type: 'admin.test', actor: 'alice', i, pad: 'x'.repeat(100) });
}

const lines = (p: string) => readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { seq: number; prev: string; hash: string });

describe('audit rotation', () => {
  it('rotates before a line would pass maxBytes and keeps one chain across the files', async () => {
    const f = AuditFile.open(path, undefined, { maxBytes: 4096 });
    writeEvents(f, 0, 100);
    await f.close();
    const files = trailFiles(path);
    expect(files.length).toBeGreaterThan(3);
    expect(files.at(-1)).toBe(path);
    expect(files[0]).toMatch(new RegExp(`audit\\.jsonl\\.${files.length - 1}$`));
    for (const file of files) {
      expect(statSync(file).size).toBeLessThanOrEqual(4096);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    // seq runs on, and each file's first prev is the previous file's last hash
    const all = files.flatMap(lines);
    expect(all.map((l) => l.seq)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    for (let i = 1; i < all.length; i++) expect(all[i]!.prev).toBe(all[i - 1]!.hash);
    const r = verifyAuditTrail(path);
    expect(r).toMatchObject({ ok: true, count: 100, lastHash: all[99]!.hash, files });
    // the current file alone does not start at seq 1, so the single-file check rightly refuses it
    expect(verifyAuditFile(path).ok).toBe(false);
  });

  it('a reopened file continues the chain, also when the current file is empty after a rotation', async () => {
    let f = AuditFile.open(path, undefined, { maxBytes: 4096 });
    writeEvents(f, 0, 40);
    await f.close();
    // do by hand what rotate() does up to a crash right after `audit.jsonl → audit.jsonl.1`: no current file at all
    const rotated = readdirSync(dir).filter((x) => x.startsWith('audit.jsonl.')).map((x) => Number(x.split('.').pop())).sort((a, b) => b - a);
    for (const i of rotated) renameSync(join(dir, `audit.jsonl.${i}`), join(dir, `audit.jsonl.${i + 1}`));
    renameSync(path, join(dir, 'audit.jsonl.1'));
    expect(existsSync(path)).toBe(false);
    expect(verifyAuditTrail(path)).toMatchObject({ ok: true, count: 40 });
    f = AuditFile.open(path, undefined, { maxBytes: 4096 });
    expect(f.lastSeq).toBe(40);
    writeEvents(f, 40, 10);
    await f.close();
    expect(verifyAuditTrail(path)).toMatchObject({ ok: true, count: 50 });
  });

  it('a gap in the numbering (crash between two renames) still verifies in order', async () => {
    const f = AuditFile.open(path, undefined, { maxBytes: 4096 });
    writeEvents(f, 0, 60);
    await f.close();
    const files = trailFiles(path);
    // move .1 to .2, .2 to .3 … leaving no .1, as if the crash came before the current file's rename
    for (let i = files.length - 1; i >= 1; i--) renameSync(join(dir, `audit.jsonl.${i}`), join(dir, `audit.jsonl.${i + 1}`));
    expect(existsSync(join(dir, 'audit.jsonl.1'))).toBe(false);
    expect(verifyAuditTrail(path)).toMatchObject({ ok: true, count: 60 });
  });

  it('tampering in a rotated file names that file and its line; a deleted rotated file shows as a seq gap', async () => {
    const f = AuditFile.open(path, undefined, { maxBytes: 4096 });
    writeEvents(f, 0, 100);
    await f.close();
    const files = trailFiles(path);
    const victim = files[1]!;
    const text = readFileSync(victim, 'utf8').split('\n');
    text[2] = text[2]!.replace('"actor":"alice"', '"actor":"mallory"');
    writeFileSync(victim, text.join('\n'));
    const edited = verifyAuditTrail(path);
    expect(edited).toMatchObject({ ok: false, firstBrokenFile: victim, firstBrokenLine: 3 });
    expect(edited.reason).toMatch(/edited/);

    const r = await cli(['audit', 'verify', path]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`in ${files.length} files`);
    expect(r.stderr).toContain(`line 3 of ${victim}`);

    unlinkSync(victim);
    const gap = verifyAuditTrail(path);
    expect(gap.ok).toBe(false);
    expect(gap.firstBrokenFile).toBe(files[2]);
    expect(gap.reason).toMatch(/removed, inserted or moved/);
  });

  it('`dbwarden audit verify` reports an intact rotated set with its file count', async () => {
    const f = AuditFile.open(path, undefined, { maxBytes: 4096 });
    writeEvents(f, 0, 70);
    await f.close();
    const n = trailFiles(path).length;
    const r = await cli(['audit', 'verify', path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ok: 70 events in ${n} files, hash chain intact (${path})\n`);
    const j = await cli(['audit', 'verify', path, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: true, count: 70, files: trailFiles(path) });
  });

  it('without maxBytes nothing rotates', async () => {
    const f = AuditFile.open(path);
    writeEvents(f, 0, 100);
    await f.close();
    expect(trailFiles(path)).toEqual([path]);
    expect(verifyAuditTrail(path)).toMatchObject({ ok: true, count: 100, files: [path] });
  });
});
