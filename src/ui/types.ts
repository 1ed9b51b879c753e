// Shapes of the admin API answers the console reads (as routes.ts and the services return them).

export interface Me { name: string; groups: string[] }
export interface Info { listen: { postgres?: string; mysql?: string }; targets: Record<string, { protocol: 'postgres' | 'mysql'; databases: string[] }> }
export interface RequestableAccess { access: 'read' | 'write' | 'admin'; policy: string; maxTtl: string; approvals: number; approvers: string[]; databases: string[] }
export interface Target { name: string; protocol: 'postgres' | 'mysql'; databases: string[]; rulesets: string[]; access: RequestableAccess[] }
export interface AccessRequest {
  id: string; requester: string; target: string; access: string; databases: string[]; ttlMs: number; reason: string; status: string;
  policy: string; approvalsRequired: number; approvers: string[]; approvals: { by: string; at: string; decision: string; comment?: string }[];
  createdAt: string; grantId?: string; credentialsIssued: boolean;
}
export interface Credentials { grantId: string; login: string; password: string; expiresAt: string; target?: string; databases?: string[] }
export interface Grant { id: string; requestId: string; identity: string; target: string; access: string; databases: string[]; login: string; activatedAt: string; expiresAt: string; status: string }
export interface SessionInfo { id: string; grantId: string; identity: string; login?: string; target: string; database: string; protocol: string; client: string; startedAt: string; expiresAt?: string; instance: string; statements?: number }
export interface DryRun { at: string; changes?: { command: string; rows: number }[]; rows?: number; skipped?: string; error?: string }
export interface Review { id: string; grantId: string; identity: string; target: string; text: string; ruleIds: string[]; status: string; createdAt: string; session?: string; database?: string; dryRun?: DryRun }

/** What a review's dry run found (same words as the CLI's `dbwarden reviews`). */
export function dryRunText(r: Review): string {
  const d = r.dryRun;
  if (!d) return 'Dry run: not done yet (refreshes on its own).';
  if (d.error !== undefined) return `Dry run: would fail: ${d.error}`;
  if (d.skipped !== undefined) return `Not dry-run: ${d.skipped}.`;
  const rows = d.rows ?? 0;
  const parts = (d.changes ?? []).map((c) => `${c.command} ${c.rows.toLocaleString('en-US')}`).join(', ');
  return `Dry run: would change ${rows.toLocaleString('en-US')} row${rows === 1 ? '' : 's'}${parts ? ` (${parts})` : ''}; rolled back, nothing kept.`;
}
export interface Decision { action: string; rules: { id: string; action: string; message?: string; ruleset?: string }[]; statements: Record<string, unknown>[] }
export interface VerifyResult { ok: boolean; count: number; firstBrokenLine?: number; firstBrokenSeq?: number; firstBrokenFile?: string; reason?: string }
export interface Stats { from: string; to: string; bucketMs: number; buckets: string[]; statements: Record<string, number[]>; topRules: { rule: string; count: number }[]; activeGrants: number[]; partial: boolean }
export interface RuleSetView { name: string; description?: string; rules: { id: string; description?: string; action: string; message: string; when: unknown; unless?: unknown; mask?: string }[] }

/** "*", the identity's name or "group:<g>" of one of its groups (grants/policy.ts matchesPrincipal). */
export function matchesPrincipal(patterns: string[], me: Me): boolean {
  return patterns.some((p) => p === '*' || p === me.name || (p.startsWith('group:') && me.groups.includes(p.slice(6))));
}
