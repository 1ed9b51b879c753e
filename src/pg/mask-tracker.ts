// Follows the extended and simple protocol closely enough to know, for every DataRow, which RowDescription
// (and result formats) it belongs to — so masked columns are rewritten even when the client executes a
// prepared statement without describing it in the same round trip.
import type { ColumnMask } from '../session/verdict.js';
import { derivedMask, maskFor, strictestMask } from '../session/verdict.js';
import type { Decision, MaskKind } from '../session/verdict.js';
import type { ColumnCatalog } from './catalog.js';
import { BackendCode } from './codes.js';
import { readCString } from './messages.js';
import { redactErrorMessage } from './error-redaction.js';
import { decodeRowDescription, maskDataRow, planRow, type FieldDesc, type RowPlan } from './row-masker.js';

/** The core's mask plan for a statement's result columns (see session/mask-plan.ts). */
export type Plan = NonNullable<Decision['maskPlan']>;

/** What each client message will be answered with, in order (the server answers in the order it reads). */
type Expect =
  | { k: 'query'; derived: Plan | null; done?: number }
  | { k: 'parse'; name: string; derived: Plan | null }
  | { k: 'bind'; portal: string; stmt: string }
  | { k: 'describe'; what: 'S' | 'P'; name: string }
  | { k: 'execute'; portal: string; rows?: { plan: RowPlan | null; types: number[] } }
  | { k: 'close' }
  | { k: 'sync' }
  | { k: 'fcall' };

interface Shape {
  fields: FieldDesc[];
  derived: Plan | null;
}

/**
 * What the tracker asks of the column catalog: a column's name by table OID and attnum, and loading relations it
 * has not seen (pg/catalog.ts reads them from the server; unit tests give a table of their own).
 */
export type ColumnOrigins = Pick<ColumnCatalog, 'resolve' | 'missing' | 'load'>;

export interface UpstreamAction {
  /** replacement bytes for the message (null: forward it as it is) */
  out: Buffer | null;
  /** async work to finish before this message (and anything after it) may go to the client */
  wait?: Promise<Buffer | null>;
}

/** The answer for a message forwarded as it is (shared: read at once by the relay, never changed). */
const AS_IS: UpstreamAction = Object.freeze({ out: null });

export class MaskTracker {
  private readonly expect: Expect[] = [];
  /** The answer for a DataRow, reused row after row: the relay reads it before the next message is handed over. */
  private readonly row: UpstreamAction = { out: null };
  private readonly statements = new Map<string, Shape>();
  private readonly portals = new Map<string, { stmt: string; shape?: Shape }>();
  /** the plan of a simple-query result set in progress */
  private current: { plan: RowPlan | null; types: number[] } | null = null;

  constructor(
    private readonly masks: readonly ColumnMask[],
    private readonly catalog: ColumnOrigins,
    private readonly hashKey: Buffer,
    private readonly fallback: MaskKind,
    /** view columns → the base columns they derive from (schema.view.column → masks), from lineage */
    private readonly viewMask: (qualifiedColumn: string) => MaskKind | null | undefined = () => undefined,
    /** called at every ReadyForQuery with the transaction status ('I' idle, 'T' in a block, 'E' failed) */
    private readonly onReady: (status: string) => void = () => undefined,
    /** a DECLARE/CLOSE of the plan confirmed by the server's CommandComplete */
    private readonly onCursor: (op: NonNullable<Plan['cursors']>[number]) => void = () => undefined,
  ) {}

  // ---- client messages, in the order they are sent ----

  onQuery(derived: Plan | null): void {
    this.expect.push({ k: 'query', derived });
  }
  onParse(name: string, derived: Plan | null): void {
    this.expect.push({ k: 'parse', name, derived });
  }
  /** Result formats do not matter: masked text is the same bytes in both formats, other types become NULL. */
  onBind(body: Buffer): void {
    const [portal, o1] = readCString(body, 0);
    this.expect.push({ k: 'bind', portal, stmt: readCString(body, o1)[0] });
  }
  onDescribe(body: Buffer): void {
    this.expect.push({ k: 'describe', what: body[0] === 0x53 ? 'S' : 'P', name: readCString(body, 1)[0] });
  }
  onExecute(body: Buffer): void {
    this.expect.push({ k: 'execute', portal: readCString(body, 0)[0] });
  }
  onClose(): void {
    this.expect.push({ k: 'close' });
  }
  onSync(): void {
    this.expect.push({ k: 'sync' });
  }
  onFunctionCall(): void {
    this.expect.push({ k: 'fcall' });
  }

  // ---- upstream messages ----

  upstream(code: number, body: Buffer): UpstreamAction {
    const head = this.expect[0];
    switch (code) {
      case BackendCode.ParseComplete:
        if (head?.k === 'parse') {
          this.expect.shift();
          this.statements.set(head.name, { fields: [], derived: head.derived });
        }
        return AS_IS;
      case BackendCode.BindComplete:
        if (head?.k === 'bind') {
          this.expect.shift();
          this.portals.set(head.portal, { stmt: head.stmt });
        }
        return AS_IS;
      case BackendCode.CloseComplete:
        if (head?.k === 'close') this.expect.shift();
        return AS_IS;
      case BackendCode.NoData:
        if (head?.k === 'describe') this.expect.shift();
        return AS_IS;
      case BackendCode.RowDescription: {
        const fields = decodeRowDescription(body);
        const missing = this.catalog.missing([...new Set(fields.map((f) => f.tableOid))]);
        if (missing.length) return { out: null, wait: this.catalog.load(missing).then(() => this.rowDescription(fields)) };
        return { out: this.rowDescription(fields) };
      }
      case BackendCode.DataRow:
        this.row.out = this.dataRow(body);
        return this.row;
      case BackendCode.CommandComplete:
      case BackendCode.EmptyQueryResponse:
      case BackendCode.PortalSuspended:
        if (code === BackendCode.CommandComplete) this.confirmCursor(head, readCString(body, 0)[0]);
        if (head?.k === 'query' && code !== BackendCode.PortalSuspended) head.done = (head.done ?? 0) + 1;
        if (head?.k === 'execute') this.expect.shift();
        else this.current = null;
        return AS_IS;
      case BackendCode.ErrorResponse:
      case BackendCode.NoticeResponse: {
        if (code === BackendCode.ErrorResponse) {
          this.current = null;
          // after an error in an extended-protocol batch the server skips to Sync
          if (head && head.k !== 'query' && head.k !== 'fcall') while (this.expect.length && this.expect[0]!.k !== 'sync') this.expect.shift();
        }
        return { out: this.redact(code, body) };
      }
      case BackendCode.NotificationResponse:
        return { out: redactNotification(body) };
      case BackendCode.ReadyForQuery:
        this.current = null;
        this.onReady(String.fromCharCode(body[0] ?? 0x49));
        while (this.expect.length) {
          const e = this.expect.shift()!;
          if (e.k === 'sync' || e.k === 'query' || e.k === 'fcall') break;
        }
        return AS_IS;
      default:
        return AS_IS;
    }
  }

  /**
   * Security: a cursor's plan follows what the server did, not what the text asked for — a DECLARE that failed
   * leaves the earlier cursor of that name (and its plan) in place; see session/mask-plan.ts.
   */
  private confirmCursor(head: Expect | undefined, tag: string): void {
    if (!tag.startsWith('DECLARE CURSOR') && !tag.startsWith('CLOSE CURSOR')) return;
    let ops: Plan['cursors'];
    let at = 0;
    if (head?.k === 'query') {
      ops = head.derived?.cursors;
      at = head.done ?? 0;
    } else if (head?.k === 'execute') {
      const p = this.portals.get(head.portal);
      ops = p ? this.statements.get(p.stmt)?.derived?.cursors : undefined;
    }
    const op = ops?.find((o) => o.stmt === at);
    if (op) this.onCursor(op);
    // a cursor declared by text the plan does not describe: its FETCH results are masked strictly (unknown cursor)
    else if (tag.startsWith('CLOSE CURSOR ALL')) this.onCursor({ stmt: at, close: null });
  }

  /** Records a RowDescription's shape where it belongs; the message itself passes unchanged. */
  private rowDescription(fields: FieldDesc[]): null {
    const head = this.expect[0];
    if (head?.k === 'describe') {
      this.expect.shift();
      if (head.what === 'S') {
        const st = this.statements.get(head.name);
        this.statements.set(head.name, { fields, derived: st?.derived ?? null });
      } else {
        const p = this.portals.get(head.name);
        if (p) {
          const st = this.statements.get(p.stmt);
          p.shape = { fields, derived: st?.derived ?? null };
          // a statement's rows have the same columns in every portal (only formats differ, which masking
          // ignores): pgjdbc describes the portal once, then binds and executes without describing again
          if (st && st.fields.length === 0) st.fields = fields;
        }
      }
    } else {
      const derived = head?.k === 'query' ? head.derived : null;
      this.current = { plan: this.plan(fields, derived), types: fields.map((f) => f.typeOid) };
    }
    return null;
  }

  private plan(fields: FieldDesc[], derived: Plan | null): RowPlan | null {
    // expression columns (no table origin): the core's per-column plan from lineage; positions it cannot
    // match to this row description get the strictest mask (fail closed)
    const outputs = derived?.outputs;
    const at = outputs
      ? (i: number) => (outputs.length === fields.length ? outputs[i]! : outputs.some((m) => m) ? this.fallback : null)
      : () => derived?.derived ?? null;
    return planRow(fields, (oid, attnum) => {
      const col = this.catalog.resolve(oid, attnum);
      if (col === undefined) return undefined;
      const own = maskFor(this.masks, col.name);
      // a view column: what lineage traced it to (views over views included), else every base column the view reads
      const traced = this.viewMask(col.name);
      // Security: a view column named like a masked column is not that column's value as it is. Masked by its name
      // alone, `CREATE VIEW v AS SELECT split_part(email,'@',2) || '@' || split_part(email,'@',1) AS email` showed the
      // local part through the `email` mask, and `substr(phone, 1, 10) AS phone` more digits through `partial`. What
      // lineage traced wins when it is stricter or different; a view lineage cannot trace yet is redacted whole.
      if (own && traced !== undefined) return traced === null || traced === own.mask ? own.mask : own.mask === 'null' || traced === 'null' ? 'null' : 'redact';
      if (own) return col.sources !== undefined ? derivedMask(own.mask) : own.mask;
      if (traced !== undefined) return traced;
      const viaView = (col.sources ?? []).map((src) => maskFor(this.masks, src)).filter((m): m is ColumnMask => !!m);
      // sources the catalog lists for a view column say nothing of how the view computes it
      return viaView.length ? derivedMask(strictestMask(viaView)) : null;
    }, at, this.fallback);
  }

  private dataRow(body: Buffer): Buffer | null {
    const head = this.expect[0];
    if (head?.k === 'execute') {
      const portal = this.portals.get(head.portal);
      const shape = portal?.shape ?? (portal ? this.statements.get(portal.stmt) : undefined);
      // rows of a statement whose shape we never saw cannot be checked column by column: mask them whole
      if (!shape || shape.fields.length === 0) return maskDataRow(body, null, null, this.hashKey, this.fallback);
      // planned once per Execute, not per row: every row of one execution has the same columns
      head.rows ??= { plan: this.plan(shape.fields, shape.derived), types: shape.fields.map((f) => f.typeOid) };
      if (!head.rows.plan) return null;
      return maskDataRow(body, head.rows.plan, head.rows.types, this.hashKey, this.fallback);
    }
    if (this.current) return this.current.plan ? maskDataRow(body, this.current.plan, this.current.types, this.hashKey, this.fallback) : null;
    return maskDataRow(body, null, null, this.hashKey, this.fallback);
  }

  /** While masks apply, every text field of an error or notice loses the values it could echo (any SQLSTATE). */
  private redact(code: number, body: Buffer): Buffer | null {
    return redactErrorMessage(code, body);
  }

}


/**
 * A NOTIFY payload with its text replaced (channel and sender kept), or null when it is empty.
 *
 * Security: a payload is written by any session — an application trigger's `pg_notify('users', NEW.email)` — and
 * reaches every listener; its lineage is unknown to this session, so while masks apply it is redacted whole:
 * `LISTEN users` on a masked read grant received the emails in clear.
 */
export function redactNotification(body: Buffer): Buffer | null {
  const [channel, o1] = readCString(body, 4);
  const [payload] = readCString(body, o1);
  if (payload === '') return null;
  const pid = body.subarray(0, 4);
  const rest = Buffer.concat([pid, Buffer.from(channel + '\0' + REDACTED_PAYLOAD + '\0', 'utf8')]);
  const head = Buffer.allocUnsafe(5);
  head[0] = BackendCode.NotificationResponse;
  head.writeInt32BE(rest.length + 4, 1);
  return Buffer.concat([head, rest]);
}
const REDACTED_PAYLOAD = '[redacted]';
