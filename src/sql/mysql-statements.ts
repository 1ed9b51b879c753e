// MySQL statement classes: sqlparser-rs statement variants → kind, base effects and object, kept as data for review.
import type { Effect, StatementKind } from './facts.js';

export interface StatementClass {
  kind: StatementKind;
  effects: readonly Effect[];
  object?: string;
}

const c = (kind: StatementKind, effects: readonly Effect[], object?: string): StatementClass =>
  object === undefined ? { kind, effects } : { kind, effects, object };

/**
 * Variants of sqlparser-rs's `Statement` as MySQL uses them. A variant not listed (and not Show*)
 * is refused as unparsed: the parser knows many dialects' statements and a MySQL text that lands
 * in an unexpected one has been misread.
 */
export const STATEMENT_CLASSES: Record<string, StatementClass> = {
  Query: c('select', ['read']),
  Insert: c('insert', ['write']),
  Update: c('update', ['write']),
  Delete: c('delete', ['write']),
  Truncate: c('truncate', ['write'], 'table'),
  CreateTable: c('create', ['ddl'], 'table'),
  CreateView: c('create', ['ddl'], 'view'),
  CreateIndex: c('create', ['ddl'], 'index'),
  CreateDatabase: c('create', ['ddl'], 'database'),
  CreateSchema: c('create', ['ddl'], 'database'),
  CreateRole: c('create', ['dcl'], 'role'),
  CreateUser: c('create', ['dcl'], 'user'),
  CreateSequence: c('create', ['ddl'], 'sequence'),
  // routine bodies run later (CALL, triggers, the event scheduler) with the definer's rights, unseen
  CreateFunction: c('create', ['ddl', 'dynamic'], 'function'),
  CreateProcedure: c('create', ['ddl', 'dynamic'], 'procedure'),
  CreateTrigger: c('create', ['ddl', 'dynamic'], 'trigger'),
  AlterTable: c('alter', ['ddl'], 'table'),
  AlterView: c('alter', ['ddl'], 'view'),
  AlterIndex: c('alter', ['ddl'], 'index'),
  AlterRole: c('alter', ['dcl'], 'role'),
  AlterUser: c('alter', ['dcl'], 'user'),
  RenameTable: c('alter', ['ddl'], 'table'),
  Drop: c('drop', ['ddl']),
  DropFunction: c('drop', ['ddl'], 'function'),
  DropProcedure: c('drop', ['ddl'], 'procedure'),
  DropTrigger: c('drop', ['ddl'], 'trigger'),
  Grant: c('grant', ['dcl']),
  Revoke: c('revoke', ['dcl']),
  Set: c('set', ['session']),
  ExplainTable: c('show', ['read']),
  Explain: c('explain', ['read']),
  StartTransaction: c('transaction', []),
  Commit: c('transaction', []),
  Rollback: c('transaction', []),
  Savepoint: c('transaction', []),
  ReleaseSavepoint: c('transaction', []),
  Use: c('other', ['session']),
  // EXECUTE runs a statement by name; what it holds was decided elsewhere, possibly from a variable
  Execute: c('execute', ['dynamic']),
  Deallocate: c('other', ['session']),
  Kill: c('other', ['admin']),
  Flush: c('other', ['admin']),
  Reset: c('other', ['admin']),
  LockTables: c('other', ['write']),
  UnlockTables: c('other', []),
  // a procedure may write and may manage transactions; what it does is not visible here
  Call: c('call', ['write']),
  // ANALYZE / OPTIMIZE TABLE rewrite statistics or the table itself
  Analyze: c('other', ['write']),
  OptimizeTable: c('other', ['write']),
};

export function classifyVariant(variant: string): StatementClass | undefined {
  const known = STATEMENT_CLASSES[variant];
  if (known) return known;
  if (/^Show[A-Z]/.test(variant)) return c('show', ['read']);
  return undefined;
}

/** Drop object types (sqlparser-rs ObjectType) that name relations, listed as tables. */
export const RELATION_OBJECTS = new Set(['table', 'view', 'index', 'sequence']);

/** sqlparser-rs ObjectType → the rule language's object name (MySQL's SCHEMA is a database). */
export function objectName(objectType: unknown): string | undefined {
  if (typeof objectType !== 'string') return undefined;
  const o = objectType.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
  return o === 'schema' ? 'database' : o;
}
