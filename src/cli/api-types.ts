// The admin API's JSON objects as the CLI reads them (only the fields it prints; the rest passes through --json).

export interface ApiRequest {
  id: string;
  requester: string;
  target: string;
  access: string;
  databases: string[];
  ttlMs: number;
  reason: string;
  status: string;
  approvalsRequired: number;
  approvals: { by: string; decision: string; comment?: string }[];
  createdAt: string;
  grantId?: string;
}

export interface ApiGrant {
  id: string;
  identity: string;
  target: string;
  access: string;
  databases: string[];
  login: string;
  activatedAt: string;
  expiresAt: string;
  status: string;
  /** when a revoked or expired grant ended */
  endedAt?: string;
}

/** The once-only answer carrying a password: `grant` of an auto-approved request, or the credentials call. */
export interface ApiCredentials {
  grantId: string;
  login: string;
  password: string;
  expiresAt: string;
  target?: string;
  access?: string;
  databases?: string[];
}

export interface ApiSession {
  id: string;
  grantId: string;
  identity: string;
  login?: string;
  target: string;
  database: string;
  protocol: string;
  client: string;
  startedAt: string;
  expiresAt?: string;
  instance: string;
}

export interface ApiReview {
  id: string;
  grantId: string;
  identity: string;
  target: string;
  text: string;
  ruleIds: string[];
  status: string;
  createdAt: string;
  database?: string;
  /** what the statement would change (grants/model.ts DryRunResult) */
  dryRun?: { at: string; changes?: { command: string; rows: number }[]; rows?: number; skipped?: string; error?: string };
}

export interface ApiInfo {
  listen: { postgres?: string; mysql?: string };
  targets: Record<string, { protocol: 'postgres' | 'mysql'; databases: string[] }>;
}

/** `GET /v1/targets`: what the caller may request */
export type ApiTargets = {
  name: string;
  protocol: 'postgres' | 'mysql';
  databases: string[];
  access: { access: string; policy: string; databases: string[]; maxTtl: string; approvals: number }[];
}[];
