// Client-facing texts for decisions; the protocol modules send these verbatim (docs/errors.md lists them).
import type { Decision, RuleMatch } from './types.js';

export function blockedMessage(m: RuleMatch): string {
  return `dbwarden: blocked by rule ${m.id}: ${m.message}`;
}

export function reviewMessage(m: RuleMatch, reviewId: string): string {
  return `dbwarden: review required (${reviewId}) by rule ${m.id}: ${m.message}`;
}

export function reviewHint(reviewId: string): string {
  return `an approver can run: dbwarden review approve ${reviewId}`;
}

export function warningMessage(m: RuleMatch): string {
  return `dbwarden: rule ${m.id}: ${m.message}`;
}

/** The message for the deciding match, by its action. */
export function decisionMessage(m: RuleMatch, reviewId?: string): string {
  switch (m.action) {
    case 'block': return blockedMessage(m);
    case 'review': return reviewMessage(m, reviewId ?? 'pending');
    default: return warningMessage(m);
  }
}

/** Every warn match of a decision, one notice each (a text may trip several warn rules). */
export function warningMessages(d: Decision): string[] {
  return d.rules.filter((m) => m.action === 'warn').map(warningMessage);
}
