// The shape of a guardrail-bypass case, shared by the PostgreSQL table (postgres-cases.ts) and the MySQL one to come.
import type { AccessLevel, Action } from '../../src/rules/types.js';

/**
 * How the real server demonstrates what a blocked statement does. The statement runs as superuser on the scratch
 * database, inside a transaction that is rolled back unless `txn: false`.
 */
export type Proof =
  /** table rows (and row versions, row locks, sequences, large objects) differ afterwards */
  | { kind: 'data' }
  /** the catalog differs: relations, columns, storage files, functions, triggers, rules, comments, indexes */
  | { kind: 'schema' }
  /** roles, memberships, ACLs or default privileges differ */
  | { kind: 'privileges' }
  /** the value of this SQL expression differs before and after (a setting, current_user, a catalog count) */
  | { kind: 'changes'; expr: string }
  /** the statement's own result contains text matching this (e.g. the content of a server file) */
  | { kind: 'returns'; match: RegExp }
  /** after the statement, this query answers true */
  | { kind: 'then'; check: string; cleanup?: string }
  /** a second connection (application_name dbw_bypass_victim) is terminated, or its running query cancelled */
  | { kind: 'victim'; effect: 'terminated' | 'cancelled' }
  /** a connection LISTENing on this channel receives a notification */
  | { kind: 'notify'; channel: string };

export interface BypassCase {
  /** the exact client text */
  sql: string;
  /** the grant's access level the decision is made under */
  access: AccessLevel;
  /** the broker's decision: allow/warn/mask must be valid SQL that runs; block must be proven harmful */
  expect: Action;
  /** rule id that must decide a non-allow decision (the first of Decision.rules) */
  rule?: string;
  /** what the statement does on the server, in plain words: the proof below demonstrates it */
  does: string;
  /** required for `block` cases */
  proof?: Proof;
  /** cannot run inside a transaction block (VACUUM, ALTER SYSTEM, …) or commits on its own (dblink): the fixture is rebuilt after it */
  txn?: false;
  /**
   * A bypass the broker does not catch yet, with the reason. The case stays in the table (its proof still runs);
   * the decision test asserts the gap is still there, so fixing it fails the test until this marker is removed.
   */
  knownGap?: string;
  /**
   * Refused by a check of the protocol module rather than a rule (the rules let it through): names the check and
   * the integration test proving the refusal through a live broker.
   */
  refusedBy?: string;
}

/** Case ids are their position in the table: stable enough for messages, and nothing else depends on them. */
export function label(c: BypassCase, i: number): string {
  const sql = c.sql.replace(/\s+/g, ' ');
  return `#${i} [${c.access}] ${sql.length > 90 ? sql.slice(0, 87) + '…' : sql}`;
}
