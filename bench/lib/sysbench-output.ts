// Reads the report sysbench 1.0 prints at the end of a run (TPS, QPS, latency) and the FATAL lines of a failed one.

export interface SysbenchSummary {
  /** transactions (sysbench "events") per second */
  tps: number;
  /** statements per second, BEGIN/COMMIT included */
  qps: number;
  transactions: number;
  queries: number;
  /** average latency of one transaction, milliseconds */
  latencyMs: number;
  /** the percentile sysbench was asked for (95th by default), milliseconds; undefined when it printed none */
  p95Ms?: number;
  ignoredErrors: number;
  reconnects: number;
  /** measured time in seconds ("total time") */
  seconds: number;
}

/**
 * The figures come from the "SQL statistics" and "Latency (ms)" blocks. "transactions" and "queries" carry
 * their rate in parentheses; for oltp_point_select both are the same (one statement per event).
 */
export function parseSysbenchOutput(text: string): SysbenchSummary {
  const tx = /^\s*transactions:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m.exec(text);
  const q = /^\s*queries:\s+(\d+)\s+\(([\d.]+) per sec\.\)/m.exec(text);
  const avg = num(text, /^\s*avg:\s+([\d.]+)/m);
  const seconds = num(text, /^\s*total time:\s+([\d.]+)s/m);
  if (!tx || !q || avg === undefined || seconds === undefined) {
    throw new Error(`sysbench output has no summary:\n${text.trim().split('\n').slice(-8).join('\n')}`);
  }
  return {
    tps: Number(tx[2]),
    qps: Number(q[2]),
    transactions: Number(tx[1]),
    queries: Number(q[1]),
    latencyMs: avg,
    p95Ms: num(text, /^\s*\d+(?:\.\d+)?th percentile:\s+([\d.]+)/m),
    ignoredErrors: num(text, /^\s*ignored errors:\s+(\d+)/m) ?? 0,
    reconnects: num(text, /^\s*reconnects:\s+(\d+)/m) ?? 0,
    seconds,
  };
}

export interface SysbenchFailure {
  /** one line for reports: the server's (or broker's) error and the statement it was answering */
  message: string;
  /** MySQL error number when sysbench printed one */
  errno?: number;
  /** the statement sysbench was running, when it printed it */
  query?: string;
}

/**
 * sysbench stops a thread at the first error not in --mysql-ignore-errors and prints, e.g.
 *   FATAL: mysql_drv_query() returned error 1227 (dbwarden: blocked by rule …) for query 'SELECT …'
 * or, for prepared statements, "FATAL: MySQL error: 1227 "…"" after "mysql_stmt_prepare() failed" (no statement text).
 * Undefined when the output holds no FATAL line.
 */
export function parseSysbenchFailure(text: string): SysbenchFailure | undefined {
  const fatal = text.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('FATAL:'));
  if (fatal.length === 0) return undefined;
  const drv = /returned error (\d+) \((.*)\) for query '(.*)'$/.exec(fatal.find((l) => / returned error \d+ /.test(l)) ?? '');
  if (drv) return { errno: Number(drv[1]), query: drv[3], message: `error ${drv[1]}: ${drv[2]} (statement: ${drv[3]})` };
  // Prepared statements fail in thread_init without naming the statement; connection errors read "error 1045: …".
  const my = /(?:MySQL error: (\d+) "(.*)"|^FATAL: error (\d+): (.*))$/.exec(fatal.find((l) => /MySQL error: \d+|^FATAL: error \d+:/.test(l)) ?? '');
  if (my) {
    const errno = Number(my[1] ?? my[3]);
    const what = fatal.find((l) => /unable to connect|_prepare\(\) failed/.test(l))?.slice('FATAL:'.length).trim();
    return { errno, message: `error ${errno}: ${my[2] ?? my[4]}${what ? ` (${what})` : ''}` };
  }
  // Not an SQL error (connection refused, bad option …): the first FATAL lines say what happened.
  return { message: fatal.slice(0, 3).map((l) => l.slice('FATAL:'.length).trim()).join(' / ') };
}

function num(text: string, re: RegExp): number | undefined {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
}
