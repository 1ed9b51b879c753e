// Audit event shapes (docs/audit.md describes them). The writer adds seq, ts, prev and hash.

export type AuditEvent =
  | { type: `grant.${'requested' | 'approved' | 'denied' | 'activated' | 'extended' | 'revoked' | 'expired'}`; actor?: string; requestId?: string; grantId?: string; identity?: string; target?: string; access?: string; reason?: string; expiresAt?: string; [k: string]: unknown }
  | { type: 'session.started'; session: string; grant: string; identity: string; target: string; database: string; protocol: string; client: string }
  | { type: 'session.ended'; session: string; grant: string; identity: string; reason: string; duration_ms: number }
  | { type: 'statement'; session: string; grant: string; identity: string; target: string; database: string; text: string; kind: string; action: string; rules: string[]; duration_ms?: number; rows?: number; review?: string; approvedBy?: string; outcome?: 'forwarded' | 'refused' | 'server_error'; error?: string; refusedBy?: string; wouldChange?: number; limit?: number }
  | { type: `review.${'requested' | 'approved' | 'denied'}`; review: string; grant?: string; actor?: string; [k: string]: unknown }
  | { type: 'auth.failed'; protocol: string; login: string; client: string; reason: string }
  | { type: `admin.${string}`; actor: string; [k: string]: unknown }
  /** retention (audit.keep) deleted rotated files; the kept chain starts at keptFromSeq, whose prev is keptFromPrev */
  | { type: 'audit.pruned'; files: string[]; keptFromSeq: number; keptFromPrev: string };

/** Anything that records audit events. Implementations must not lose an event they returned from. */
export interface AuditSink {
  record(event: AuditEvent): void;
  /** The form of a client statement's text to record (audit.statementText: full or normalized); absent = as sent. */
  statementText?(text: string, dialect: 'postgres' | 'mysql'): string;
  /** False while events cannot be written (disk full, I/O error): sessions then refuse statements. Absent = always. */
  writable?(): boolean;
  /** Writes events whose writing was deferred (statement completions) now: called before a result reaches a client. */
  flush?(): void;
  /**
   * Runs `then` once every event recorded so far is written: at the end of this event-loop turn when a batched
   * write is due then (one write for the lines of every session that turn), at once otherwise. Absent = flush(),
   * then `then`.
   */
  whenWritten?(then: () => void): void;
  close(): Promise<void>;
}
