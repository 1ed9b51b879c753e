// The core's final masking verdict for one statement text: from column lineage (sql/pg-lineage.ts), the mask
// of every result column, or a refusal when masked values would leave where no row masker can follow
// (mask-or-block). Protocol modules carry the plan out; they do not judge it again.
import type { ColumnMask } from '../rules/mask.js';
import { derivedMask, strictestMask } from './mask.js';
import { matchName } from '../rules/glob.js';
import type { CursorOp, Decision, MaskKind, RuleMatch } from '../rules/types.js';
import { DERIVED, UNANALYSED, UNKNOWN, UNPARSED, pgLineage, type LineageSchema, type Src, type StatementLineage } from '../sql/pg-lineage.js';
import { plpgsqlStatements } from '../sql/pg-plpgsql.js';
import type { ReadOptions } from '../sql/facts.js';
import { SchemaSnapshot } from './schema-snapshot.js';
import { maskPlanCache, type MaskOutcome, type MaskPlanCache } from './mask-plan-cache.js';

export interface MaskPlan {
  /** per result column of the statement (positions exact), the mask or null; null when positions are not known */
  outputs: (MaskKind | null)[] | null;
  /** the mask for any result column not coming straight from a table when `outputs` cannot be used */
  derived: MaskKind | null;
  /** cursors the text declares or closes, applied when the server confirms them (applyCursorOp) */
  cursors?: CursorOp[];
}

/** Session state lineage needs beyond one statement: the plans of open cursors. */
export interface LineageState {
  cursors: Map<string, MaskPlan>;
}

const NOTHING_KNOWN: LineageSchema = { relation: () => undefined, func: () => undefined, knowsFunctions: false };

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
 * or a `block` naming the rule that refused it. `opts`: the reading options the text was decided under (cache key);
 * `cache`: where lineage outcomes are kept (session/mask-plan-cache.ts), null to compute every text afresh.
 */
export function planMasks(
  text: string,
  d: Decision,
  masks: readonly ColumnMask[],
  schema: LineageSchema | null,
  state: LineageState,
  opts?: ReadOptions,
  cache: MaskPlanCache | null = maskPlanCache,
): Decision {
  if (!masks.length || d.action === 'block' || d.action === 'review') return d;
  // without a catalog to trace through (not read yet, or stale after this session's DDL) nothing is known:
  // every column reference is unknown, so derived values are masked and anything that moves values is refused
  const known = schema ?? NOTHING_KNOWN;
  // Security: a DO or CREATE FUNCTION text's outcome also depends on its body, read from the facts, which a literal
  // (`DO 'begin … end'`, `AS 'select …'`) carries: such texts are neither looked up in nor stored to the cache
  const bodies = d.statements.some((st) => st.kind === 'do' || st.kind === 'create');
  if (bodies) {
    const refused = plpgsqlRefusal(d, masks, known);
    if (refused) return refused;
  }
  // only schema objects that never change once made are keyed by identity (see mask-plan-cache.ts)
  const key = !bodies && cache && (schema === null || schema instanceof SchemaSnapshot) ? cache.key(text, masks, known, opts) : undefined;
  const hit = key !== undefined ? cache!.get(key) : undefined;
  if (hit) return carryOut(d, hit);
  const lineage = pgLineage(text, known);
  const outcome = lineageOutcome(lineage, masks, state);
  // a FETCH's outcome is the session's cursor plan, not the text's: never shared. Nor is a text the parser refused
  // (or whose tree lineage does not know): the grammar checks a few constants' values (`float(0)`), so another
  // text of the shape may parse where this one did not
  if (key !== undefined && lineage.every((l) => l.fetch === undefined && !l.sinks.some((x) => x.what === UNPARSED || x.what === UNANALYSED))) cache!.set(key, outcome);
  return carryOut(d, outcome);
}

function carryOut(d: Decision, o: MaskOutcome): Decision {
  return 'plan' in o ? withPlan(d, o.plan, o.used) : refuse(d, o.refuse, '', o.suffix);
}

/**
 * PL/pgSQL bodies (DO, CREATE FUNCTION … plpgsql) allowed because their statements were read: a value one of them
 * reads lands in a variable, a table, a notice or the function's result, where no row masker follows it, so any
 * embedded statement whose values or sinks carry a masked (or untraceable) column refuses the whole body.
 */
function plpgsqlRefusal(d: Decision, masks: readonly ColumnMask[], schema: LineageSchema): Decision | undefined {
  for (const st of d.statements) {
    if (st.nested || !st.text || !(st.kind === 'do' || (st.kind === 'create' && (st.object === 'function' || st.object === 'procedure')))) continue;
    const body = plpgsqlStatements(st.text);
    if (!body) continue;
    for (const sql of body) {
      // names that resolve nowhere are the body's variables and parameters: values the checks here already saw
      for (const l of pgLineage(sql, schema, { body: true })) {
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
  return undefined;
}

/**
 * What the lineage of a text's statements calls for under `masks`: a refusal, or the plan and the rules it applies.
 * Reads nothing but the lineage, the masks and (for FETCH/MOVE only) the session's cursor plans.
 */
export function lineageOutcome(lineage: StatementLineage[], masks: readonly ColumnMask[], state: LineageState): MaskOutcome {
  const used: ColumnMask[] = [];
  for (const l of lineage) {
    if (l.tableReaders.length) return { refuse: [...masks], suffix: 'functions that read whole tables cannot be used while columns are masked' };
    if (l.statistics.length) return { refuse: [...masks], suffix: 'statistics views cannot be read while columns are masked' };
    for (const s of l.sinks) {
      const h = masksFor(s.src, masks);
      if (h.kind) return { refuse: h.rules };
    }
  }
  // FETCH/MOVE of a cursor: the rows are the cursor's query's, masked by the plan made at DECLARE
  const fetch = lineage.length === 1 ? lineage[0]!.fetch : undefined;
  if (fetch !== undefined) {
    const plan = state.cursors.get(fetch) ?? { outputs: null, derived: derivedMask(strictestMask(masks)) };
    return { plan, used: plan.outputs?.some((m) => m) || plan.derived ? [...masks] : [] };
  }
  // Security: a FETCH sharing a text with other statements (`FETCH ALL FROM c; SELECT 1`) returns the cursor's rows
  // under the text's plan, which the other statements made: a cursor whose plan masks anything (or that the session
  // does not know) makes the whole text's results unknown (strictest mask)
  const cursorRisk = lineage.some((l) => {
    if (l.fetch === undefined) return false;
    const p = state.cursors.get(l.fetch);
    return !p || !!p.derived || !!p.outputs?.some((m) => m);
  });
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
    if (results.some((l) => !l.exact) || cursorRisk) all.add(UNKNOWN);
    const h = masksFor(all, masks);
    used.push(...h.rules);
    plan = { outputs: null, derived: h.kind };
  }
  // Security: cursor plans change only when the server confirms the DECLARE/CLOSE (applyCursorOp, called by the
  // protocol module). Recorded when the text was read, a DECLARE that then failed (`DECLARE c … lower(email)`,
  // `SAVEPOINT s`, `DECLARE c CURSOR FOR SELECT 'x'` → "already exists", `ROLLBACK TO s`) left the clean plan on
  // the masked cursor, and only the first DECLARE of a text was recorded at all: FETCH returned emails in clear.
  const cursors: CursorOp[] = [];
  lineage.forEach((l, i) => {
    if (l.cursor !== undefined) cursors.push({ stmt: i, declare: { name: l.cursor, plan: cursorPlan(l, masks, used) } });
    if (l.close !== undefined) cursors.push({ stmt: i, close: l.close });
  });
  if (cursors.length) plan = { ...plan, cursors };
  return { plan, used };
}

/** The plan a DECLAREd cursor's FETCH results carry: its query's outputs. */
function cursorPlan(l: StatementLineage, masks: readonly ColumnMask[], used: ColumnMask[]): { outputs: (MaskKind | null)[] | null; derived: MaskKind | null } {
  if (l.outputs && l.exact) {
    return { outputs: l.outputs.map((src) => {
      const h = masksFor(src, masks);
      for (const r of h.rules) if (!used.includes(r)) used.push(r);
      return h.kind;
    }), derived: null };
  }
  const all = new Set<string>(l.exact ? [] : [UNKNOWN]);
  for (const o of l.outputs ?? [UNKNOWN_SRC]) for (const x of o) all.add(x);
  const h = masksFor(all, masks);
  for (const r of h.rules) if (!used.includes(r)) used.push(r);
  return { outputs: null, derived: h.kind };
}
const UNKNOWN_SRC: Src = new Set([UNKNOWN]);

/** A DECLARE or CLOSE the server confirmed: the session's cursor plans follow it. */
export function applyCursorOp(state: LineageState, op: CursorOp): void {
  if (op.declare) state.cursors.set(op.declare.name, op.declare.plan);
  else if (op.close === null) state.cursors.clear();
  else if (op.close !== undefined) state.cursors.delete(op.close);
}

function ruleMatch(m: ColumnMask, action: RuleMatch['action'], message: string): RuleMatch {
  return { id: m.ruleId, ruleset: m.ruleset ?? '', action, message, mask: m.mask, columns: m.columns, statement: 0 };
}

function withPlan(d: Decision, plan: MaskPlan, used: readonly ColumnMask[]): Decision {
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
function refuse(d: Decision, rules: readonly ColumnMask[], _why: string, suffix = MASK_OR_BLOCK_SUFFIX): Decision {
  const first = rules[0]!;
  const seen = new Set<string>([first.ruleId]);
  const rest = d.rules.filter((r) => !seen.has(r.id) && (seen.add(r.id), true));
  return { ...d, action: 'block', rules: [ruleMatch(first, 'block', `${first.message ?? 'masked columns'} — ${suffix}`), ...rest], maskPlan: undefined };
}

export { UNKNOWN };
