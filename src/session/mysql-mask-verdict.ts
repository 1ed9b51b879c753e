// The core's final mask-or-block verdict for MySQL/MariaDB texts: what the MySQL relay used to judge again by
// its own rules. A statement that reads masked columns and sends values where the row masker cannot follow
// (a table, a file, a user variable, a statement prepared or run later) is refused as `block` by the mask
// rule that refused it; statistics tables (samples of column contents) and the optimizer trace (the optimizer's
// notes on earlier statements, values it read included) are refused while masks apply.
import type { ColumnMask } from '../rules/mask.js';
import type { Decision, RuleMatch } from '../rules/types.js';
import type { ReadOptions, StatementFacts } from '../sql/facts.js';
import { UNKNOWN_SOURCE, alterColumnMoves } from '../sql/mysql-lineage.js';
import { matchName } from '../rules/glob.js';
import { MASK_OR_BLOCK_SUFFIX } from './mask-plan.js';
import { mysqlMasksFor, type MysqlSchema } from './mysql-schema.js';

const EXPORTING_KINDS = new Set<string>(['copy', 'prepare', 'execute', 'set', 'load', 'call', 'do', 'insert', 'merge', 'create', 'alter']);
const EXPORTING_EFFECTS = new Set<string>(['write', 'ddl', 'file', 'session', 'dynamic']);
/** MariaDB engine-independent statistics and InnoDB persistent statistics: values sampled from columns. */
const STATISTICS_TABLES = new Set(['column_stats', 'table_stats', 'index_stats', 'innodb_table_stats', 'innodb_index_stats']);
/**
 * Server tables whose text holds values of earlier statements with no origin a result column can report:
 * information_schema.OPTIMIZER_TRACE records the plan of the session's last statement, and MariaDB reads a
 * const table's row while planning and writes its values into the trace (`… JOIN users u ON o.note = u.email
 * WHERE u.id = 1` traces `o.note = 'alice@…'`). Defends against reading a masked value back through the trace
 * after `SET optimizer_trace = 'enabled=on'` (or with the trace enabled globally).
 */
const TRACE_TABLES = new Set(['optimizer_trace']);

/** What the verdict may know beyond the text: the target's views and stored functions, the reading options. */
export interface MysqlLineageContext {
  /** null: the catalog could not be read (views and stored functions are then of unknown lineage) */
  schema: MysqlSchema | null;
  /** the session's login database (qualifies unqualified names for exact mask globs) */
  database?: string;
  opts?: ReadOptions;
}

export function mysqlMaskVerdict(text: string, d: Decision, masks: readonly ColumnMask[], ctx?: MysqlLineageContext): Decision {
  if (!masks.length || d.action === 'block' || d.action === 'review') return d;
  // DDL that renames a masked column makes its values readable under the new name (CHANGE, RENAME COLUMN)
  if (d.statements.some((st) => st.kind === 'alter')) {
    const moves = alterColumnMoves(text, ctx?.opts);
    if (moves === null) return refuse(d, masks[0]!, 'columns cannot be renamed while columns are masked');
    for (const m of moves) {
      const names = [`${m.table}.${m.column}`, ...(ctx?.database && !m.table.includes('.') ? [`${ctx.database}.${m.table}.${m.column}`] : [])];
      const hit = masks.find((k) => k.columns.some((p) => names.some((n) => matchName(p, n))));
      if (hit) return refuse(d, hit, 'masked columns cannot be renamed or redefined');
    }
  }
  // Security: a stored function whose body the broker cannot read (BEGIN … END) can print its argument in an error
  // or warning of its own (`SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = x`, with any errno and SQLSTATE it likes),
  // where no form tells the value apart: `SELECT check_it(email) FROM users` returned the email as the error text.
  // A statement reading masked columns, by name or through a view (or a relation the snapshot does not know), may
  // not call one (mask-or-block). Traced `RETURN <expr>` bodies cannot signal and stay allowed.
  if (ctx?.schema) {
    const schema = ctx.schema;
    const reading = new Set(d.action === 'mask' ? d.rules.filter((r) => r.action === 'mask').map((r) => d.statements[r.statement]?.index) : []);
    for (const st of d.statements) {
      const masked = st.tables.some((t) => (t.op === 'read' && schema.unknownRelation(t.name, ctx.database ?? null)) || schema.viewKeys(t.name).some((k) => {
        const cols = schema.viewSources(k);
        return !cols || [...cols.values()].some((src) => mysqlMasksFor(src, masks).rules.length > 0);
      }));
      if (masked) reading.add(st.index);
    }
    const opaque = d.statements.filter((st) => reading.has(st.index)).flatMap((st) => st.functions).find((f) => schema.callSources(f, ctx.database ?? null).has(UNKNOWN_SOURCE));
    if (opaque) {
      const rule = d.rules.find((r) => r.action === 'mask');
      const mask = masks.find((m) => m.ruleId === rule?.id) ?? masks[0]!;
      return refuse(d, mask, `a statement reading masked columns cannot call ${opaque}, whose body cannot be traced (its errors and warnings may print the values)`, rule?.message);
    }
  }
  if (ctx) d = throughViewsAndFunctions(d, masks, ctx);
  // an unqualified name counts too: the session may have made `mysql` or `information_schema` its default
  // database with USE, which the facts do not follow (a user table of the same name is refused as well)
  const named = (set: ReadonlySet<string>, schema: string) => d.statements.flatMap((st) => st.tables).some((t) => {
    const parts = t.name.replace(/`/g, '').toLowerCase().split('.');
    return set.has(parts[parts.length - 1]!) && (parts.length === 1 || (parts.length === 2 && parts[0] === schema));
  });
  if (named(STATISTICS_TABLES, 'mysql')) return refuse(d, masks[0]!, 'statistics tables cannot be read while columns are masked');
  if (named(TRACE_TABLES, 'information_schema')) return refuse(d, masks[0]!, 'the optimizer trace cannot be read while columns are masked (it records values the optimizer read)');
  if (d.action !== 'mask') {
    // an UPDATE/DELETE copying from a derived table: the copied value's origin is not a table the facts name,
    // so it cannot be told clean (`UPDATE a JOIN (SELECT email AS e …) b SET a.x = b.e`)
    const untraced = d.statements.find((st) => st.kind === 'update' && (st.copies ?? []).some((c) => !fromNamedTable(c, st)));
    return untraced ? refuse(d, masks[0]!, MASK_OR_BLOCK_SUFFIX) : d;
  }
  const reading = new Set(d.rules.filter((r) => r.action === 'mask').map((r) => r.statement));
  const exporting = d.statements.findIndex((st, i) => reading.has(i) && exportsValues(st, d.statements));
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

function exportsValues(st: StatementFacts, all: readonly StatementFacts[]): boolean {
  if (EXPORTING_KINDS.has(st.kind)) return true;
  // UPDATE/DELETE read masked columns in WHERE, which may run; an UPDATE whose SET copies columns of a statement
  // that reads masked ones could store a masked value where it is readable unmasked: refused (fail closed)
  if (st.kind === 'update') return (st.copies?.length ?? 0) > 0;
  if (st.kind === 'delete') return false;
  // `SELECT @v := email …` keeps the value in a variable a later `SELECT @v` returns without an origin
  // (the facts of its top-level statement say so, nested statements included)
  if (all.some((f) => f.index === st.index && f.assignsVariable)) return true;
  // a SELECT's write effect is its row lock (FOR UPDATE): the values still leave through the result
  return st.effects.some((e) => EXPORTING_EFFECTS.has(e) && !(e === 'write' && st.kind === 'select'));
}

function refuse(d: Decision, m: ColumnMask, suffix: string, message = m.message ?? 'masked columns'): Decision {
  const first: RuleMatch = { id: m.ruleId, ruleset: m.ruleset ?? '', action: 'block', message: `${message} — ${suffix}`, mask: m.mask, columns: m.columns, statement: 0 };
  const seen = new Set([first.id]);
  return { ...d, action: 'block', rules: [first, ...d.rules.filter((r) => !seen.has(r.id) && (seen.add(r.id), true))] };
}

/**
 * Statements reading a view or calling a stored function whose lineage reaches a masked column (or cannot be
 * traced) are masked by the rules those columns call for, as if they named the columns themselves: their derived
 * values are masked and copying them is refused like copying the column (mask-or-block above).
 */
function throughViewsAndFunctions(d: Decision, masks: readonly ColumnMask[], ctx: MysqlLineageContext): Decision {
  const added: RuleMatch[] = [];
  d.statements.forEach((st, i) => {
    const src = new Set<string>();
    // without a catalog snapshot any table may be a view and any function a stored one: unknown (fail closed)
    if (!ctx.schema && (st.tables.length || st.functions.length)) src.add('?');
    for (const t of st.tables) {
      // a relation the snapshot does not know may be a view created since: unknown (fail closed)
      // (only relations read: a table being created or written is not a source of values)
      if (t.op === 'read' && ctx.schema?.unknownRelation(t.name, ctx.database ?? null)) src.add('?');
      const keys = ctx.schema ? ctx.schema.viewKeys(t.name) : [];
      for (const k of keys) {
        const cols = ctx.schema!.viewSources(k);
        if (!cols) src.add('?');
        else for (const s of cols.values()) for (const x of s) src.add(x);
      }
    }
    for (const f of st.functions) {
      if (ctx.schema) for (const x of ctx.schema.callSources(f, ctx.database ?? null)) src.add(x);
    }
    const h = mysqlMasksFor(src, masks);
    for (const m of h.rules) {
      if (d.rules.some((r) => r.id === m.ruleId && r.statement === i) || added.some((r) => r.id === m.ruleId && r.statement === i)) continue;
      added.push({ id: m.ruleId, ruleset: m.ruleset ?? '', action: 'mask', message: m.message ?? 'masked', mask: m.mask, columns: m.columns, statement: i });
    }
  });
  if (!added.length) return d;
  // raised to mask: the rule that decided comes first, as the audit and the relay read rules[0]
  const raised = d.action === 'allow' || d.action === 'warn';
  return { ...d, action: raised ? 'mask' : d.action, rules: raised ? [...added, ...d.rules] : [...d.rules, ...added] };
}
