// Reads the summary pgbench prints at the end of a run (TPS, average latency, transaction counts).

export interface PgbenchSummary {
  /** transactions per second, connection set-up excluded */
  tps: number;
  /** average latency in milliseconds */
  latencyMs: number;
  transactions: number;
  failed: number;
}

/**
 * pgbench 14+ prints "tps = N (without initial connection time)"; older versions print the pair
 * "(including connections establishing)" / "(excluding connections establishing)". The excluding figure
 * is the one wanted either way: the broker's login (SCRAM) would otherwise be charged to every run.
 */
export function parsePgbenchOutput(text: string): PgbenchSummary {
  const tps =
    matchNumber(text, /^tps = ([\d.]+) \(without initial connection time\)/m) ??
    matchNumber(text, /^tps = ([\d.]+) \(excluding connections establishing\)/m) ??
    matchNumber(text, /^tps = ([\d.]+)/m);
  const latencyMs = matchNumber(text, /^latency average = ([\d.]+) ms/m);
  const transactions = matchNumber(text, /^number of transactions actually processed: (\d+)/m);
  if (tps === undefined || latencyMs === undefined || transactions === undefined) {
    throw new Error(`pgbench output has no summary:\n${text.trim().split('\n').slice(-8).join('\n')}`);
  }
  const failed = matchNumber(text, /^number of failed transactions: (\d+)/m) ?? 0;
  return { tps, latencyMs, transactions, failed };
}

function matchNumber(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}
