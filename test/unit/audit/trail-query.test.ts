// queryAuditTrail: newest-first reading across chunk boundaries and rotated files, filters, limits and time windows.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { queryAuditTrail } from '../../../src/audit/trail-query.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function trail(events: Record<string, unknown>[][]): string {
  const dir = mkdtempSync(join(tmpdir(), 'dbw-trail-'));
  dirs.push(dir);
  const path = join(dir, 'audit.jsonl');
  // events[0] is the oldest file (audit.jsonl.N), the last one the current file
  events.forEach((evs, i) => {
    const name = i === events.length - 1 ? path : `${path}.${events.length - 1 - i}`;
    writeFileSync(name, evs.map((e) => JSON.stringify(e)).join('\n') + '\n');
  });
  return path;
}

const t0 = Date.parse('2026-01-01T00:00:00Z');
const ev = (seq: number, extra: Record<string, unknown> = {}) => ({ seq, ts: new Date(t0 + seq * 1000).toISOString(), type: 'statement', identity: seq % 2 ? 'alice' : 'bob', action: seq % 10 === 0 ? 'block' : 'allow', rules: seq % 10 === 0 ? ['unscoped-write'] : [], text: `SELECT ${seq} /* ${'x'.repeat(200)} */`, ...extra });

describe('queryAuditTrail', () => {
  it('reads lines across 256 KiB chunk boundaries and rotated files, oldest first, none lost or split', () => {
    const all = Array.from({ length: 3000 }, (_, i) => ev(i + 1));
    const path = trail([all.slice(0, 1000), all.slice(1000, 2200), all.slice(2200)]);
    const r = queryAuditTrail(path, { limit: 10_000 });
    expect(r.truncated).toBe(false);
    expect(r.events.map((e) => e.seq)).toEqual(all.map((e) => e.seq));
    expect(r.events[1234]).toEqual(all[1234]);
  });

  it('filters and keeps the newest `limit` matches', () => {
    const all = Array.from({ length: 100 }, (_, i) => ev(i + 1));
    const path = trail([all]);
    expect(queryAuditTrail(path, { action: 'block' }).events.map((e) => e.seq)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    expect(queryAuditTrail(path, { rule: 'unscoped-write', identity: 'bob', limit: 3 })).toMatchObject({ truncated: true, events: [{ seq: 80 }, { seq: 90 }, { seq: 100 }] });
    expect(queryAuditTrail(path, { since: t0 + 95_000, until: t0 + 98_000 }).events.map((e) => e.seq)).toEqual([95, 96, 97]);
    expect(queryAuditTrail(path, { type: 'grant' }).events).toEqual([]);
  });

  it('skips lines that are not JSON objects (verify reports them) and a missing trail is empty', () => {
    const path = trail([[ev(1), ev(2)]]);
    writeFileSync(path, `${JSON.stringify(ev(1))}\nnot json\n[1]\n${JSON.stringify(ev(2))}`);
    expect(queryAuditTrail(path).events.map((e) => e.seq)).toEqual([1, 2]);
    expect(queryAuditTrail(join(tmpdir(), 'dbw-no-such-trail', 'audit.jsonl')).events).toEqual([]);
  });
});
