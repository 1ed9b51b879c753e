// queryAuditTrail: reads the audit trail (current file and rotated ones) newest first with filters, for the console and API.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { trailFiles } from './trail-files.js';

export interface AuditQuery {
  /** matches `identity` or `actor` */
  identity?: string;
  /** matches `grant` or `grantId` */
  grant?: string;
  /** "statement", "grant" (= grant.*), "grant.revoked"; several separated by commas */
  type?: string;
  /** a statement's action (allow warn mask review block) */
  action?: string;
  /** a rule id among the event's `rules` */
  rule?: string;
  /** ISO time or epoch ms; inclusive */
  since?: number;
  /** ISO time or epoch ms; exclusive */
  until?: number;
  /** newest events returned at most (default 500) */
  limit?: number;
}

export interface AuditQueryResult {
  /** oldest first, the newest `limit` events that match */
  events: Record<string, unknown>[];
  /** true when more events matched than `limit` */
  truncated: boolean;
}

const CHUNK = 256 * 1024;
export const MAX_QUERY_LIMIT = 10_000;

/**
 * Yields a file's lines last to first, reading fixed chunks from the end, so "the newest N" costs what those N
 * lines weigh, not the whole trail.
 */
function* linesBackwards(path: string): Generator<string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return;
  }
  try {
    let pos = statSync(path).size;
    let tail = Buffer.alloc(0);
    const buf = Buffer.alloc(CHUNK);
    while (pos > 0) {
      const n = Math.min(CHUNK, pos);
      pos -= n;
      readSync(fd, buf, 0, n, pos);
      let data = Buffer.concat([buf.subarray(0, n), tail]);
      let nl: number;
      while ((nl = data.lastIndexOf(0x0a)) >= 0) {
        const line = data.subarray(nl + 1);
        if (line.length > 0) yield line.toString('utf8');
        data = data.subarray(0, nl);
      }
      tail = Buffer.from(data);
    }
    if (tail.length > 0) yield tail.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function typeMatches(type: string, wanted: string): boolean {
  return wanted.split(',').map((t) => t.trim()).filter(Boolean).some((t) => {
    const base = t.endsWith('.*') ? t.slice(0, -2) : t;
    return type === base || type.startsWith(`${base}.`);
  });
}

export function auditEventMatches(e: Record<string, unknown>, q: AuditQuery): boolean {
  if (q.type && !typeMatches(String(e.type ?? ''), q.type)) return false;
  if (q.identity && e.identity !== q.identity && e.actor !== q.identity) return false;
  if (q.grant && e.grant !== q.grant && e.grantId !== q.grant) return false;
  if (q.action && e.action !== q.action) return false;
  if (q.rule && !(Array.isArray(e.rules) && e.rules.includes(q.rule))) return false;
  if (q.since !== undefined || q.until !== undefined) {
    const t = Date.parse(String(e.ts ?? ''));
    if (Number.isNaN(t)) return false;
    if (q.since !== undefined && t < q.since) return false;
    if (q.until !== undefined && t >= q.until) return false;
  }
  return true;
}

/**
 * The newest `limit` events matching `q`, oldest first. Stops reading once it passes `since` (the trail is in
 * time order) or has `limit + 1` matches. Lines that are not JSON objects are skipped: `audit verify` reports them.
 */
export function queryAuditTrail(path: string, q: AuditQuery = {}): AuditQueryResult {
  const limit = Math.max(1, Math.min(q.limit ?? 500, MAX_QUERY_LIMIT));
  const found: Record<string, unknown>[] = [];
  const files = trailFiles(path).reverse();
  outer: for (const file of files) {
    for (const text of linesBackwards(file)) {
      let e: unknown;
      try {
        e = JSON.parse(text);
      } catch {
        continue;
      }
      if (e === null || typeof e !== 'object' || Array.isArray(e)) continue;
      const ev = e as Record<string, unknown>;
      if (q.since !== undefined) {
        const t = Date.parse(String(ev.ts ?? ''));
        if (!Number.isNaN(t) && t < q.since) break outer;
      }
      if (!auditEventMatches(ev, q)) continue;
      found.push(ev);
      if (found.length > limit) break outer;
    }
  }
  const truncated = found.length > limit;
  return { events: found.slice(0, limit).reverse(), truncated };
}
