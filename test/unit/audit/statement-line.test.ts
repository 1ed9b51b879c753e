// The fixed-shape statement renderer must produce exactly the canonical line of the generic path, so the chain
// verifies the same way (old trails and `audit verify` untouched); unknown fields fall back to the generic path.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { AuditFile } from '../../../src/audit/audit-file.js';
import { canonicalLine } from '../../../src/audit/chain.js';
import { statementLineHead } from '../../../src/audit/statement-line.js';
import { verifyAuditFile } from '../../../src/audit/verify.js';

const text = fc.string({ unit: 'binary', maxLength: 40 });
const statement = fc.record(
  {
    session: text, grant: text, identity: text, target: text, database: text, text, kind: text, action: text,
    rules: fc.array(text, { maxLength: 4 }),
    duration_ms: fc.double({ noNaN: true, noDefaultInfinity: true }), rows: fc.integer(), review: text, approvedBy: text,
    outcome: fc.constantFrom('forwarded', 'refused', 'server_error'), error: text, refusedBy: text, wouldChange: fc.nat(), limit: fc.nat(),
    textBytes: fc.nat(), textSha256: text,
  },
  { requiredKeys: ['session', 'grant', 'identity', 'target', 'database', 'text', 'kind', 'action', 'rules'] },
);

describe('statementLineHead', () => {
  it('renders the canonical line of any statement event', () => {
    fc.assert(
      fc.property(statement, fc.nat(), (e, seq) => {
        const event = { type: 'statement', ...e } as Record<string, unknown>;
        const ts = '2026-12-02T20:00:00.000Z';
        const prev = 'a'.repeat(64);
        const head = statementLineHead(seq, ts, event, prev);
        expect(head).toBeDefined();
        expect(`${head}}`).toBe(canonicalLine({ seq, ts, ...event, prev }));
      }),
      { numRuns: 2000 },
    );
  });

  it('leaves unknown fields and unexpected value types to the generic path', () => {
    const base = { type: 'statement', session: 's', grant: 'g', identity: 'i', target: 't', database: 'd', text: 'x', kind: 'select', action: 'allow', rules: [] };
    expect(statementLineHead(1, 'ts', base, 'p')).toBeDefined();
    expect(statementLineHead(1, 'ts', { ...base, extra: 1 }, 'p')).toBeUndefined();
    expect(statementLineHead(1, 'ts', { ...base, rows: '1' }, 'p')).toBeUndefined();
    expect(statementLineHead(1, 'ts', { ...base, rules: [{ id: 'x' }] }, 'p')).toBeUndefined();
    expect(statementLineHead(1, 'ts', { ...base, text: { toString: () => 'x' } }, 'p')).toBeUndefined();
  });
});

describe('AuditFile with fast statement lines', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dbw-stmtline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes statement and other events into one chain that verifies', async () => {
    const file = join(dir, 'audit.jsonl');
    const a = AuditFile.open(file);
    for (let i = 0; i < 200; i++) {
      a.record({ type: 'statement', session: 's', grant: 'g', identity: 'i', target: 't', database: 'd', text: `SELECT ${i} "é\n\u2028`, kind: 'select', action: 'allow', rules: i % 3 ? [] : ['r1', 'r"2'], outcome: 'forwarded', rows: i, duration_ms: i / 7 });
      if (i % 50 === 0) a.record({ type: 'admin.tick', actor: 'x', n: i });
    }
    await a.close();
    const r = verifyAuditFile(file);
    expect(r).toMatchObject({ ok: true, count: 204 });
  });
});
