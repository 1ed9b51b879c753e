// Follows MySQL commands to the results they produce, so masked columns are rewritten in every result: a text's
// statements in order (COM_QUERY), prepared statements by id (COM_STMT_PREPARE → EXECUTE), cursors fetched later
// (COM_STMT_FETCH). The relay tells it what it sends and forwards what it answers; the rows themselves are
// rewritten by mysql/row-masker.ts. The counterpart of pg/mask-tracker.ts.
import type { ColumnMask, Decision } from '../session/verdict.js';
import { derivedMask, strictestMask } from '../session/verdict.js';
import type { StatementFacts } from '../sql/facts.js';
import type { ErrSpec } from './codes.js';
import { decodeErr, encodeErr } from './packets.js';
import { ResultMasker, mergeMasking, redactErrorMessage, type ColumnDef, type RowPlan, type StatementMasking } from './row-masker.js';

/** The packet roles of a response as mysql/response-tracker.ts reads them. */
export type PacketRole = 'count' | 'column' | 'row' | 'end' | string;

export interface MaskTrackerOptions {
  /** the column masks in force (read each time: a rules reload replaces the session's guard) */
  masks(): readonly ColumnMask[];
  /** view columns masked by what their definitions read (session/mysql-schema.ts); undefined when not traced */
  views?(): StatementMasking['views'];
  hashKey: Buffer;
}

export class MysqlMaskTracker {
  /** prepared statement id → how its results are masked */
  private readonly prepared = new Map<number, StatementMasking[]>();
  /** statement id → columns and plan of its open cursor */
  private readonly cursors = new Map<number, { cols: ColumnDef[]; plan: RowPlan | null }>();

  constructor(private readonly opts: MaskTrackerOptions) {}

  /** Whether any mask is in force (when none, no result is rewritten and statement ids need not be read). */
  get active(): boolean {
    return this.opts.masks().length > 0;
  }

  /**
   * How the results of a decided text are masked, one entry per top-level statement (the server answers each
   * with one result, except CALL); null when no masks are in force. Reads the facts, never the text.
   */
  statementMasking(d: Decision): StatementMasking[] | null {
    const masks = this.opts.masks();
    if (!masks.length) return null;
    const top = new Map<number, { facts: StatementFacts[]; ruleIds: Set<string> }>();
    for (const st of d.statements) {
      const e = top.get(st.index) ?? { facts: [], ruleIds: new Set<string>() };
      e.facts.push(st);
      top.set(st.index, e);
    }
    for (const r of d.rules) if (r.action === 'mask') top.get(d.statements[r.statement]?.index ?? -1)?.ruleIds.add(r.id);
    const list = [...top.keys()].sort((x, y) => x - y).map((i): StatementMasking => {
      const { facts, ruleIds } = top.get(i)!;
      return {
        // a CALL's results come from a body the broker does not trace: any value without a base-table origin is
        // masked (fail closed; `SELECT CONCAT(email, '')` in a procedure reports no origin)
        // values not straight from a base-table column may be shaped by the client: redacted whole (derivedMask)
        // a plan printed as text may carry values of any column of the tables it reads (sql/mysql-explain.ts): every
        // value without a base-table origin is masked (fail closed), named columns or not
        derived: derivedMask(ruleIds.size ? strictestMask(masks.filter((m) => ruleIds.has(m.ruleId))) : facts.some((f) => f.kind === 'call' || (f.kind === 'explain' && f.tables.length > 0 && f.planText !== false)) ? strictestMask(masks) : null),
        tables: new Set(facts.flatMap((st) => st.tables.map((t) => t.name.split('.').pop()!.replace(/`/g, '').toLowerCase()))),
        // a second query block (subquery, derived table, UNION, CTE, VALUES) or text read without the parser:
        // origins the statement names itself (facts of every reading of the text count)
        opaque: facts.some((f) => f.composite || f.kind === 'unparsed'),
        warnings: facts.some((f) => f.diagnostics),
        views: this.opts.views?.(),
      };
    });
    // a CALL answers with any number of results: results can no longer be matched to statements
    if (list.length > 1 && d.statements.some((st) => st.kind === 'call' || st.kind === 'unparsed')) return [mergeMasking(list)];
    return list.length ? list : [{ derived: null, tables: new Set(), opaque: true, warnings: false }];
  }

  /** The masker of a COM_QUERY's results (text protocol); undefined when nothing is masked. */
  forText(d: Decision): ResultMasker | undefined {
    return this.masker(this.statementMasking(d), false);
  }

  /**
   * The masker of a COM_STMT_EXECUTE's results (binary protocol), by the masking recorded when the statement was
   * prepared. A statement id the broker did not see prepared: every column not from a masked origin is masked.
   */
  forExecute(id: number): ResultMasker | undefined {
    if (!this.active) return undefined;
    return this.masker(this.prepared.get(id) ?? this.unknownStatement(), true);
  }

  /**
   * COM_STMT_FETCH: the masker continuing the cursor's result set, and whether its rows need rewriting. null when
   * the cursor's columns were never seen (opened before masking applied): its rows cannot be masked column by
   * column, so the fetch is refused (fail closed).
   */
  forFetch(id: number): { masker: ResultMasker; rewrite: boolean } | null {
    const cursor = this.cursors.get(id);
    if (!cursor) return null;
    const masker = this.masker(this.prepared.get(id) ?? this.unknownStatement(), true)!;
    return { masker, rewrite: masker.resume(cursor) };
  }

  /** COM_STMT_PREPARE answered OK: the statement's executions are masked by what its text was decided to read. */
  preparedAs(id: number, masking: StatementMasking[]): void {
    this.prepared.set(id, masking);
  }

  /** A response to COM_STMT_EXECUTE ended with a cursor open: its columns are kept for COM_STMT_FETCH. */
  cursorOpened(id: number, masker: ResultMasker): void {
    this.cursors.set(id, masker.snapshot());
  }

  /** COM_STMT_CLOSE: the statement id may be reused by the server. */
  closed(id: number): void {
    this.prepared.delete(id);
    this.cursors.delete(id);
  }

  /**
   * One packet of a forwarded response through its masker: rows rewritten under the result's plan. Returns the
   * replacement payload (null: forward the packet as it is) and whether the rows that follow need rewriting.
   */
  static packet(m: ResultMasker, role: PacketRole, payload: Buffer): { out: Buffer | null; rows?: boolean } {
    if (role === 'end') m.next();
    else if (role === 'count') m.begin(payload);
    else if (role === 'column') return { out: null, rows: m.column(payload) };
    else if (role === 'row') return { out: m.row(payload) };
    return { out: null };
  }

  /**
   * An ERR of the server while masks apply: the values its message echoes (a duplicate key, a conversion error)
   * are redacted, whatever the errno. null: forward it as it is (nothing echoed, or no masks in force).
   */
  redactError(payload: Buffer): Buffer | null {
    if (!this.active) return null;
    const e = decodeErr(payload);
    const message = redactErrorMessage(e.message);
    // the server's own errno and SQLSTATE, passed through (not a broker refusal)
    return message === e.message ? null : encodeErr({ errno: e.errno, sqlState: e.sqlState } as ErrSpec, message);
  }

  private unknownStatement(): StatementMasking[] {
    return [{ derived: derivedMask(strictestMask(this.opts.masks())), tables: new Set(), opaque: true, warnings: false, views: this.opts.views?.() }];
  }

  private masker(st: StatementMasking[] | null, binary: boolean): ResultMasker | undefined {
    if (!st) return undefined;
    return new ResultMasker(this.opts.masks(), st, binary, this.opts.hashKey);
  }
}
