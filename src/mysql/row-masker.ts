// Result-row masking for MySQL/MariaDB: column definitions → a per-column plan, text and binary result rows →
// the same rows with masked values, and redaction of values that errors and warnings echo back.
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_com_query_response_text_resultset.html
// https://dev.mysql.com/doc/dev/mysql-server/latest/page_protocol_binary_resultset.html
import { maskFor, maskText, strictestMask, type ColumnMask } from '../session/verdict.js';
import type { MaskKind } from '../session/verdict.js';
import { DecodeError, lenencInt, readLenencInt } from './packets.js';

export interface ColumnDef {
  schema: string;
  table: string;
  /** the table the value comes from: empty for expressions; a view, derived table or CTE reports its own name */
  orgTable: string;
  name: string;
  orgName: string;
  charset: number;
  type: number;
  flags: number;
  /** MariaDB extended metadata: the data type name or format ("json", "uuid", "inet6"…), lower-case */
  extended?: string[];
}

/** Column type codes (enum_field_types) the masker must tell apart. */
export const FieldType = {
  Decimal: 0, Tiny: 1, Short: 2, Long: 3, Float: 4, Double: 5, Null: 6, Timestamp: 7, LongLong: 8, Int24: 9,
  Date: 10, Time: 11, DateTime: 12, Year: 13, VarChar: 15, Bit: 16, Timestamp2: 17, DateTime2: 18, Time2: 19,
  Json: 245, NewDecimal: 246, Enum: 247, Set: 248, TinyBlob: 249, MediumBlob: 250, LongBlob: 251, Blob: 252,
  VarString: 253, String: 254, Geometry: 255,
} as const;

const BINARY_CHARSET = 63;
/** Character sets of one byte per character: values are read and written as latin1 so their bytes survive. */
const SINGLE_BYTE_CHARSETS = new Set([5, 8, 11, 15, 31, 47, 48, 49, 65, 94, BINARY_CHARSET]);

/** Decodes a ColumnDefinition41 (with or without MariaDB's extended metadata block). */
export function decodeColumnDef(p: Buffer): ColumnDef {
  const strs: string[] = [];
  let off = 0;
  for (let i = 0; i < 6; i++) {
    const [len, o] = readLenencInt(p, off);
    const n = Math.max(0, len);
    if (o + n > p.length) throw new DecodeError('column definition past the end of the packet');
    strs.push(p.toString('utf8', o, o + n));
    off = o + n;
  }
  // MARIADB_CLIENT_EXTENDED_METADATA puts a length-prefixed block before the fixed fields; without it the
  // fixed fields (0x0c then 12 bytes) end the packet
  let extended: string[] | undefined;
  if (!(p[off] === 0x0c && p.length - off === 13)) {
    const [len, o] = readLenencInt(p, off);
    const end = o + Math.max(0, len);
    extended = [];
    // entries: one byte (0 type name, 1 format), then a length-encoded value
    for (let e = o; e + 1 < end; ) {
      const [vlen, vo] = readLenencInt(p, e + 1);
      extended.push(p.toString('utf8', vo, vo + Math.max(0, vlen)).toLowerCase());
      e = vo + Math.max(0, vlen);
    }
    off = end;
  }
  if (p[off] !== 0x0c || off + 13 > p.length) throw new DecodeError('column definition without its fixed fields');
  return {
    schema: strs[1]!, table: strs[2]!, orgTable: strs[3]!, name: strs[4]!, orgName: strs[5]!,
    charset: p.readUInt16LE(off + 1), type: p[off + 7]!, flags: p.readUInt16LE(off + 8), extended,
  };
}

/** JSON values (MySQL's JSON type, MariaDB's LONGTEXT flagged json): masked text goes in as a JSON string. */
export function isJson(c: ColumnDef): boolean {
  return c.type === FieldType.Json || !!c.extended?.includes('json');
}

/** True when a masked text value is a valid value of the column's type; other types are masked to NULL. */
export function isTextual(c: ColumnDef): boolean {
  switch (c.type) {
    case FieldType.VarChar:
    case FieldType.VarString:
    case FieldType.String:
    case FieldType.Json:
      return true;
    case FieldType.TinyBlob:
    case FieldType.MediumBlob:
    case FieldType.LongBlob:
    case FieldType.Blob:
      return c.charset !== BINARY_CHARSET;
    default:
      return false;
  }
}

/** What the statement that produced a result tells about its columns. */
export interface StatementMasking {
  /** the mask for values that do not come straight from a base-table column, when the statement reads a masked column */
  derived: MaskKind | null;
  /** lower-case names of the tables the statement reads */
  tables: ReadonlySet<string>;
  /**
   * The statement has subqueries, derived tables or CTEs. Their columns carry an origin the statement names
   * itself (`(SELECT email AS id FROM users) AS users` reports users.id), so no origin in its result is trusted.
   */
  opaque: boolean;
  /** a SHOW WARNINGS / SHOW ERRORS result: its Message column quotes offending values */
  warnings: boolean;
  /**
   * The mask of a column whose origin is a view, traced through the view's definition (session/mysql-schema.ts):
   * undefined when the origin is not a known view. A view column is not matched by its own name only.
   */
  views?: (schema: string, table: string, column: string) => MaskKind | null | undefined;
}

/** One masking for results that cannot be matched to their statement: the strictest reading of all. */
export function mergeMasking(list: readonly StatementMasking[]): StatementMasking {
  const derived = list.map((s) => s.derived).reduce<MaskKind | null>((a, b) => strictest(a, b), null);
  return { derived, tables: new Set(list.flatMap((s) => [...s.tables])), opaque: true, warnings: list.some((s) => s.warnings), views: list.find((s) => s.views)?.views };
}

/** Per column: the mask to apply, 'message' to redact quoted values, or null to pass the value as it is. */
export type RowPlan = (MaskKind | 'message' | null)[];

/**
 * The plan for one result set. A view's columns carry the view as their origin and are matched by their own
 * name: MariaDB has no VIEW_COLUMN_USAGE and shows VIEW_DEFINITION only to holders of SHOW VIEW, so the broker
 * has no reliable way to follow a view column to its source.
 * @returns null when nothing in the result needs masking: its rows then pass as the same bytes
 */
export function planColumns(cols: readonly ColumnDef[], masks: readonly ColumnMask[], st: StatementMasking): RowPlan | null {
  let any = false;
  const plan = cols.map((c): MaskKind | 'message' | null => {
    const m = columnMask(c, masks, st);
    if (m) any = true;
    return m;
  });
  return any ? plan : null;
}

function columnMask(c: ColumnDef, masks: readonly ColumnMask[], st: StatementMasking): MaskKind | 'message' | null {
  if (st.warnings && c.orgTable === '' && c.name === 'Message') return 'message';
  let named = c.orgTable && c.orgName ? maskFor(masks, `${c.schema}.${c.orgTable}.${c.orgName}`)?.mask ?? null : null;
  // a view column carries whatever its definition reads (`SELECT email AS contact`): the traced mask applies too
  const traced = c.orgTable && st.views ? st.views(c.schema, c.orgTable, c.orgName || c.name) : undefined;
  if (traced !== undefined) named = strictest(named, traced);
  if (st.derived === null) return named;
  // the statement reads a masked column: only a column of a base table it names, in a statement without
  // subqueries, is taken at its word; any other column may carry a masked value under another name
  const plain = c.orgTable !== '' && c.orgName !== '' && c.schema !== '' && !st.opaque && st.tables.has(c.orgTable.toLowerCase());
  return plain ? named : strictest(named, st.derived);
}

function strictest(a: MaskKind | null, b: MaskKind | null): MaskKind | null {
  if (!a || !b) return a ?? b;
  return strictestMask([{ ruleId: '', mask: a, columns: [] }, { ruleId: '', mask: b, columns: [] }]);
}

const NULL_VALUE = 0xfb;

function maskValue(kind: MaskKind | 'message', value: Buffer, col: ColumnDef | undefined, hashKey: Buffer): Buffer | null {
  if (!col || !isTextual(col)) return null;
  const enc: BufferEncoding = SINGLE_BYTE_CHARSETS.has(col.charset) ? 'latin1' : 'utf8';
  const text = value.toString(enc);
  // Security: a warning's Message is an error text like any other: the same redaction as ERR packets (quoted spans from
  // the first quote to the last, the `value: '…'` forms), not one quoted span at a time
  const masked = kind === 'message' ? redactErrorMessage(text) : maskText(kind, text, hashKey);
  if (masked === null) return null;
  // a client that parses JSON columns must still get a JSON document
  return Buffer.from(isJson(col) ? JSON.stringify(masked) : masked, enc);
}

/**
 * Rewrites a text-protocol row: each value is a length-encoded string, NULL is 0xFB. A row with more values
 * than columns cannot be read safely: it is refused by the caller (DecodeError).
 */
export function maskTextRow(p: Buffer, plan: RowPlan, cols: readonly ColumnDef[], hashKey: Buffer): Buffer {
  const parts: Buffer[] = [];
  let off = 0;
  let copied = 0;
  for (let i = 0; i < cols.length; i++) {
    const start = off;
    if (p[off] === NULL_VALUE) {
      off++;
      continue;
    }
    const [len, o] = readLenencInt(p, off);
    if (o + len > p.length) throw new DecodeError('row value past the end of the packet');
    off = o + len;
    const kind = plan[i];
    if (!kind) continue;
    const out = maskValue(kind, p.subarray(o, off), cols[i], hashKey);
    parts.push(p.subarray(copied, start), out === null ? Buffer.from([NULL_VALUE]) : Buffer.concat([lenencInt(out.length), out]));
    copied = off;
  }
  if (off !== p.length) throw new DecodeError('text row does not match its column definitions');
  parts.push(p.subarray(copied));
  return Buffer.concat(parts);
}

/** Bytes a binary-protocol value of this type occupies at `off`. */
function binaryValueLength(p: Buffer, off: number, type: number): number {
  switch (type) {
    case FieldType.Null:
      return 0;
    case FieldType.Tiny:
      return 1;
    case FieldType.Short:
    case FieldType.Year:
      return 2;
    case FieldType.Long:
    case FieldType.Int24:
    case FieldType.Float:
      return 4;
    case FieldType.LongLong:
    case FieldType.Double:
      return 8;
    case FieldType.Date:
    case FieldType.DateTime:
    case FieldType.Timestamp:
    case FieldType.Time:
    case FieldType.Timestamp2:
    case FieldType.DateTime2:
    case FieldType.Time2:
      if (off >= p.length) throw new DecodeError('row value past the end of the packet');
      return 1 + p[off]!;
    default: {
      const [len, o] = readLenencInt(p, off);
      return o - off + Math.max(0, len);
    }
  }
}

/**
 * Rewrites a binary-protocol row: 0x00, a NULL bitmap (column i at bit i + 2), then the non-NULL values by
 * type. A masked value either becomes a length-encoded masked string or NULL (bit set, bytes dropped).
 */
export function maskBinaryRow(p: Buffer, plan: RowPlan, cols: readonly ColumnDef[], hashKey: Buffer): Buffer {
  const n = cols.length;
  const bitmapLen = (n + 7 + 2) >> 3;
  if (p.length < 1 + bitmapLen || p[0] !== 0x00) throw new DecodeError('malformed binary row');
  const bitmap = Buffer.from(p.subarray(1, 1 + bitmapLen));
  const parts: Buffer[] = [Buffer.from([0x00]), bitmap];
  let off = 1 + bitmapLen;
  for (let i = 0; i < n; i++) {
    const byte = (i + 2) >> 3;
    const bit = 1 << ((i + 2) & 7);
    if (bitmap[byte]! & bit) continue;
    const col = cols[i]!;
    const len = binaryValueLength(p, off, col.type);
    if (off + len > p.length) throw new DecodeError('row value past the end of the packet');
    const kind = plan[i];
    if (!kind) {
      parts.push(p.subarray(off, off + len));
    } else {
      const [vlen, vo] = isTextual(col) ? readLenencInt(p, off) : [0, off];
      const out = isTextual(col) ? maskValue(kind, p.subarray(vo, vo + Math.max(0, vlen)), col, hashKey) : null;
      if (out === null) bitmap[byte] = bitmap[byte]! | bit;
      else parts.push(lenencInt(out.length), out);
    }
    off += len;
  }
  if (off !== p.length) throw new DecodeError('binary row does not match its column definitions');
  return Buffer.concat(parts);
}

const REDACTED_QUOTED = "'[redacted]'";

/** Replaces every single-quoted part of a message (warnings and errors quote the offending value). */
export function redactQuoted(message: string): string {
  return message.replace(/'(?:[^'\\]|\\.|'')*'/gs, REDACTED_QUOTED);
}

/**
 * Numbers a message prints unquoted (decimal, with fraction and exponent, or 0x…), not inside a name, and not a
 * trailing `at row N` / `at line N` (the statement's row count and a syntax error's line in the text, not values).
 *
 * Security: the server prints numbers it computed from values, so a function of a masked column reads it back
 * one character at a time: `JSON_EXTRACT(CONCAT(REPEAT(' ', ASCII(SUBSTR(email, 1, 1))), 'x'), '$')` warns
 * "Syntax error in JSON text … at position 123", `FROM_BASE64(CONCAT(REPEAT('A', ASCII(…)), '!'))` warns "Bad
 * base64 data as position 122". The broker cannot tell a constant of the message from a value: every number goes.
 */
export function redactNumbers(message: string): string {
  const row = / at (?:row|line) \d+$/.exec(message);
  const body = row ? message.slice(0, row.index) : message;
  return body.replace(/(?<![\p{L}\p{N}_$@#])(?:0x[0-9a-f]+|\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?![\p{L}_])/giu, '[redacted]') + (row ? row[0] : '');
}

/**
 * Error texts that quote a stored or computed value: the quoted value is redacted, the rest (key and column
 * names) kept. Defends against reading a masked value back through a constraint violation or a failed
 * conversion (`INSERT … SELECT email` into a unique key, `CAST(email AS SIGNED)` under strict mode).
 */
export function redactErrorMessage(message: string): string {
  return redactNumbers(redactValues(message));
}

function redactValues(message: string): string {
  // ER_DUP_ENTRY / ER_DUP_ENTRY_WITH_KEY_NAME: the value may itself contain "' for key '", the key name cannot
  const dup = /^Duplicate entry '.*' for key (.*)$/s.exec(message);
  if (dup) return `Duplicate entry ${REDACTED_QUOTED} for key ${dup[1]}`;
  // ER_TRUNCATED_WRONG_VALUE(_FOR_FIELD), ER_WRONG_VALUE, ER_WRONG_VALUE_FOR_TYPE…: "… value: '…'[ for column|function …]"
  const val = /^(.*? value: )'.*'((?: for (?:column|function) [^']*)?(?: at row \d+)?)$/s.exec(message);
  if (val) return `${val[1]}${REDACTED_QUOTED}${val[2]}`;
  // "Incorrect … value '…'", "… found during parsing", JSON and regexp errors quoting their argument
  // any other message (XPATH syntax error: '…' from EXTRACTVALUE/UPDATEXML, JSON, regexp, unknown-name errors
  // quoting a computed argument): every quoted part goes, whatever the errno — the form, not a list of codes
  return redactSpan(redactSpan(message, "'"), '"');
}

/**
 * Everything from the first `q` of the message to its last (to the end when there is one).
 *
 * Security: the server prints a value inside quotes without escaping the quotes it holds, so quoted spans matched one
 * at a time let a value carrying its own quotes step outside them: `CAST(CONCAT('x'' ', email, ' ''') AS DATE)`
 * warned "Incorrect datetime value: 'x' <the email> ''" and the email stood between two redacted spans.
 */
function redactSpan(message: string, q: string): string {
  const a = message.indexOf(q);
  if (a < 0) return message;
  const z = message.lastIndexOf(q);
  return message.slice(0, a) + `${q}[redacted]${q}` + (z > a ? message.slice(z + 1) : '');
}

/** Follows the result sets of one response: collects each one's column definitions, then rewrites its rows. */
export class ResultMasker {
  private cols: ColumnDef[] = [];
  private expected = 0;
  /** index of the result in progress: results follow the statements of the text in order */
  private result = 0;
  /** the plan of the result set in progress (null: its rows pass untouched) */
  plan: RowPlan | null = null;

  constructor(
    private readonly masks: readonly ColumnMask[],
    /** one per top-level statement; a single entry applies to every result (COM_STMT_EXECUTE, CALL) */
    private readonly statements: readonly StatementMasking[],
    private readonly binary: boolean,
    private readonly hashKey: Buffer,
  ) {}

  /** A result set starts with its column count. */
  begin(countPacket: Buffer): void {
    this.expected = readLenencInt(countPacket, 0)[0];
    this.cols = [];
    this.plan = null;
  }

  /** One column definition; true once the last one is in and the rows that follow must be rewritten. */
  column(p: Buffer): boolean {
    this.cols.push(decodeColumnDef(p));
    if (this.cols.length !== this.expected) return false;
    const st = this.statements.length === 1 ? this.statements[0]! : this.statements[this.result] ?? mergeMasking(this.statements);
    this.plan = planColumns(this.cols, this.masks, st);
    return this.plan !== null;
  }

  /** A result ended; the next belongs to the next statement. */
  next(): void {
    this.result++;
    this.plan = null;
  }

  /** The row rewritten under the plan, or null to forward it as it is. */
  row(p: Buffer): Buffer | null {
    if (!this.plan) return null;
    return this.binary ? maskBinaryRow(p, this.plan, this.cols, this.hashKey) : maskTextRow(p, this.plan, this.cols, this.hashKey);
  }

  /** The columns and plan of the last result set, for rows fetched later through a cursor (COM_STMT_FETCH). */
  snapshot(): { cols: ColumnDef[]; plan: RowPlan | null } {
    return { cols: this.cols, plan: this.plan };
  }

  /** Continues a cursor's result set whose definitions came with COM_STMT_EXECUTE. */
  resume(s: { cols: ColumnDef[]; plan: RowPlan | null }): boolean {
    this.cols = s.cols;
    this.expected = s.cols.length;
    this.plan = s.plan;
    return this.plan !== null;
  }
}
