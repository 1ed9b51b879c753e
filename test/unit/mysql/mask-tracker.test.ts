// MySQL MaskTracker without sockets: decided texts in (facts from the real analyzer), result packets through it,
// prepared statements and cursors by id. The rows themselves are ResultMasker's (row-masker.test.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import { analyze, initSql } from '../../../src/sql/analyze.js';
import { decodeErr, encodeErr, lenencBytes, lenencInt } from '../../../src/mysql/packets.js';
import { MysqlMaskTracker } from '../../../src/mysql/mask-tracker.js';
import type { ResultMasker } from '../../../src/mysql/row-masker.js';
import type { ColumnMask, Decision } from '../../../src/session/verdict.js';

beforeAll(async () => {
  await initSql();
});

const key = Buffer.alloc(32, 7);
const MASKS: ColumnMask[] = [
  { ruleId: 'pii', mask: 'email', columns: ['*.users.email'] },
  { ruleId: 'card', mask: 'partial', columns: ['*.users.card'] },
];
const VAR_STRING = 0xfd;

function tracker(masks: ColumnMask[] = MASKS) {
  return new MysqlMaskTracker({ masks: () => masks, hashKey: key });
}

/** The decision for `text`: mask by `rule` for the statements reading `users`, allow otherwise. */
function decided(text: string, rule = 'pii'): Decision {
  const statements = analyze('mysql', text);
  const rules = statements.flatMap((st, i) => (st.tables.some((t) => t.name.endsWith('users')) ? [{ id: rule, ruleset: 't', action: 'mask' as const, message: 'pii', statement: i }] : []));
  return { action: rules.length ? 'mask' : 'allow', rules, statements };
}

function columnDef(schema: string, table: string, orgTable: string, name: string, orgName: string): Buffer {
  const fixed = Buffer.alloc(13);
  fixed[0] = 0x0c;
  fixed.writeUInt16LE(45, 1); // utf8mb4
  fixed.writeUInt32LE(255, 3);
  fixed[7] = VAR_STRING;
  return Buffer.concat([...['def', schema, table, orgTable, name, orgName].map((s) => lenencBytes(s)), fixed]);
}
const EMAIL = columnDef('app', 'users', 'users', 'email', 'email');
const EXPR = columnDef('', '', '', 'x', '');
const textRow = (vals: string[]) => Buffer.concat(vals.map((v) => lenencBytes(v)));
/** A binary-protocol row: header, NULL bitmap (offset 2), values. */
const binaryRow = (vals: string[]) => Buffer.concat([Buffer.from([0x00]), Buffer.alloc(Math.floor((vals.length + 9) / 8)), ...vals.map((v) => lenencBytes(v))]);
const ROW = ['ann@example.com'];

/** One result set through the tracker as the relay drives it; the row as the client gets it. */
function result(m: ResultMasker, cols: Buffer[], row: Buffer): Buffer | null {
  MysqlMaskTracker.packet(m, 'count', lenencInt(cols.length));
  let rows = false;
  for (const c of cols) rows = MysqlMaskTracker.packet(m, 'column', c).rows ?? false;
  const out = MysqlMaskTracker.packet(m, 'row', row).out;
  expect(out !== null).toBe(rows);
  MysqlMaskTracker.packet(m, 'end', Buffer.from([0xfe]));
  return out;
}
const readText = (p: Buffer) => p.toString('utf8', 1, 1 + p[0]!);

describe('MysqlMaskTracker: how a decided text is masked (facts, not text)', () => {
  it('without masks nothing is tracked', () => {
    const t = tracker([]);
    expect(t.active).toBe(false);
    expect(t.statementMasking(decided('SELECT email FROM users'))).toBeNull();
    expect(t.forText(decided('SELECT email FROM users'))).toBeUndefined();
    expect(t.forExecute(1)).toBeUndefined();
  });

  it.each<[string, string, { derived: string | null; opaque: boolean; warnings: boolean; tables: string[] }[]]>([
    ['a read of a masked table', 'SELECT email FROM users', [{ derived: 'redact', opaque: false, warnings: false, tables: ['users'] }]],
    ['a derived table', 'SELECT e FROM (SELECT email AS e FROM users) d', [{ derived: 'redact', opaque: true, warnings: false, tables: ['users'] }]],
    ['a subquery', 'SELECT id FROM users WHERE id IN (SELECT id FROM orders)', [{ derived: 'redact', opaque: true, warnings: false, tables: ['users', 'orders'] }]],
    ['a word in a string is not a query block', "SELECT 'select values with', email FROM users", [{ derived: 'redact', opaque: false, warnings: false, tables: ['users'] }]],
    ['SHOW WARNINGS', 'SHOW WARNINGS', [{ derived: null, opaque: false, warnings: true, tables: [] }]],
    ['a CALL masks every value without a base-table origin', 'CALL report()', [{ derived: 'redact', opaque: false, warnings: false, tables: [] }]],
    ['one entry per statement', 'SELECT id FROM orders; SELECT email FROM users', [
      { derived: null, opaque: false, warnings: false, tables: ['orders'] },
      { derived: 'redact', opaque: false, warnings: false, tables: ['users'] },
    ]],
    ['a CALL among statements: one strictest entry for every result', 'SELECT email FROM users; CALL report()', [{ derived: 'redact', opaque: true, warnings: false, tables: ['users'] }]],
  ])('%s', (_name, text, want) => {
    const got = tracker().statementMasking(decided(text))!;
    expect(got.map((s) => ({ derived: s.derived, opaque: s.opaque, warnings: s.warnings, tables: [...s.tables] }))).toEqual(want);
  });

  it('COM_QUERY results: the masked column by its origin, an expression by the derived mask', () => {
    const t = tracker();
    expect(readText(result(t.forText(decided('SELECT email FROM users'))!, [EMAIL], textRow(ROW))!)).toBe('a***@example.com');
    expect(readText(result(t.forText(decided('SELECT CONCAT(email) FROM users'))!, [EXPR], textRow(ROW))!)).toBe('[redacted]');
    expect(result(t.forText(decided('SELECT CONCAT(id) FROM orders'))!, [EXPR], textRow(['7']))).toBeNull();
  });
});

describe('MysqlMaskTracker: prepared statements and cursors', () => {
  it('an execution is masked by what its statement was prepared as', () => {
    const t = tracker();
    t.preparedAs(3, t.statementMasking(decided('SELECT id FROM orders'))!);
    expect(result(t.forExecute(3)!, [EXPR], binaryRow(['7']))).toBeNull();
  });

  it('a statement id never seen prepared masks every column without a masked origin (fail closed)', () => {
    const out = result(tracker().forExecute(99)!, [EXPR], binaryRow(['7']))!;
    expect(out.toString()).toContain('[redacted]'); // the email mask of a value that is no address
  });

  it('COM_STMT_FETCH continues the cursor\'s columns; without a cursor it is refused; COM_STMT_CLOSE forgets', () => {
    const t = tracker();
    expect(t.forFetch(5)).toBeNull();
    t.preparedAs(5, t.statementMasking(decided('SELECT email FROM users'))!);
    const m = t.forExecute(5)!;
    MysqlMaskTracker.packet(m, 'count', lenencInt(1));
    MysqlMaskTracker.packet(m, 'column', EMAIL);
    t.cursorOpened(5, m);
    const fetch = t.forFetch(5)!;
    expect(fetch.rewrite).toBe(true);
    const row = MysqlMaskTracker.packet(fetch.masker, 'row', binaryRow(ROW)).out!;
    expect(row.toString()).toContain('a***@example.com');
    t.closed(5);
    expect(t.forFetch(5)).toBeNull();
  });
});

describe('MysqlMaskTracker: server errors', () => {
  it('while masks apply an ERR loses the values it echoes, keeping the server\'s errno', () => {
    const err = encodeErr({ errno: 1062, sqlState: '23000' } as unknown as Parameters<typeof encodeErr>[0], "Duplicate entry 'ann@example.com' for key 'email'");
    const out = decodeErr(tracker().redactError(err)!);
    expect([out.errno, out.sqlState]).toEqual([1062, '23000']);
    expect(out.message).not.toContain('ann@example.com');
    expect(tracker([]).redactError(err)).toBeNull();
  });
});
