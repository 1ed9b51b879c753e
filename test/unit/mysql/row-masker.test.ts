// MySQL row masking, table-driven: which columns a result's plan masks (origin, derived values, subqueries) and
// text-protocol rows rewritten under it, through ResultMasker as the relay drives it.
import { describe, expect, it } from 'vitest';
import { lenencBytes, lenencInt } from '../../../src/mysql/packets.js';
import { ResultMasker, type StatementMasking } from '../../../src/mysql/row-masker.js';
import type { ColumnMask } from '../../../src/session/verdict.js';

const key = Buffer.alloc(32, 7);
const masks: ColumnMask[] = [{ ruleId: 'pii', mask: 'email', columns: ['*.users.email'] }, { ruleId: 'card', mask: 'partial', columns: ['*.users.card'] }];
const VAR_STRING = 0xfd;
const LONG = 0x03;

function columnDef(schema: string, table: string, orgTable: string, name: string, orgName: string, type = VAR_STRING): Buffer {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c;
  fixed.writeUInt16LE(45, 1); // utf8mb4
  fixed.writeUInt32LE(255, 3);
  fixed[7] = type;
  return Buffer.concat([...['def', schema, table, orgTable, name, orgName].map((s) => lenencBytes(s)), fixed]);
}

const textRow = (vals: (string | null)[]) => Buffer.concat(vals.map((v) => (v === null ? Buffer.from([0xfb]) : lenencBytes(v))));

function readRow(p: Buffer, n: number): (string | null)[] {
  const out: (string | null)[] = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    if (p[off] === 0xfb) {
      out.push(null);
      off++;
      continue;
    }
    const len = p[off]!;
    out.push(p.toString('utf8', off + 1, off + 1 + len));
    off += 1 + len;
  }
  return out;
}

function run(cols: Buffer[], st: StatementMasking, row: (string | null)[]): (string | null)[] {
  const m = new ResultMasker(masks, [st], false, key);
  m.begin(lenencInt(cols.length));
  for (const c of cols) m.column(c);
  const out = m.row(textRow(row));
  return out === null ? row : readRow(out, cols.length);
}

const plain: StatementMasking = { derived: null, tables: new Set(['users']), opaque: false, warnings: false };
const reading: StatementMasking = { derived: 'redact', tables: new Set(['users']), opaque: false, warnings: false };

describe('ResultMasker (text protocol)', () => {
  const table: [string, Buffer[], StatementMasking, (string | null)[], (string | null)[]][] = [
    ['a masked column by its origin', [columnDef('app', 'users', 'users', 'id', 'id'), columnDef('app', 'users', 'users', 'email', 'email')], plain, ['1', 'ann@example.com'], ['1', 'a***@example.com']],
    ['an alias keeps its origin', [columnDef('app', 'u', 'users', 'e', 'email')], plain, ['ann@example.com'], ['a***@example.com']],
    ['partial', [columnDef('app', 'users', 'users', 'card', 'card')], plain, ['4111111111111111'], ['************1111']],
    ['an expression over a masked column gets the derived mask', [columnDef('', '', '', 'x', '')], reading, ['ann@example.com'], ['[redacted]']],
    ['an expression in a statement reading no masked column passes', [columnDef('', '', '', 'x', '')], plain, ['1'], ['1']],
    ['subqueries: no origin is taken at its word', [columnDef('app', 'users', 'users', 'id', 'id')], { ...reading, opaque: true }, ['ann@example.com'], ['[redacted]']],
    ['a masked non-text column becomes NULL', [columnDef('', '', '', 'n', '', LONG)], reading, ['42'], [null]],
    ['NULL stays NULL', [columnDef('app', 'users', 'users', 'email', 'email')], plain, [null], [null]],
  ];
  for (const [name, cols, st, row, want] of table) it(name, () => expect(run(cols, st, row)).toEqual(want));
});
