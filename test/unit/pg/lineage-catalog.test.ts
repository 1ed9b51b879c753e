// The lineage catalog's background refresh: one catalog read per stale snapshot, however many statements ask.
import { describe, expect, it } from 'vitest';
import type { ColumnCatalog } from '../../../src/pg/catalog.js';
import { LineageCatalog } from '../../../src/pg/lineage-catalog.js';

/** A catalog whose reads take `ms` and return no rows, counting the reads. */
function slowCatalog(ms: number): { catalog: ColumnCatalog; reads: () => number } {
  let reads = 0;
  const catalog = {
    exclusive: async <T>(fn: (query: (sql: string) => Promise<(string | null)[][]>) => Promise<T>): Promise<T> => {
      reads++;
      await new Promise((r) => setTimeout(r, ms));
      return fn(async () => []);
    },
  } as unknown as ColumnCatalog;
  return { catalog, reads: () => reads };
}

describe('LineageCatalog.current', () => {
  it('starts one background read of a stale snapshot, not one per statement asking meanwhile', async () => {
    const { catalog, reads } = slowCatalog(30);
    const lc = new LineageCatalog(catalog);
    await lc.refresh();
    expect(reads()).toBe(1);
    const first = lc.current()!;
    (first as { startedAt: number }).startedAt -= 60_000; // stale
    for (let i = 0; i < 200; i++) expect(lc.current()).toBe(first);
    await new Promise((r) => setTimeout(r, 100));
    expect(reads()).toBe(2);
    const second = lc.current();
    expect(second).not.toBe(first);
    expect(second!.startedAt).toBeGreaterThan(first.startedAt);
  });

  it('still chains a read for a caller that needs one started after its own DDL (fresh)', async () => {
    const { catalog, reads } = slowCatalog(20);
    const lc = new LineageCatalog(catalog);
    const a = lc.refresh();
    await new Promise((r) => setTimeout(r, 5));
    const t = Date.now();
    const b = await lc.fresh(t);
    await a;
    expect(b!.startedAt).toBeGreaterThanOrEqual(t);
    expect(reads()).toBe(2);
  });
});
