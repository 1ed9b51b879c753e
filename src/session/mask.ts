// Carrying out mask rules: which mask a result column gets and the masked value. The rules declare the masks
// (rules/mask.ts); the session and the protocol modules apply them through here (session/verdict.ts).
import { createHmac } from 'node:crypto';
import { matchName } from '../rules/glob.js';
import type { ColumnMask } from '../rules/mask.js';
import type { MaskKind } from '../rules/types.js';

export type { ColumnMask };

/** First mask whose globs match `schema.table.column`. */
export function maskFor(masks: readonly ColumnMask[], qualifiedColumn: string): ColumnMask | undefined {
  // every column of every result row description asks this (each against every glob of every mask): remembered per
  // masks array, which the rules make once per evaluation context and never change (a changed length starts over)
  let memo = maskMemo.get(masks);
  if (!memo || memo.n !== masks.length) maskMemo.set(masks, (memo = { n: masks.length, names: new Map() }));
  const hit = memo.names.get(qualifiedColumn);
  if (hit !== undefined) return hit ?? undefined;
  const m = masks.find((x) => x.columns.some((p) => matchName(p, qualifiedColumn)));
  // names may come from the client (MySQL derived-table aliases): the memo is bounded, emptied when full
  if (memo.names.size >= MASK_MEMO_NAMES) memo.names.clear();
  memo.names.set(qualifiedColumn, m ?? null);
  return m;
}
const MASK_MEMO_NAMES = 4096;
const maskMemo = new WeakMap<readonly ColumnMask[], { n: number; names: Map<string, ColumnMask | null> }>();

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
