// Rule file schema (zod, strict) and the loaded RuleSet / Rule / RuleCondition types.
import { ACCESS_LEVELS } from '../access.js';
import { z } from 'zod';
import { EFFECTS, STATEMENT_KINDS } from '../sql/facts.js';
import type { Effect, LimitStatus, StatementKind, WhereStatus } from '../sql/facts.js';
import { ACTIONS, MASKS } from './types.js';
import type { AccessLevel, Action, MaskKind } from './types.js';

export const WHERE_VALUES = ['absent', 'always-true', 'present'] as const;
export const LIMIT_VALUES = ['absent', 'present'] as const;
export const ACCESS_VALUES = ACCESS_LEVELS;

/** A condition as loaded: every list key holds at least one value; absent keys do not constrain. */
export interface RuleCondition {
  statement?: StatementKind[];
  object?: string[];
  effect?: Effect[];
  where?: WhereStatus[];
  limit?: LimitStatus[];
  tables?: string[];
  columns?: string[];
  /** globs over columns compared in WHERE / HAVING / JOIN conditions */
  predicates?: string[];
  functions?: string[];
  access?: AccessLevel[];
  targets?: string[];
  groups?: string[];
  multiStatement?: boolean;
  /** ALTER … DROP COLUMN / DROP CONSTRAINT (fact `drops`) */
  drops?: boolean;
}

export interface Rule {
  id: string;
  description?: string;
  when: RuleCondition;
  unless?: RuleCondition;
  action: Action;
  message: string;
  /** the message for one dialect where its advice differs (what to use instead is protocol-specific) */
  messages?: Partial<Record<'postgres' | 'mysql', string>>;
  mask?: MaskKind;
  /** mask rules: schema.name globs of views and functions whose results never carry a masked value (lineage stops there) */
  clean?: string[];
  /** blast-radius limit: a matching write that would change more rows than this is rolled back and refused */
  maxRows?: number;
  /** the same as a fraction of the table's estimated rows (catalog statistics); the smaller limit applies */
  maxFraction?: number;
  /** 1-based line of the rule in its file, for messages */
  line?: number;
}

export interface RuleSet {
  name: string;
  description?: string;
  /** file the set was loaded from */
  file?: string;
  rules: Rule[];
}

/** A list of one enum, written either as a YAML list or as a single value; unknown values are named. */
function enumList<T extends readonly [string, ...string[]]>(values: T, what: string) {
  const item = z.enum(values, {
    error: (iss) => `unknown ${what} ${JSON.stringify(iss.input)} (expected one of: ${values.join(', ')})`,
  });
  return z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(item).min(1, `${what} needs at least one value`));
}

const name = z.string().trim().min(1, 'must not be empty');
const nameList = (what: string) =>
  z.preprocess((v) => (Array.isArray(v) ? v : [v]), z.array(name).min(1, `${what} needs at least one value`));

export const conditionSchema = z.strictObject({
  statement: enumList(STATEMENT_KINDS, 'statement kind').optional(),
  object: nameList('object').optional(),
  effect: enumList(EFFECTS, 'effect').optional(),
  where: enumList(WHERE_VALUES, 'where value').optional(),
  limit: enumList(LIMIT_VALUES, 'limit value').optional(),
  tables: nameList('tables').optional(),
  columns: nameList('columns').optional(),
  predicates: nameList('predicates').optional(),
  functions: nameList('functions').optional(),
  access: enumList(ACCESS_VALUES, 'access level').optional(),
  targets: nameList('targets').optional(),
  groups: nameList('groups').optional(),
  multiStatement: z.boolean().optional(),
  drops: z.boolean().optional(),
});

const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export const ruleSchema = z.strictObject({
  id: z.string().regex(ID, 'id must be letters, digits, "-", "_" or "." (no spaces)'),
  description: z.string().optional(),
  when: conditionSchema,
  unless: conditionSchema.optional(),
  action: z.enum(ACTIONS, {
    error: (iss) => `unknown action ${JSON.stringify(iss.input)} (expected one of: ${ACTIONS.join(', ')})`,
  }),
  // one text, or one per dialect (`{ postgres: …, mysql: … }`, either may be left out: the other serves)
  message: z.union([
    z.string().min(1),
    z.strictObject({ postgres: z.string().min(1).optional(), mysql: z.string().min(1).optional() })
      .refine((m) => m.postgres !== undefined || m.mysql !== undefined, 'message needs a postgres or a mysql text'),
  ]).optional(),
  mask: z
    .enum(MASKS, { error: (iss) => `unknown mask ${JSON.stringify(iss.input)} (expected one of: ${MASKS.join(', ')})` })
    .optional(),
  clean: nameList('clean').optional(),
  maxRows: z.number({ error: 'maxRows must be a whole number of rows' }).int('maxRows must be a whole number of rows').positive('maxRows must be at least 1').optional(),
  maxFraction: z.number({ error: 'maxFraction must be a number between 0 and 1' }).gt(0, 'maxFraction must be above 0').lte(1, 'maxFraction must be at most 1').optional(),
});

export const ruleFileSchema = z.strictObject({
  ruleset: z.string().regex(ID, 'ruleset name must be letters, digits, "-", "_" or "." (no spaces)'),
  description: z.string().optional(),
  rules: z.array(ruleSchema),
});

export type RuleFile = z.infer<typeof ruleFileSchema>;
