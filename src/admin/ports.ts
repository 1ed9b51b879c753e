// What the admin API is given besides the AccessService: rules, reviews and broker facts for clients.
import type { Identity, ReviewRecord } from '../grants/model.js';

export interface RulesPort {
  /** `POST /v1/rules/check`: returns the decision object (action, rules, statements) */
  check(body: { sql: string; dialect?: string; target?: string; access?: string; groups?: string[] }): unknown;
  /** re-reads the rules folder; on errors the old rules stay */
  reload(): Promise<{ ok: boolean; rulesets?: string[]; errors?: unknown[] }>;
}

/** Statement reviews (rule action `review`); grants/reviews.ts implements it. */
export interface ReviewsPort {
  list(filter?: { status?: ReviewRecord['status'] }): Promise<ReviewRecord[]>;
  /** throws BRK_NOT_FOUND for an unknown id */
  get(id: string): Promise<ReviewRecord>;
  approve(identity: Identity, id: string, comment?: string): Promise<ReviewRecord>;
  deny(identity: Identity, id: string, comment?: string): Promise<ReviewRecord>;
}

/** `GET /v1/info`: where clients connect and which targets exist, so the CLI can print connect lines. */
export interface BrokerInfo {
  listen: { postgres?: string; mysql?: string };
  targets: Record<string, { protocol: 'postgres' | 'mysql'; databases: string[] }>;
}

/**
 * Where admin actions are recorded; the audit module's AuditSink fits. Declared here because admin does
 * not depend on audit (ARCHITECTURE.md), it only hands it `admin.*` events.
 */
export interface AdminAuditPort {
  record(event: { type: `admin.${string}`; actor: string; [k: string]: unknown }): unknown;
}
