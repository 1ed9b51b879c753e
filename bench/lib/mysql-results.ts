// Shapes of the MySQL benchmark's measurements: sysbench cells per path, rule checks of its statements, the report.
import type { Cell } from './results.js';

/** relay = the bare Node `net` pipe (bench/lib/bare-relay.mjs): the floor of any Node proxy */
export const MYSQL_PATHS = ['direct', 'relay', 'dbwarden'] as const;
export type MysqlPathName = (typeof MYSQL_PATHS)[number];

export const SYSBENCH_TESTS = ['oltp_point_select', 'oltp_read_only'] as const;
export type SysbenchTest = (typeof SYSBENCH_TESTS)[number];

/** sysbench --db-ps-mode: auto = server-side prepared statements (COM_STMT_PREPARE/EXECUTE), disable = COM_QUERY text */
export const PS_MODES = ['auto', 'disable'] as const;
export type PsMode = (typeof PS_MODES)[number];

export interface SysbenchRun {
  tps: number;
  qps: number;
  latencyMs: number;
  /** CPU time the broker process used per statement (µs); absent for the direct path */
  proxyCpuUsPerQuery?: number;
  /** dbwarden only: statement events the audit trail gained during the run, and the statements sysbench reported */
  audited?: number;
  sent?: number;
}

export interface SysbenchRow {
  test: SysbenchTest;
  psMode: PsMode;
  threads: number;
  cells: Partial<Record<MysqlPathName, Cell<SysbenchRun>>>;
}

/** The broker's decisions for one statement shape sysbench sends, from POST /v1/rules/check. */
export interface StatementCheck {
  /** the statement as sysbench prepares it (with ? placeholders) */
  sql: string;
  /** decision for the text sysbench sends with --db-ps-mode=disable (placeholders filled in) */
  textAction: string;
  /** decision for the COM_STMT_PREPARE text (--db-ps-mode=auto) */
  preparedAction: string;
  /** matched rule ids with their actions, both forms together */
  rules: string[];
}

export interface MysqlBenchReport {
  /** label → value, e.g. "machine" → "nproc 2, …" */
  facts: [string, string][];
  rows: SysbenchRow[];
  checks: StatementCheck[];
  notes: string[];
}
