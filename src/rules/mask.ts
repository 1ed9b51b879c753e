// Mask functions for result values, and the column masks that apply to a session (rules with action `mask`).
import { createHmac } from 'node:crypto';
import { conditionMatches } from './evaluate.js';
import { matchName } from './glob.js';
import type { StatementFacts } from '../sql/facts.js';
import type { RuleSet } from './rule-set.js';
import type { EvalContext, MaskKind } from './types.js';

export interface ColumnMask {
  ruleId: string;
  mask: MaskKind;
  /** schema.table.column globs */
  columns: string[];
  ruleset?: string;
  message?: string;
  /** views and functions (schema.name globs) this rule trusts not to return its masked values */
  clean?: string[];
}

/** A statement with no properties: only the session-level keys of a condition can match or fail on it. */
const PROBE: StatementFacts = { kind: 'select', effects: [], tables: [], columns: [], functions: [], where: null, limit: null, nested: false, multiStatement: false, index: 0 };

/** The mask rules whose session-level conditions (access, targets, groups) hold for this context. */
export function columnMasks(rulesets: readonly RuleSet[], ctx: EvalContext): ColumnMask[] {
  const out: ColumnMask[] = [];
  for (const set of rulesets) {
    for (const r of set.rules) {
      if (r.action !== 'mask' || !r.when.columns) continue;
      if (!conditionMatches({ access: r.when.access, targets: r.when.targets, groups: r.when.groups }, PROBE, ctx)) continue;
      out.push({ ruleId: r.id, mask: r.mask ?? 'redact', columns: r.when.columns, ruleset: set.name, message: r.message, ...(r.clean ? { clean: r.clean } : {}) });
    }
  }
  return out;
}

/** First mask whose globs match `schema.table.column`. */
export function maskFor(masks: readonly ColumnMask[], qualifiedColumn: string): ColumnMask | undefined {
  return masks.find((m) => m.columns.some((p) => matchName(p, qualifiedColumn)));
}

/** When several masks could apply to one derived value, the one that reveals least wins. */
const REVEAL_ORDER: MaskKind[] = ['null', 'redact', 'hash', 'email', 'partial'];
export function strictestMask(masks: readonly ColumnMask[]): MaskKind {
  let best: MaskKind = 'partial';
  for (const m of masks) if (REVEAL_ORDER.indexOf(m.mask) < REVEAL_ORDER.indexOf(best)) best = m.mask;
  return masks.length ? best : 'redact';
}

/**
 * The mask for a value computed from a masked column rather than the column's value itself (or of unknown
 * origin). email and partial keep part of their input in clear and hash answers chosen questions; applied to a
 * value the client shaped (`split_part(email,'@',2) || '@' || split_part(email,'@',1)`, `substr(phone, 1, 8)`)
 * they would reveal what the mask hides, so such values are redacted whole (null stays null).
 */
export function derivedMask(kind: MaskKind): MaskKind;
export function derivedMask(kind: MaskKind | null): MaskKind | null;
export function derivedMask(kind: MaskKind | null): MaskKind | null {
  return kind === null || kind === 'null' ? kind : 'redact';
}

export const REDACTED = '[redacted]';

/**
 * Masks one text value. Returns null for SQL NULL. The output never contains more of the input than the
 * mask promises: partial keeps the last 4 characters, email the first character and the domain, hash a
 * keyed HMAC (stable for joins and GROUP BY, not reversible without the key).
 */
export function maskText(kind: MaskKind, value: string, hashKey: Buffer): string | null {
  switch (kind) {
    case 'null':
      return null;
    case 'redact':
      return REDACTED;
    case 'partial': {
      const chars = [...value];
      if (chars.length <= 4) return '*'.repeat(chars.length);
      return '*'.repeat(chars.length - 4) + chars.slice(-4).join('');
    }
    case 'email': {
      const at = value.lastIndexOf('@');
      if (at <= 0) return REDACTED;
      // the first character whole (a surrogate pair is one character), without splitting the whole string
      return `${String.fromCodePoint(value.codePointAt(0)!)}***${value.slice(at)}`;
    }
    case 'hash':
      return createHmac('sha256', hashKey).update(value).digest('hex').slice(0, 32);
  }
}
