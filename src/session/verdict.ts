// The core's final answer for one statement, as the protocol modules consume it: the verdict (forward, refuse,
// mask, warn), the refusal as a BRK_* code with its text built once for both protocols, and the mask and row-limit
// helpers that carry a verdict out (session/mask.ts, session/row-limit.ts). Protocol modules import these from
// here, never from rules/: they translate the answer into bytes and do not judge it again.
import { ErrorCode } from '../errors.js';
import type { Decision } from '../rules/types.js';
import { DATABASE_SCOPE_RULE } from './database-scope.js';

export type { Decision as Verdict, Decision, MaskKind, RowLimit, RuleMatch } from '../rules/types.js';
export { derivedMask, maskFor, maskText, strictestMask, type ColumnMask } from './mask.js';
export { effectiveLimit, needsEstimate, rowLimitMessage } from './row-limit.js';

/** A refused statement, protocol-neutral. */
export interface StatementRefusal {
  code: typeof ErrorCode.STATEMENT_BLOCKED | typeof ErrorCode.REVIEW_REQUIRED | typeof ErrorCode.DATABASE_NOT_GRANTED;
  message: string;
  /** what the client can do: the review's approve command (PostgreSQL's hint field; MySQL appends it) */
  hint?: string;
  /**
   * Text the server's own parser rejects (PostgreSQL facts say so): the client sees the server's syntax error
   * and position, as it would without the broker. MySQL asks its server instead (mysql/relay.ts).
   */
  syntaxError?: { message: string; position?: number };
}

/**
 * Whether the verdict refuses the statement. Mask-or-block arrives from the core as `block` already
 * (session/mask-plan.ts, session/mysql-mask-verdict.ts); a `mask` verdict the protocol cannot carry out
 * (no row masker in force: a mask rule without column globs) refuses rather than leak.
 */
export function refuses(d: Decision, canMask: boolean): boolean {
  if (d.action === 'block' || d.action === 'review') return true;
  return d.action === 'mask' && !canMask;
}

/** The refusal clients see for a refused verdict: one text for both protocols. */
export function refusalOf(d: Decision): StatementRefusal {
  const r = d.rules[0];
  const id = r?.id ?? 'unknown';
  const st = r && d.action === 'block' ? d.statements[r.statement] : undefined;
  if (d.action === 'review') {
    if (!d.review) {
      return { code: ErrorCode.REVIEW_REQUIRED, message: `dbwarden: review required by rule ${id}: ${r?.message ?? ''} (statement reviews are not enabled on this broker)` };
    }
    const rv = d.review.id;
    return {
      code: ErrorCode.REVIEW_REQUIRED,
      message: `dbwarden: review required (${rv}) by rule ${id}: ${r?.message ?? ''}`,
      hint: `an approver can let this exact statement run once within 15 minutes: dbwarden review approve ${rv}`,
    };
  }
  if (d.action === 'mask') {
    // a mask verdict that cannot be carried out: the masked values would leave the result stream
    return { code: ErrorCode.STATEMENT_BLOCKED, message: `dbwarden: blocked by rule ${id}: ${r?.message ?? 'masked columns'} — masked columns cannot be copied or exported` };
  }
  // text the broker could not read: why, when the reader said (a NUL, a reading barrier, …)
  const why = st?.kind === 'unparsed' && st.error && !(r?.message ?? '').includes(st.error) ? ` (${st.error})` : '';
  // a database outside the grant is refused as the server refuses a database the account may not use (1044)
  const code = id === DATABASE_SCOPE_RULE ? ErrorCode.DATABASE_NOT_GRANTED : ErrorCode.STATEMENT_BLOCKED;
  const refusal: StatementRefusal = { code, message: `dbwarden: blocked by rule ${id}: ${r?.message ?? 'statement not allowed'}${why}` };
  if (st?.kind === 'unparsed' && st.syntaxError) {
    refusal.syntaxError = { message: st.error ?? 'syntax error', ...(st.syntaxError.position ? { position: st.syntaxError.position } : {}) };
  }
  return refusal;
}
