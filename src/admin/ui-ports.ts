// What the console's API routes are given: the audit trail (read, verify), targets with their policies, OIDC sign-in settings.
import type { PolicyConfig } from '../config/schema.js';

export interface AuditQueryInput {
  identity?: string;
  grant?: string;
  type?: string;
  action?: string;
  rule?: string;
  since?: number;
  until?: number;
  limit?: number;
}

/** main wires it to audit/trail-query.ts and audit/verify.ts (admin does not import audit code). */
export interface AuditTrailPort {
  query(q: AuditQueryInput): { events: Record<string, unknown>[]; truncated: boolean };
  /** `dbwarden audit verify` of the configured file and its rotated predecessors */
  verify(): { ok: boolean; count: number; firstBrokenLine?: number; firstBrokenSeq?: number; firstBrokenFile?: string; reason?: string; lastHash?: string; files?: string[] };
}

/** Structurally the config's targets and access policies; declared here so admin needs config's types only. */
export interface TargetCatalog {
  targets: Record<string, { protocol: 'postgres' | 'mysql'; databases: string[]; rulesets: string[]; roles: Partial<Record<'read' | 'write' | 'admin', unknown>> }>;
  policies: readonly PolicyConfig[];
}

/** The rule sets as loaded, for the read-only Rules screen. */
export interface RuleSetsPort {
  list(): { name: string; description?: string; file?: string; rules: unknown[] }[];
}

/** Public OIDC settings for the console's authorization-code + PKCE sign-in (no secrets: a public client). */
export interface ConsoleOidc {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  clientId: string;
  scopes: string[];
  /** which token of the token response the console sends as its bearer token */
  useToken: 'id_token' | 'access_token';
}
