// Which broker events become webhook notifications, their payload data and a Slack-compatible one-line text.

/** Any recorded event; the audit module's AuditEvent fits (notify does not import audit). */
export interface NotifiableEvent {
  type: string;
  [k: string]: unknown;
}

export const WEBHOOK_EVENTS = [
  'request.created',
  'request.approved',
  'request.denied',
  'grant.activated',
  'grant.extended',
  'grant.expired',
  'grant.revoked',
  'statement.blocked',
  'review.requested',
  'break-glass.used',
] as const;
export type WebhookEventName = (typeof WEBHOOK_EVENTS)[number];

/** Sent to every webhook whatever its `events` list: a break-glass grant must not go unnoticed. */
export const ALWAYS_DELIVERED: readonly WebhookEventName[] = ['break-glass.used'];

export interface WebhookEvent {
  event: WebhookEventName;
  /** Slack (and Mattermost, Teams workflow) incoming webhooks show this field */
  text: string;
  data: Record<string, unknown>;
}

const AUDIT_TO_WEBHOOK: Record<string, WebhookEventName> = {
  'grant.requested': 'request.created',
  'grant.approved': 'request.approved',
  'grant.denied': 'request.denied',
  'grant.activated': 'grant.activated',
  'grant.extended': 'grant.extended',
  'grant.expired': 'grant.expired',
  'grant.revoked': 'grant.revoked',
  'review.requested': 'review.requested',
};

/**
 * Fields never sent. Statement text is left out on purpose: it can carry secrets or personal data
 * (`ALTER ROLE … PASSWORD '…'`, literals) and chat channels are no place for them; the audit file has it.
 */
const WITHHELD = new Set(['type', 'text', 'password', 'token', 'verifiers', 'authorization', 'secret']);

const s = (v: unknown): string => (v === undefined || v === null ? '?' : Array.isArray(v) ? v.join(', ') : String(v));

/** The notifications one event produces (none for most statements); cheap, since it runs on the hot path. */
export function toWebhookEvents(e: NotifiableEvent): WebhookEvent[] {
  if (e.type === 'statement') {
    if (e.action !== 'block') return [];
    return [make('statement.blocked', e, `dbwarden: blocked a ${s(e.kind)} statement of ${s(e.identity)} on ${s(e.target)}/${s(e.database)} (rule ${s(e.rules)}, session ${s(e.session)})`)];
  }
  const name = AUDIT_TO_WEBHOOK[e.type];
  if (!name) return [];
  const out = [make(name, e, describe(name, e))];
  if (name === 'grant.activated' && e.alert === true) {
    out.push(make('break-glass.used', e, `:rotating_light: dbwarden break-glass: ${s(e.identity)} has ${s(e.access)} access to ${s(e.target)} until ${s(e.expiresAt)} (policy ${s(e.policy)}, grant ${s(e.grantId)})`));
  }
  return out;
}

function make(event: WebhookEventName, e: NotifiableEvent, text: string): WebhookEvent {
  const data: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) if (!WITHHELD.has(k)) data[k] = v;
  return { event, text, data };
}

function describe(name: WebhookEventName, e: NotifiableEvent): string {
  switch (name) {
    case 'request.created': {
      const needs = Number(e.approvalsRequired ?? 0);
      const tail = needs > 0 ? `needs ${needs} approval${needs > 1 ? 's' : ''} (policy ${s(e.policy)})` : `approved by policy ${s(e.policy)}`;
      return `dbwarden: ${s(e.identity)} requests ${s(e.access)} access to ${s(e.target)} for ${s(e.ttl)}: "${s(e.reason)}" — ${tail} [${s(e.requestId)}]`;
    }
    case 'request.approved':
      return `dbwarden: ${s(e.actor)} approved ${s(e.identity)}'s ${s(e.access)} request for ${s(e.target)} (${s(e.approvals)}/${s(e.approvalsRequired)}) [${s(e.requestId)}]`;
    case 'request.denied':
      return `dbwarden: ${s(e.actor)} denied ${s(e.identity)}'s ${s(e.access)} request for ${s(e.target)}${e.reason ? `: ${s(e.reason)}` : ''} [${s(e.requestId)}]`;
    case 'grant.activated':
      return `dbwarden: ${s(e.identity)} has ${s(e.access)} access to ${s(e.target)} (${s(e.databases)}) until ${s(e.expiresAt)} [${s(e.grantId)}]`;
    case 'grant.extended':
      return `dbwarden: ${s(e.actor)} extended ${s(e.identity)}'s ${s(e.access)} grant on ${s(e.target)} to ${s(e.expiresAt)} [${s(e.grantId)}]`;
    case 'grant.expired':
      return `dbwarden: ${s(e.identity)}'s ${s(e.access)} grant on ${s(e.target)} expired [${s(e.grantId)}]`;
    case 'grant.revoked':
      return `dbwarden: ${s(e.actor)} revoked ${s(e.identity)}'s ${s(e.access)} grant on ${s(e.target)}${e.reason ? `: ${s(e.reason)}` : ''} [${s(e.grantId)}]`;
    case 'review.requested':
      return `dbwarden: a statement of ${s(e.identity ?? e.actor)} on ${s(e.target)} waits for review ${s(e.review)} (dbwarden review approve ${s(e.review)})`;
    default:
      return `dbwarden: ${name}`;
  }
}
