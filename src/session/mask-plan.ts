// The core's final masking verdict for one statement text: from column lineage (sql/pg-lineage.ts), the mask
// of every result column, or a refusal when masked values would leave where no row masker can follow
// (mask-or-block). Protocol modules carry the plan out; they do not judge it again.
import type { ColumnMask } from '../rules/mask.js';
import { derivedMask, strictestMask } from './mask.js';
import { matchName } from '../rules/glob.js';
import type { Decision, MaskKind, RuleMatch } from '../rules/types.js';
import { DERIVED, UNKNOWN, pgLineage, type LineageSchema, type Src, type StatementLineage } from '../sql/pg-lineage.js';
import { plpgsqlStatements } from '../sql/pg-plpgsql.js';

export interface MaskPlan {
  /** per result column of the statement (positions exact), the mask or null; null when positions are not known */
  outputs: (MaskKind | null)[] | null;
  /** the mask for any result column not coming straight from a table when `outputs` cannot be used */
  derived: MaskKind | null;
}

/** Session state lineage needs beyond one statement: the plans of open cursors. */
export interface LineageState {
  cursors: Map<string, MaskPlan>;
}

const NOTHING_KNOWN: LineageSchema = { relation: () => undefined, func: () => undefined };

export const MASK_OR_BLOCK_SUFFIX = 'masked columns cannot be copied or exported';

interface Hit {
  kind: MaskKind | null;
  rules: ColumnMask[];
}

/** The masks a source set calls for: unknown sources call for the strictest mask of all (fail closed). */
export function masksFor(src: Src, masks: readonly ColumnMask[]): Hit {
  // a value of unknown origin may be shaped by the client: no mask that keeps part of its input applies
  if (src.has(UNKNOWN)) return { kind: derivedMask(strictestMask(masks)), rules: [...masks] };
  const rules: ColumnMask[] = [];
  for (const col of src) {
    for (const m of masks) if (!rules.includes(m) && m.columns.some((p) => matchName(p, col))) rules.push(m);
  }
  const kind = rules.length ? strictestMask(rules) : null;
  return { kind: src.has(DERIVED) ? derivedMask(kind) : kind, rules };
}

/**
 * Decides masking for `text` under the session's masks. Returns the decision to carry out: the input one
 * with a mask plan attached (and raised to `mask` when lineage finds masked values the names did not show),
 * or a `block` naming the rule that refused it.
 */
export function planMasks(text: string, d: Decision, masks: readonly ColumnMask[], schema: LineageSchema | null, state: LineageState): Decision {
  if (!masks.length || d.action === 'block' || d.action === 'review') return d;
  // without a catalog to trace through (not read yet, or stale after this session's DDL) nothing is known:
  // every column reference is unknown, so derived values are masked and anything that moves values is refused
  const lineage: StatementLineage[] = pgLineage(text, schema ?? NOTHING_KNOWN);
  const used: ColumnMask[] = [];
  // PL/pgSQL bodies (DO, CREATE FUNCTION … plpgsql) allowed because their statements were read: a value one of them
  // reads lands in a variable, a table, a notice or the function's result, where no row masker follows it, so any
  // embedded statement whose values or sinks carry a masked (or untraceable) column refuses the whole body
  for (const st of d.statements) {
    if (st.nested || !st.text || !(st.kind === 'do' || (st.kind === 'create' && (st.object === 'function' || st.object === 'procedure')))) continue;
    const body = plpgsqlStatements(st.text);
    if (!body) continue;
    for (const sql of body) {
      // names that resolve nowhere are the body's variables and parameters: values the checks here already saw
      for (const l of pgLineage(sql, schema ?? NOTHING_KNOWN, { body: true })) {
        const srcs = [...(l.outputs ?? []), ...l.sinks.map((x) => x.src)];
        if (l.outputs && !l.exact) srcs.push(new Set([UNKNOWN]));
        for (const src of srcs) {
          const h = masksFor(src, masks);
          if (h.kind) return refuse(d, h.rules, 'a PL/pgSQL body would move masked values');
        }
        if (l.tableReaders.length || l.statistics.length) return refuse(d, [...masks], 'a PL/pgSQL body reads whole tables');
      }
    }
  }
  for (const l of lineage) {
    if (l.tableReaders.length) return refuse(d, [...masks], `${l.tableReaders[0]}() returns whole tables`, 'functions that read whole tables cannot be used while columns are masked');
    if (l.statistics.length) return refuse(d, [...masks], `${l.statistics[0]} shows column contents`, 'statistics views cannot be read while columns are masked');
    for (const s of l.sinks) {
      const h = masksFor(s.src, masks);
      if (h.kind) return refuse(d, h.rules, `${s.what} would move masked values`);
    }
  }
  // FETCH/MOVE of a cursor: the rows are the cursor's query's, masked by the plan made at DECLARE
  const fetch = lineage.length === 1 ? lineage[0]!.fetch : undefined;
  if (fetch !== undefined) {
    const plan = state.cursors.get(fetch) ?? { outputs: null, derived: derivedMask(strictestMask(masks)) };
    return withPlan(d, plan, plan.outputs?.some((m) => m) || plan.derived ? [...masks] : []);
  }
  let plan: MaskPlan;
  const results = lineage.filter((l) => l.outputs);
  if (results.length === 1 && lineage.length === 1 && results[0]!.exact) {
    const outputs = results[0]!.outputs!.map((src) => {
      const h = masksFor(src, masks);
      for (const r of h.rules) if (!used.includes(r)) used.push(r);
      return h.kind;
    });
    plan = { outputs, derived: null };
  } else {
    const all = new Set<string>();
    for (const l of results) for (const o of l.outputs!) for (const x of o) all.add(x);
    if (results.some((l) => !l.exact)) all.add(UNKNOWN);
    const h = masksFor(all, masks);
    used.push(...h.rules);
    plan = { outputs: null, derived: h.kind };
  }
  const cursor = lineage.find((l) => l.cursor !== undefined)?.cursor;
  if (cursor !== undefined) {
    state.cursors.set(cursor, plan);
    plan = { outputs: null, derived: null };
  }
  return withPlan(d, plan, used);
}

function ruleMatch(m: ColumnMask, action: RuleMatch['action'], message: string): RuleMatch {
  return { id: m.ruleId, ruleset: m.ruleset ?? '', action, message, mask: m.mask, columns: m.columns, statement: 0 };
}

function withPlan(d: Decision, plan: MaskPlan, used: ColumnMask[]): Decision {
  const out: Decision = { ...d, maskPlan: plan };
  if (used.length && d.action !== 'mask') {
    // masked by lineage where the names did not show it: audited as the mask it is
    const ids = new Set(d.rules.map((r) => r.id));
    out.action = 'mask';
    out.rules = [...used.filter((m) => !ids.has(m.ruleId)).map((m) => ruleMatch(m, 'mask', m.message ?? 'masked')), ...d.rules];
  }
  return out;
}

/** Refused by mask-or-block: audited as `block` by the rule that refused it, each rule id once. */
function refuse(d: Decision, rules: ColumnMask[], _why: string, suffix = MASK_OR_BLOCK_SUFFIX): Decision {
  const first = rules[0]!;
  const seen = new Set<string>([first.ruleId]);
  const rest = d.rules.filter((r) => !seen.has(r.id) && (seen.add(r.id), true));
  return { ...d, action: 'block', rules: [ruleMatch(first, 'block', `${first.message ?? 'masked columns'} — ${suffix}`), ...rest], maskPlan: undefined };
}

export { UNKNOWN };
