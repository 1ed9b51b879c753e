// CommandComplete tags → the row count they report (the audit `rows` field, docs/audit.md) and whether those rows were written.
import { readCString } from './messages.js';

const TAG = /^([A-Z]+)(?: \d+)? (\d+)$/;
const WRITTEN = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** "INSERT 0 5" → 5 written, "SELECT 3" → 3 returned, "CREATE TABLE" → no count. */
export function commandRows(body: Buffer): { rows: number | null; written: boolean } {
  let tag: string;
  try {
    tag = readCString(body, 0)[0];
  } catch {
    return { rows: null, written: false };
  }
  const m = TAG.exec(tag);
  if (!m) return { rows: null, written: false };
  return { rows: Number(m[2]), written: WRITTEN.has(m[1]!) };
}
