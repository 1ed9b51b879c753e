// Carrying out a row limit: the limit in force for a decision's RowLimit and the row guard's refusal text. Which
// limits apply to a text is decided with the rules (rules/row-limit.ts); the row guards of both protocols use this.
import type { RowLimit } from '../rules/types.js';

/** The limit in force and the rule that sets it, given the largest table estimate (rows) when known. */
export function effectiveLimit(rl: RowLimit, estimatedRows?: number): { rule: string; limit: number } | null {
  let best: { rule: string; limit: number } | null = null;
  for (const l of rl.limits) {
    if (l.maxRows !== undefined && (!best || l.maxRows < best.limit)) best = { rule: l.rule, limit: l.maxRows };
    if (l.maxFraction !== undefined && estimatedRows !== undefined && estimatedRows >= 0) {
      const f = Math.max(1, Math.floor(l.maxFraction * estimatedRows));
      if (!best || f < best.limit) best = { rule: l.rule, limit: f };
    }
  }
  return best;
}

/** True when some limit needs the table's estimated row count. */
export function needsEstimate(rl: RowLimit): boolean {
  return rl.limits.some((l) => l.maxFraction !== undefined);
}

/** The row guard's refusal text (rules/README.md, row limits). */
export function rowLimitMessage(rule: string, kind: string, rows: number, limit: number, extra = ''): string {
  return `dbwarden: blocked by rule ${rule}: this ${kind} would change ${rows.toLocaleString('en-US')} rows (limit ${limit.toLocaleString('en-US')}); nothing was changed${extra}`;
}
