// Rule file loader: YAML → validated RuleSets, every problem reported with file, line and rule id.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LineCounter, isMap, isNode, isPair, isScalar, parseDocument } from 'yaml';
import type { Document } from 'yaml';
import type { z } from 'zod';
import { ruleFileSchema } from './rule-set.js';
import type { Rule, RuleCondition, RuleSet } from './rule-set.js';

const LIMITABLE_KINDS = new Set<string>(['insert', 'update', 'delete', 'merge', 'call']);

export interface RuleError {
  file: string;
  /** 1-based; 0 when the problem is not tied to a line (missing folder, unreadable file) */
  line: number;
  ruleId?: string;
  message: string;
}

export interface LoadResult {
  rulesets: Map<string, RuleSet>;
  errors: RuleError[];
}

/**
 * Loads every *.yaml / *.yml file in `dir`, in name order. A file with any error contributes no
 * rule set at all: half a rule set could silently drop the very rule that blocks something.
 */
export function loadRuleSets(dir: string): LoadResult {
  const rulesets = new Map<string, RuleSet>();
  const errors: RuleError[] = [];
  let files: string[];
  try {
    if (!statSync(dir).isDirectory()) return { rulesets, errors: [{ file: dir, line: 0, message: 'not a folder' }] };
    files = readdirSync(dir).filter((f) => /\.ya?ml$/i.test(f)).sort();
  } catch (err) {
    return { rulesets, errors: [{ file: dir, line: 0, message: `cannot read rules folder: ${errorText(err)}` }] };
  }
  const origin = new Map<string, string>();
  for (const f of files) {
    const file = join(dir, f);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      errors.push({ file, line: 0, message: `cannot read: ${errorText(err)}` });
      continue;
    }
    const parsed = parseRuleSet(text, file);
    errors.push(...parsed.errors);
    const set = parsed.ruleset;
    if (!set) continue;
    const earlier = origin.get(set.name);
    if (earlier !== undefined) {
      errors.push({ file, line: parsed.nameLine, message: `ruleset "${set.name}" is already defined in ${earlier}` });
      continue;
    }
    origin.set(set.name, file);
    rulesets.set(set.name, set);
  }
  return { rulesets, errors };
}

export interface ParseResult {
  ruleset?: RuleSet;
  errors: RuleError[];
  /** line of the `ruleset:` key */
  nameLine: number;
}

/** Parses and validates one rule file's text; `file` is only used in messages. */
export function parseRuleSet(text: string, file: string): ParseResult {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const errors: RuleError[] = doc.errors.map((e) => ({
    file,
    line: lc.linePos(e.pos[0]).line,
    message: `YAML: ${e.message.split('\n')[0]}`,
  }));
  if (errors.length > 0) return { errors, nameLine: 0 };
  const data: unknown = doc.toJS();
  const lineOf = (path: readonly PropertyKey[]): number => nodeLine(doc, lc, path);
  const nameLine = lineOf(['ruleset']);
  const result = ruleFileSchema.safeParse(data);
  if (!result.success) {
    for (const issue of result.error.issues) errors.push(...issueErrors(issue, data, file, doc, lc));
    errors.sort((a, b) => a.line - b.line);
    return { errors, nameLine };
  }
  const seen = new Map<string, number>();
  const rules: Rule[] = [];
  result.data.rules.forEach((r, i) => {
    const line = lineOf(['rules', i]);
    const err = (message: string, path: PropertyKey[] = []) =>
      errors.push({ file, line: path.length ? lineOf(['rules', i, ...path]) : line, ruleId: r.id, message });
    const first = seen.get(r.id);
    if (first !== undefined) err(`duplicate rule id "${r.id}" (first on line ${first})`, ['id']);
    else seen.set(r.id, line);
    if (r.action === 'mask' && r.mask === undefined) err('action mask needs a `mask:` kind (redact, partial, email, hash, null)', ['action']);
    if (r.action === 'mask' && r.when.columns === undefined) err('action mask needs `when.columns` naming the columns to mask', ['when']);
    if (r.mask !== undefined && r.action !== 'mask') err(`\`mask: ${r.mask}\` only applies to action mask`, ['mask']);
    if (r.clean !== undefined && r.action !== 'mask') err('`clean` only applies to action mask', ['clean']);
    for (const c of r.clean ?? []) {
      // views and functions are named schema.name (globs allowed): anything else would silently match nothing
      if (!/^[^.\s]+\.[^.\s]+$/.test(c)) err(`\`clean\` entry "${c}" must be schema.name (a view or function, globs allowed)`, ['clean']);
    }
    if (r.maxRows !== undefined || r.maxFraction !== undefined) {
      // a row limit is carried out by forwarding the statement inside a transaction of the broker's own: it only
      // makes sense on a rule that lets the statement through, and only for statements that change rows
      if (r.action !== 'allow' && r.action !== 'warn') err(`maxRows/maxFraction need action allow or warn (the limit is what refuses), not ${r.action}`, ['action']);
      const kinds = r.when.statement;
      if (kinds && !kinds.some((k) => LIMITABLE_KINDS.has(k))) err('maxRows/maxFraction only apply to statements that change rows (insert, update, delete, merge, call)', ['when', 'statement']);
      if (r.when.effect && !r.when.effect.includes('write')) err('maxRows/maxFraction only apply to statements with effect write', ['when', 'effect']);
    }
    const rule: Rule = {
      id: r.id,
      when: r.when as RuleCondition,
      action: r.action,
      message: (typeof r.message === 'string' ? r.message : r.message?.postgres ?? r.message?.mysql) ?? r.description ?? `matched rule ${r.id}`,
      line,
    };
    if (r.message !== undefined && typeof r.message !== 'string') rule.messages = r.message;
    if (r.description !== undefined) rule.description = r.description;
    if (r.unless !== undefined) rule.unless = r.unless as RuleCondition;
    if (r.mask !== undefined) rule.mask = r.mask;
    if (r.clean !== undefined) rule.clean = r.clean;
    if (r.maxRows !== undefined) rule.maxRows = r.maxRows;
    if (r.maxFraction !== undefined) rule.maxFraction = r.maxFraction;
    rules.push(rule);
  });
  if (errors.length > 0) return { errors, nameLine };
  const ruleset: RuleSet = { name: result.data.ruleset, file, rules };
  if (result.data.description !== undefined) ruleset.description = result.data.description;
  return { ruleset, errors, nameLine };
}

function issueErrors(issue: z.core.$ZodIssue, data: unknown, file: string, doc: Document, lc: LineCounter): RuleError[] {
  const path = issue.path;
  const ruleId = ruleIdAt(data, path);
  const base = ruleId === undefined ? {} : { ruleId };
  const where = describePath(path);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      file,
      line: keyLine(doc, lc, path, key),
      ...base,
      message: `unknown key "${key}"${where ? ` in ${where}` : ''}`,
    }));
  }
  return [{ file, line: nodeLine(doc, lc, path), ...base, message: where ? `${where}: ${issue.message}` : issue.message }];
}

/** `rules[2].when.statement[0]` → `when.statement` (the rule is named by ruleId already). */
function describePath(path: readonly PropertyKey[]): string {
  const p = path[0] === 'rules' && typeof path[1] === 'number' ? path.slice(2) : path;
  return p.filter((k) => typeof k !== 'number').map(String).join('.');
}

function ruleIdAt(data: unknown, path: readonly PropertyKey[]): string | undefined {
  if (path[0] !== 'rules' || typeof path[1] !== 'number') return undefined;
  const rules = (data as { rules?: unknown })?.rules;
  const rule = Array.isArray(rules) ? rules[path[1]] : undefined;
  const id = (rule as { id?: unknown } | undefined)?.id;
  return typeof id === 'string' ? id : undefined;
}

/** Line of the deepest node along `path` that exists in the document. */
function nodeLine(doc: Document, lc: LineCounter, path: readonly PropertyKey[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) return lc.linePos(node.range[0]).line;
  }
  return 1;
}

function keyLine(doc: Document, lc: LineCounter, mapPath: readonly PropertyKey[], key: string): number {
  const map = mapPath.length === 0 ? doc.contents : doc.getIn(mapPath as unknown[], true);
  if (isMap(map)) {
    for (const pair of map.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === key && pair.key.range) {
        return lc.linePos(pair.key.range[0]).line;
      }
    }
  }
  return nodeLine(doc, lc, mapPath);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
