// Retention with statement lines longer than one read chunk (1 MiB texts): rotated files beyond `keep` are still
// deleted, so the trail stays within maxBytes × (keep + 1), and what is kept verifies.
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { verifyAuditTrail } from '../../../src/audit/verify.js';

describe('audit retention with long lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbw-ret-long-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps 2 rotated files of 1 MiB-line statements and prunes the rest', async () => {
    const file = join(dir, 'audit.jsonl');
    const max = 4 << 20;
    const a = AuditFile.open(file, undefined, { maxBytes: max, keep: 2, maxStatementBytes: 1 << 20 });
    const body = 'q'.repeat(2 << 20);
    for (let i = 0; i < 30; i++) {
      a.record({ type: 'statement', session: 's', grant: 'g', identity: 'i', target: 't', database: 'd', text: `SELECT '${i}-${body}'`, kind: 'select', action: 'allow', rules: [], outcome: 'forwarded', rows: 1, duration_ms: 1 });
      a.flush();
    }
    await a.close();
    const files = readdirSync(dir).filter((f) => f.startsWith('audit.jsonl'));
    expect(files.sort()).toEqual(['audit.jsonl', 'audit.jsonl.1', 'audit.jsonl.2']);
    const total = files.reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(total).toBeLessThanOrEqual(3 * max);
    expect(verifyAuditTrail(file).ok).toBe(true);
  });
});
