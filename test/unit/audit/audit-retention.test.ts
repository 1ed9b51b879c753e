// Audit disk budget and failure: rotation keeps `keep` files (audit.pruned says where the kept chain starts, and
// `audit verify` accepts exactly that), owner-only modes on every file, and an unwritable trail is reported.
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { verifyAuditTrail } from '../../../src/audit/verify.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'dbw-bounds-audit-'));
  dirs.push(d);
  return d;
};
const stmt = (i: number, text = 'x'.repeat(900)) => ({
  type: 'statement' as const, session: 's', grant: 'g', identity: 'i', target: 't', database: 'd', text: `${i} ${text}`, kind: 'select', action: 'block', rules: [],
});

describe('audit retention', () => {
  it('keeps at most `keep` rotated files, the disk stays within maxBytes × (keep + 1), and the kept trail verifies', async () => {
    const dir = tmp();
    const path = join(dir, 'audit.jsonl');
    const a = AuditFile.open(path, undefined, { maxBytes: 8192, keep: 3 });
    for (let i = 0; i < 400; i++) a.record(stmt(i));
    await a.close();
    const files = readdirSync(dir).filter((f) => f.startsWith('audit.jsonl'));
    expect(files.sort()).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2', 'audit.jsonl.3']);
    const total = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(8192 * 4);
    for (const f of files) expect(statSync(join(dir, f)).mode & 0o777).toBe(0o600);
    const v = verifyAuditTrail(path);
    expect(v.reason).toBeUndefined();
    expect(v.ok).toBe(true);
  });

  it('a kept file removed by someone else still breaks verification', async () => {
    const dir = tmp();
    const path = join(dir, 'audit.jsonl');
    const a = AuditFile.open(path, undefined, { maxBytes: 8192, keep: 3 });
    for (let i = 0; i < 400; i++) a.record(stmt(i));
    await a.close();
    unlinkSync(join(dir, 'audit.jsonl.3'));
    const v = verifyAuditTrail(path);
    expect(v.ok).toBe(false);
    expect(v.reason).toMatch(/older files missing|seq/);
  });

  it('keep 0 keeps every rotated file', async () => {
    const dir = tmp();
    const path = join(dir, 'audit.jsonl');
    const a = AuditFile.open(path, undefined, { maxBytes: 8192, keep: 0 });
    for (let i = 0; i < 200; i++) a.record(stmt(i));
    await a.close();
    expect(readdirSync(dir).length).toBeGreaterThan(10);
    expect(verifyAuditTrail(path).ok).toBe(true);
  });

  it('tightens existing audit files with looser modes', async () => {
    const dir = tmp();
    const path = join(dir, 'audit.jsonl');
    writeFileSync(path, '');
    chmodSync(path, 0o644);
    const a = AuditFile.open(path);
    await a.close();
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });
});

describe('audit statement text bound', () => {
  it('cuts texts over maxStatementBytes, adding the full length and hash; the chain verifies', async () => {
    const dir = tmp();
    const path = join(dir, 'audit.jsonl');
    const a = AuditFile.open(path, undefined, { maxStatementBytes: 1000 });
    const big = 'é'.repeat(5000);
    const short = a.record(stmt(1, 'short'));
    const cut = a.record({ ...stmt(2), text: big });
    await a.close();
    expect(short.text).toBe('1 short');
    expect((cut.text as string).length).toBe(500);
    expect(cut.textBytes).toBe(10_000);
    expect(cut.textSha256).toBe(createHash('sha256').update(big).digest('hex'));
    expect(verifyAuditTrail(path).ok).toBe(true);
  });
});

describe('audit unwritable', () => {
  it('reports itself unwritable on a full device, keeps statement lines pending and throws for other events', async () => {
    // /dev/full answers every write with ENOSPC: a real full disk
    const a = AuditFile.open('/dev/full', undefined, { maxBytes: 4096, keep: 2 });
    expect(a.writable()).toBe(true);
    a.record({ ...stmt(1), action: 'allow' });
    await new Promise((r) => setImmediate(r));
    expect(a.writable()).toBe(false);
    expect(() => a.record(stmt(2))).not.toThrow();
    expect(() => a.record({ type: 'auth.failed', protocol: 'postgres', login: 'x', client: 'c', reason: 'r' })).toThrow(/cannot be written/);
    expect(statSync('/dev/full').mode & 0o777).not.toBe(0o600); // devices are never chmod-ed
    await a.close().catch(() => undefined);
  });
});
