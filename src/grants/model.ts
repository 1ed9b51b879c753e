// Access requests, grants and reviews as stored; the GrantStore interface both stores implement.
import type { AccessLevel } from '../rules/types.js';

export interface Identity {
  name: string;
  groups: string[];
}

export type RequestStatus = 'pending' | 'active' | 'denied' | 'expired' | 'revoked';

export interface Approval {
  by: string;
  at: string;
  decision: 'approve' | 'deny';
  comment?: string;
}

export interface AccessRequest {
  id: string;
  requester: string;
  requesterGroups: string[];
  target: string;
  access: AccessLevel;
  databases: string[];
  ttlMs: number;
  reason: string;
  status: RequestStatus;
  policy: string;
  approvalsRequired: number;
  approvers: string[];
  approvals: Approval[];
  createdAt: string;
  decidedAt?: string;
  grantId?: string;
  /** true once the password was shown; a second credentials call gets 410 */
  credentialsIssued: boolean;
  alert: boolean;
}

/**
 * Password verifiers: the only form in which a grant's password is kept. Defends against a stolen
 * store yielding usable passwords: none of these is the password, and the SCRAM verifier is salted.
 */
export interface Verifiers {
  /** RFC 5803 form: SCRAM-SHA-256$<iterations>:<salt b64>$<StoredKey b64>:<ServerKey b64> */
  scramSha256: string;
  /** hex SHA1(SHA1(password)) for mysql_native_password */
  mysqlNative: string;
  /** hex SHA256(SHA256(password)) for caching_sha2_password */
  cachingSha2: string;
}

export type GrantStatus = 'active' | 'expired' | 'revoked';

export interface Grant {
  id: string;
  requestId: string;
  identity: string;
  groups: string[];
  target: string;
  access: AccessLevel;
  databases: string[];
  login: string;
  /** absent until the password has been issued (approval flow issues it on the credentials call) */
  verifiers?: Verifiers;
  activatedAt: string;
  expiresAt: string;
  status: GrantStatus;
  endedAt?: string;
  endedBy?: string;
}

export interface ReviewRecord {
  id: string;
  grantId: string;
  identity: string;
  target: string;
  text: string;
  ruleIds: string[];
  status: 'pending' | 'approved' | 'denied' | 'used' | 'expired';
  createdAt: string;
  decidedAt?: string;
  decidedBy?: string;
  /** an approved review lets the statement pass once until this instant */
  validUntil?: string;
  /** the session whose statement was held */
  session?: string;
  /** when the approved statement ran (status `used`) */
  usedAt?: string;
  /** the approver's or denier's comment */
  comment?: string;
  /** the database the session was using when its statement was held */
  database?: string;
  /** what the statement would change, from a run the broker rolled back (absent while it runs or when off) */
  dryRun?: DryRunResult;
}

/**
 * A review's dry run: the held statement run by the broker inside a transaction it rolls back, so the approver
 * sees how many rows it would change before deciding. Exactly one of `changes`, `skipped`, `error` is set.
 */
export interface DryRunResult {
  at: string;
  /** per write in the text, in order: its command and the server's row count */
  changes?: { command: string; rows: number }[];
  /** total rows over `changes` */
  rows?: number;
  /** why the broker did not run it (a rollback could not undo everything it would do) */
  skipped?: string;
  /** the server's error (the statement would fail as it stands) */
  error?: string;
}

/** Where requests, grants and reviews live. Two implementations: embedded (SQLite file) and redis. */
export interface GrantStore {
  readonly kind: 'embedded' | 'redis';
  putRequest(r: AccessRequest): Promise<void>;
  getRequest(id: string): Promise<AccessRequest | undefined>;
  listRequests(filter?: { status?: RequestStatus; requester?: string }): Promise<AccessRequest[]>;
  putGrant(g: Grant): Promise<void>;
  getGrant(id: string): Promise<Grant | undefined>;
  getGrantByLogin(login: string): Promise<Grant | undefined>;
  listGrants(filter?: { status?: GrantStatus }): Promise<Grant[]>;
  putReview(r: ReviewRecord): Promise<void>;
  getReview(id: string): Promise<ReviewRecord | undefined>;
  listReviews(filter?: { status?: ReviewRecord['status'] }): Promise<ReviewRecord[]>;
  /** true when the store can take writes (Redis reachable); shown in /readyz */
  ready(): boolean;
  /** why the store is not ready, for /readyz (absent: nothing more to say) */
  unavailableReason?(): string;
  /** present when the store is shared by several instances: revoke, kill and session listings travel on it */
  cluster?: ClusterBus;
  /**
   * Waits (bounded) until the writes made so far are on a replica, where the store replicates asynchronously and
   * fails over on its own (Redis Sentinel). Called after a grant's end is stored, so that a failover just after a
   * revoke cannot bring the grant back. Absent: nothing to wait for.
   */
  waitReplicated?(): Promise<void>;
  close(): Promise<void>;
}

/** A live session as another instance sees it; the session module owns the full shape. */
export interface LiveSessionRecord {
  id: string;
  instance: string;
  [k: string]: unknown;
}

/** The fan-out message that says a grant ended ({ type, grantId, reason }); the shared store listens for it too. */
export const GRANT_ENDED_MESSAGE = 'grant.ended';
export type GrantEndedMessage = typeof GRANT_ENDED_MESSAGE;

/** What the session fan-out needs from a shared store (grants/redis-store.ts provides it). */
export interface ClusterBus {
  publish(message: Record<string, unknown>): Promise<void>;
  subscribe(handler: (message: Record<string, unknown>) => void): Promise<void>;
  putLiveSession(record: LiveSessionRecord, ttlMs: number): Promise<void>;
  removeLiveSession(instance: string, id: string): Promise<void>;
  replaceLiveSessions(instance: string, records: LiveSessionRecord[], ttlMs: number): Promise<void>;
  listLiveSessions(): Promise<LiveSessionRecord[]>;
  dropInstance(instance: string): Promise<void>;
}
