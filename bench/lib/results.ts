// Shapes of the benchmark's measurements: pgbench cells per path, throughput timings, proxy memory samples.

/** relay = the bare Node `net` pipe (bench/lib/bare-relay.mjs): the floor of any Node proxy */
export const PATHS = ['direct', 'relay', 'dbwarden', 'pgbouncer'] as const;
export type PathName = (typeof PATHS)[number];

export interface PgbenchRun {
  tps: number;
  latencyMs: number;
  /** CPU time the proxy process used per transaction (µs); absent for the direct path */
  proxyCpuUs?: number;
  /** dbwarden only: statement events the audit trail gained during the run, and the statements pgbench sent */
  audited?: number;
  sent?: number;
}

export interface Cell<T> {
  runs: T[];
  /** why a run of this path failed; the path then shows n/a for the row */
  error?: string;
}

export interface PgbenchRow {
  /** connect = `-M simple -C`: a new connection (login through the proxy) for every transaction */
  mode: 'simple' | 'extended' | 'prepared' | 'connect';
  clients: number;
  jobs: number;
  cells: Partial<Record<PathName, Cell<PgbenchRun>>>;
}

export interface ThroughputRow {
  /** the statement as run, e.g. COPY big TO STDOUT */
  test: string;
  rows: number;
  /** size of the text output, for MB/s */
  bytes: number;
  /** seconds per round */
  cells: Partial<Record<PathName, Cell<number>>>;
}

export interface RssRow {
  test: string;
  process: 'dbwarden' | 'pgbouncer' | 'relay';
  /** RSS right before the first round started */
  beforeKb?: number;
  /** highest RSS seen during any round */
  peakKb?: number;
}

export interface BenchReport {
  /** label → value, e.g. "nproc" → "2" */
  facts: [string, string][];
  pgbench: PgbenchRow[];
  throughput: ThroughputRow[];
  rss: RssRow[];
  notes: string[];
}
