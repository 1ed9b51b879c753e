// Graceful drain at shutdown: end every session with the protocol's "shutting down" error and wait until each has ended (and been audited).
import type { Logger } from '../log.js';
import type { SessionRegistry } from './registry.js';

export interface DrainOptions {
  /** sessions inside a transaction get this long to finish it before they are ended; 0 ends them at once */
  graceMs: number;
  /** after being told to end, how long a session may take to close its sockets before it is ended by force */
  closeTimeoutMs?: number;
  logger: Logger;
  /** poll interval while waiting */
  tickMs?: number;
}

export interface DrainResult {
  /** sessions that were live when the drain began */
  sessions: number;
  /** sessions that finished their transaction during the grace period */
  finishedTransactions: number;
  /** sessions whose sockets did not close in time; their end was recorded without waiting */
  forced: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends every live session of this instance for a shutdown. Sessions idle outside a transaction are told at
 * once (PostgreSQL FATAL 57P01, MySQL ERR 1927); sessions inside one get up to `graceMs` to commit or roll back
 * and are told as soon as they leave it. Resolves once every session has ended, so each `session.ended`
 * event is in the audit before the audit file is closed (a session ended after that would be lost).
 */
export async function drainSessions(registry: SessionRegistry, opts: DrainOptions): Promise<DrainResult> {
  const tick = opts.tickMs ?? 50;
  const started = [...registry.all()];
  const result: DrainResult = { sessions: started.length, finishedTransactions: 0, forced: 0 };
  if (started.length === 0) return result;
  opts.logger.info({ sessions: started.length, graceMs: opts.graceMs }, 'draining sessions');

  const graceEnd = Date.now() + opts.graceMs;
  const waited = new Set<string>();
  const told = new Set<string>();
  for (;;) {
    let inTransaction = 0;
    for (const s of registry.all()) {
      if (told.has(s.id)) continue;
      if (s.inTransaction && Date.now() < graceEnd) {
        inTransaction++;
        waited.add(s.id);
        continue;
      }
      if (!s.inTransaction && waited.has(s.id)) result.finishedTransactions++;
      told.add(s.id);
      s.terminate('shutdown');
    }
    if (inTransaction === 0) break;
    await sleep(tick);
  }

  const closeBy = Date.now() + (opts.closeTimeoutMs ?? 5_000);
  while (registry.size > 0 && Date.now() < closeBy) await sleep(tick);
  for (const s of [...registry.all()]) {
    // the client or the upstream never closed: record the end now rather than lose it
    result.forced++;
    s.end('shutdown');
  }
  opts.logger.info({ ...result }, 'sessions drained');
  return result;
}
