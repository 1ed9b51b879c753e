// Blast-radius limits: which matched `maxRows`/`maxFraction` rules apply to a text's statements (rule data for the
// decision). The limit in force and the refusal text are the session's (session/row-limit.ts).
import type { StatementFacts } from '../sql/facts.js';
import type { Rule } from './rule-set.js';
import type { RowLimit } from './types.js';

// CALL: limited when the rule lists `call` (safe-defaults' max-rows does); the row guards count what it changed
const CHANGING = new Set<string>(['insert', 'update', 'delete', 'merge', 'call']);

/**
 * Adds a matched limit rule for statement `i` to `acc`. Only statements that change rows count: INSERT … VALUES
 * is left alone on PostgreSQL (its row count is written in the text; MySQL: see below), an INSERT that reads
 * tables (INSERT … SELECT) is limited.
 * A limited write nested inside another statement (a data-modifying CTE, EXPLAIN ANALYZE) has no count of its
 * own in the server's answer, so the text is marked uncountable and refused: defends against hiding a mass
 * DELETE behind a SELECT whose completion reports only the rows it returned.
 */
export function addRowLimit(acc: RowLimit | undefined, rule: Rule, statements: StatementFacts[], i: number, dialect?: string): RowLimit | undefined {
  if (rule.maxRows === undefined && rule.maxFraction === undefined) return acc;
  const st = statements[i]!;
  if (!CHANGING.has(st.kind)) return acc;
  // CALL runs a procedure whose writes have no count in its answer (PostgreSQL `CALL`; MySQL the last statement's
  // count only): it is wrapped like a write and the row guard counts what it changed (PostgreSQL: the per-transaction
  // table counters, pg/row-guard.ts; MySQL: the session's Handler counters, mysql/row-guard.ts). Defends against
  // `CREATE PROCEDURE wipe() … DELETE FROM t WHERE id > 0` then `CALL wipe()` removing every row past the limit.
  // INSERT … VALUES: its own rows are in the text, but a trigger on the table or a stored function in the VALUES
  // may write any number of other rows (INSERT INTO t VALUES (1) whose trigger deletes 5,000 rows): limited, and
  // the row guard forwards it untouched when the table has no triggers and it calls no function (valuesOnly)
  const values = st.kind === 'insert' && !st.tables.some((t) => t.op === 'read');
  // (MySQL's row guard looks triggers up; elsewhere INSERT … VALUES stays unlimited)
  // (a text of several statements keeps it unlimited: the guard holds one answer, not a multi-result text's)
  if (values && (dialect !== 'mysql' || st.multiStatement)) return acc;
  const light = values && !st.functions.length;
  const out: RowLimit = acc ?? { kind: st.kind.toUpperCase(), tables: [], limits: [], ...(light ? { valuesOnly: true } : {}) };
  if (acc && !light) delete out.valuesOnly;
  if (st.nested) {
    const top = statements.find((s) => s.index === st.index && !s.nested);
    // a PREPARE body, or a function or rule body being created, does not run here (its EXECUTE or call is decided on its own)
    if (top?.kind === 'prepare' || top?.kind === 'create' || top?.kind === 'alter') return acc;
    // an EXECUTE's answer carries the count of the statement it ran (MySQL OK packet, PostgreSQL command tag)
    if (top?.kind !== 'execute') out.uncountable ??= { rule: rule.id, why: `the ${st.kind.toUpperCase()} is inside another statement (${top?.kind.toUpperCase() ?? 'a nested statement'}), whose completion does not count the rows it changes` };
  }
  if (!out.limits.some((l) => l.rule === rule.id)) {
    const l: RowLimit['limits'][number] = { rule: rule.id };
    if (rule.maxRows !== undefined) l.maxRows = rule.maxRows;
    if (rule.maxFraction !== undefined) l.maxFraction = rule.maxFraction;
    out.limits.push(l);
  }
  for (const t of st.tables) if (t.op === 'write' && !out.tables.includes(t.name)) out.tables.push(t.name);
  return out;
}
