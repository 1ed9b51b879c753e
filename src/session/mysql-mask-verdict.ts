// The core's final mask-or-block verdict for MySQL/MariaDB texts: what the MySQL relay used to judge again by
// its own rules. A statement that reads masked columns and sends values where the row masker cannot follow
// (a table, a file, a user variable, a statement prepared or run later) is refused as `block` by the mask
// rule that refused it; statistics tables (samples of column contents) are refused while masks apply.
import type { ColumnMask } from '../rules/mask.js';
import type { Decision, RuleMatch } from '../rules/types.js';
import type { StatementFacts } from '../sql/facts.js';
import { MASK_OR_BLOCK_SUFFIX } from './mask-plan.js';

const EXPORTING_KINDS = new Set<string>(['copy', 'prepare', 'execute', 'set', 'load', 'call', 'do', 'insert', 'merge', 'create', 'alter']);
const EXPORTING_EFFECTS = new Set<string>(['write', 'ddl', 'file', 'session', 'dynamic']);
/** MariaDB engine-independent statistics and InnoDB persistent statistics: values sampled from columns. */
const STATISTICS_TABLES = new Set(['column_stats', 'table_stats', 'index_stats', 'innodb_table_stats', 'innodb_index_stats']);

export function mysqlMaskVerdict(text: string, d: Decision, masks: readonly ColumnMask[]): Decision {
  if (!masks.length || d.action === 'block' || d.action === 'review') return d;
  const stats = d.statements.flatMap((st) => st.tables).find((t) => {
    const parts = t.name.replace(/`/g, '').toLowerCase().split('.');
    return parts.length === 2 && parts[0] === 'mysql' && STATISTICS_TABLES.has(parts[1]!);
  });
  if (stats) return refuse(d, masks[0]!, 'statistics tables cannot be read while columns are masked');
  if (d.action !== 'mask') {
    // an UPDATE/DELETE copying from a derived table: the copied value's origin is not a table the facts name,
    // so it cannot be told clean (`UPDATE a JOIN (SELECT email AS e …) b SET a.x = b.e`)
    const untraced = d.statements.find((st) => st.kind === 'update' && (st.copies ?? []).some((c) => !fromNamedTable(c, st)));
    return untraced ? refuse(d, masks[0]!, MASK_OR_BLOCK_SUFFIX) : d;
  }
  const reading = new Set(d.rules.filter((r) => r.action === 'mask').map((r) => r.statement));
  const exporting = d.statements.findIndex((st, i) => reading.has(i) && exportsValues(st, text));
  if (exporting < 0) return d;
  const rule = d.rules.find((r) => r.action === 'mask' && r.statement === exporting) ?? d.rules.find((r) => r.action === 'mask')!;
  const mask = masks.find((m) => m.ruleId === rule.id) ?? masks[0]!;
  return refuse(d, mask, MASK_OR_BLOCK_SUFFIX, rule.message);
}

/** `t.col` / `db.t.col` whose qualifier is a table the statement names (not a derived table's alias). */
function fromNamedTable(col: string, st: StatementFacts): boolean {
  const parts = col.replace(/`/g, '').toLowerCase().split('.');
  if (parts.length < 2) return st.tables.length === 1;
  const table = parts[parts.length - 2]!;
  return st.tables.some((t) => t.name.replace(/`/g, '').toLowerCase().split('.').pop() === table);
}

function exportsValues(st: StatementFacts, text: string): boolean {
  if (EXPORTING_KINDS.has(st.kind)) return true;
  // UPDATE/DELETE read masked columns in WHERE, which may run; an UPDATE whose SET copies columns of a statement
  // that reads masked ones could store a masked value where it is readable unmasked: refused (fail closed)
  if (st.kind === 'update') return (st.copies?.length ?? 0) > 0;
  if (st.kind === 'delete') return false;
  // `SELECT @v := email …` keeps the value in a variable a later `SELECT @v` returns without an origin
  if ((st.text ?? text).includes(':=')) return true;
  // a SELECT's write effect is its row lock (FOR UPDATE): the values still leave through the result
  return st.effects.some((e) => EXPORTING_EFFECTS.has(e) && !(e === 'write' && st.kind === 'select'));
}

function refuse(d: Decision, m: ColumnMask, suffix: string, message = m.message ?? 'masked columns'): Decision {
  const first: RuleMatch = { id: m.ruleId, ruleset: m.ruleset ?? '', action: 'block', message: `${message} — ${suffix}`, mask: m.mask, columns: m.columns, statement: 0 };
  const seen = new Set([first.id]);
  return { ...d, action: 'block', rules: [first, ...d.rules.filter((r) => !seen.has(r.id) && (seen.add(r.id), true))] };
}
