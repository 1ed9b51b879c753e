// The console's pictures from audit events the broker already keeps: statements per minute by action, top rules, active grants over time.

export interface ConsoleStats {
  from: string;
  to: string;
  bucketMs: number;
  /** bucket start times (ISO), oldest first */
  buckets: string[];
  /** action → statements per bucket */
  statements: Record<string, number[]>;
  /** rule id → matches in the window, most first (at most 10) */
  topRules: { rule: string; count: number }[];
  /** live grants at the end of each bucket */
  activeGrants: number[];
  /** true when the window held more events than were read */
  partial: boolean;
}

const ACTIONS = ['allow', 'warn', 'mask', 'review', 'block'];

/**
 * `events` are the window's statement and grant events (any order); `activeNow` is the live grant count now, from
 * which earlier counts follow by undoing the activations and endings after each instant.
 */
export function buildStats(events: Record<string, unknown>[], opts: { now: number; minutes: number; activeNow: number; partial: boolean }): ConsoleStats {
  const bucketMs = 60_000;
  const end = Math.ceil(opts.now / bucketMs) * bucketMs;
  const start = end - opts.minutes * bucketMs;
  const n = opts.minutes;
  const statements: Record<string, number[]> = Object.fromEntries(ACTIONS.map((a) => [a, new Array<number>(n).fill(0)]));
  const rules = new Map<string, number>();
  const grantDelta: { t: number; d: number }[] = [];
  for (const e of events) {
    const t = Date.parse(String(e.ts ?? ''));
    if (Number.isNaN(t) || t < start || t >= end) continue;
    const i = Math.floor((t - start) / bucketMs);
    if (e.type === 'statement') {
      const action = String(e.action ?? 'allow');
      (statements[action] ??= new Array<number>(n).fill(0))[i]! += 1;
      if (Array.isArray(e.rules)) for (const r of e.rules) rules.set(String(r), (rules.get(String(r)) ?? 0) + 1);
    } else if (e.type === 'grant.activated') {
      grantDelta.push({ t, d: 1 });
    } else if (e.type === 'grant.revoked' || e.type === 'grant.expired') {
      grantDelta.push({ t, d: -1 });
    }
  }
  const activeGrants = Array.from({ length: n }, (_, i) => {
    const at = start + (i + 1) * bucketMs;
    let v = opts.activeNow;
    for (const g of grantDelta) if (g.t >= at) v -= g.d;
    return Math.max(0, v);
  });
  return {
    from: new Date(start).toISOString(),
    to: new Date(end).toISOString(),
    bucketMs,
    buckets: Array.from({ length: n }, (_, i) => new Date(start + i * bucketMs).toISOString()),
    statements,
    topRules: [...rules].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 10).map(([rule, count]) => ({ rule, count })),
    activeGrants,
    partial: opts.partial,
  };
}
