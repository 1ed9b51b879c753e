// Rule and Decision types: the contract between the rule engine and the protocol modules.
import type { Dialect, StatementFacts } from '../sql/facts.js';

export const ACTIONS = ['allow', 'warn', 'mask', 'review', 'block'] as const;
export type Action = (typeof ACTIONS)[number];
/** Strength order used when several rules match: block > review > mask > warn > allow. */
export const ACTION_STRENGTH: Record<Action, number> = { allow: 0, warn: 1, mask: 2, review: 3, block: 4 };

export const MASKS = ['redact', 'partial', 'email', 'hash', 'null'] as const;
export type MaskKind = (typeof MASKS)[number];

export type { AccessLevel } from '../access.js';
import type { AccessLevel } from '../access.js';

/** Who is running the statement, fixed for the life of a session. */
export interface EvalContext {
  dialect: Dialect;
  access: AccessLevel;
  target: string;
  groups: string[];
}

export interface RuleMatch {
  id: string;
  ruleset: string;
  action: Action;
  message: string;
  mask?: MaskKind;
  /** the rule's `when.columns` globs, so a row masker knows which result columns to rewrite */
  columns?: string[];
  /** index into Decision.statements of the statement that matched */
  statement: number;
}

/**
 * A cursor the text declares or closes (PostgreSQL), applied to the session's cursor plans only when the server
 * confirms it (its CommandComplete), never when the text is merely read: a DECLARE that fails (the name is taken,
 * inside a savepoint later rolled back) leaves the cursor that already had the name, with its own plan.
 */
export interface CursorOp {
  /** position of the statement in the text (its CommandComplete is the stmt-th of the text's answers) */
  stmt: number;
  /** DECLARE: the cursor name and the plan its FETCH results carry */
  declare?: { name: string; plan: { outputs: (MaskKind | null)[] | null; derived: MaskKind | null } };
  /** CLOSE: the cursor name, null for CLOSE ALL */
  close?: string | null;
}

/**
 * The result of checking one client text. Evaluated in a fixed order by the protocol module:
 * block/review → refuse the whole text; mask → forward and rewrite rows; warn → notice then forward;
 * allow → forward the same bytes.
 */
export interface Decision {
  action: Action;
  /** every matched rule (all are audited); `rules[0]` is the one that decided when action != allow */
  rules: RuleMatch[];
  statements: StatementFacts[];
  /**
   * Set by the session, on a per-call copy (decisions are cached and shared): the review filed for this text
   * (action `review`), or the approval that let it through (then `approvedBy` names the approver).
   */
  review?: { id: string; approvedBy?: string };
  /**
   * Set by the session when column masks apply (session/mask-plan.ts): the mask of every result column, from
   * the lineage of its value. Protocol modules carry it out as it is.
   */
  maskPlan?: { outputs: (MaskKind | null)[] | null; derived: MaskKind | null; cursors?: CursorOp[] };
  /**
   * Present when a rule with `maxRows`/`maxFraction` matched a statement that changes rows: the protocol module
   * runs the text inside a transaction boundary of its own and refuses it when the server's count is over.
   */
  rowLimit?: RowLimit;
}

/** The blast-radius limits that apply to one client text (see rules/row-limit.ts). */
export interface RowLimit {
  /** statement kind for the message (DELETE, UPDATE, …): the first limited statement's */
  kind: string;
  /** tables the limited statements write (for maxFraction's estimate and MySQL's engine lookup) */
  tables: string[];
  limits: Array<{ rule: string; maxRows?: number; maxFraction?: number }>;
  /** set when a limited write's count cannot be read from the server's answer (data-modifying CTE, EXPLAIN ANALYZE) */
  uncountable?: { rule: string; why: string };
  /**
   * only INSERT … VALUES without function calls: their rows are in the text, so the guard counts them only when a
   * written table has triggers (MySQL: looked up by the row guard), else forwards them as they are
   */
  valuesOnly?: boolean;
}
