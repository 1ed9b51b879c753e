// PostgreSQL statement node names (libpg-query) → statement kind, base effects and object, kept as data for review.
import type { Effect, StatementKind } from './facts.js';

export interface StatementClass {
  kind: StatementKind;
  effects: readonly Effect[];
  object?: string;
}

const c = (kind: StatementKind, effects: readonly Effect[], object?: string): StatementClass =>
  object === undefined ? { kind, effects } : { kind, effects, object };

/**
 * Statements whose class does not follow from their name. Anything not listed and not named
 * Create*, Alter*, Drop* falls back to kind 'other' with effect 'ddl', so a statement type this
 * table has never heard of is still refused on read grants (fail closed).
 */
export const STATEMENT_CLASSES: Record<string, StatementClass> = {
  SelectStmt: c('select', ['read']),
  InsertStmt: c('insert', ['write']),
  UpdateStmt: c('update', ['write']),
  DeleteStmt: c('delete', ['write']),
  MergeStmt: c('merge', ['write']),
  CopyStmt: c('copy', []),
  TruncateStmt: c('truncate', ['write'], 'table'),
  TransactionStmt: c('transaction', []),
  VariableSetStmt: c('set', ['session']),
  ConstraintsSetStmt: c('set', ['session']),
  VariableShowStmt: c('show', ['read']),
  DoStmt: c('do', ['dynamic']),
  PrepareStmt: c('prepare', []),
  // EXECUTE runs what PREPARE parsed, and PREPARE was checked when it went through
  ExecuteStmt: c('execute', []),
  ExplainStmt: c('explain', ['read']),
  // a procedure may write and may manage transactions; what it does is not visible here
  CallStmt: c('call', ['write']),
  LoadStmt: c('load', ['admin', 'file']),
  GrantStmt: c('grant', ['dcl']),
  GrantRoleStmt: c('grant', ['dcl'], 'role'),
  CreateRoleStmt: c('create', ['dcl'], 'role'),
  AlterRoleStmt: c('alter', ['dcl'], 'role'),
  AlterRoleSetStmt: c('alter', ['dcl'], 'role'),
  DropRoleStmt: c('drop', ['dcl'], 'role'),
  DropOwnedStmt: c('drop', ['ddl', 'dcl'], 'owned'),
  ReassignOwnedStmt: c('alter', ['ddl', 'dcl'], 'owned'),
  AlterOwnerStmt: c('alter', ['ddl', 'dcl']),
  AlterDefaultPrivilegesStmt: c('alter', ['dcl'], 'default-privileges'),
  AlterSystemStmt: c('alter', ['admin'], 'system'),
  DropdbStmt: c('drop', ['ddl'], 'database'),
  CreatedbStmt: c('create', ['ddl'], 'database'),
  AlterDatabaseStmt: c('alter', ['ddl'], 'database'),
  AlterDatabaseSetStmt: c('alter', ['ddl'], 'database'),
  CreateStmt: c('create', ['ddl'], 'table'),
  CreateTableAsStmt: c('create', ['ddl', 'write'], 'table'),
  IndexStmt: c('create', ['ddl'], 'index'),
  ViewStmt: c('create', ['ddl'], 'view'),
  RuleStmt: c('create', ['ddl'], 'rule'),
  CreateTrigStmt: c('create', ['ddl'], 'trigger'),
  CreateEventTrigStmt: c('create', ['ddl'], 'event-trigger'),
  CreateFunctionStmt: c('create', ['ddl'], 'function'),
  CreateSeqStmt: c('create', ['ddl'], 'sequence'),
  CreateSchemaStmt: c('create', ['ddl'], 'schema'),
  CreateExtensionStmt: c('create', ['ddl'], 'extension'),
  CreatePLangStmt: c('create', ['ddl'], 'language'),
  // a tablespace names a server directory
  CreateTableSpaceStmt: c('create', ['ddl', 'file'], 'tablespace'),
  CreateForeignTableStmt: c('create', ['ddl'], 'foreign-table'),
  CreateFdwStmt: c('create', ['ddl'], 'foreign-data-wrapper'),
  CreateForeignServerStmt: c('create', ['ddl'], 'server'),
  ImportForeignSchemaStmt: c('create', ['ddl'], 'foreign-table'),
  CompositeTypeStmt: c('create', ['ddl'], 'type'),
  CreateEnumStmt: c('create', ['ddl'], 'type'),
  CreateRangeStmt: c('create', ['ddl'], 'type'),
  AlterEnumStmt: c('alter', ['ddl'], 'type'),
  AlterSeqStmt: c('alter', ['ddl'], 'sequence'),
  AlterDomainStmt: c('alter', ['ddl'], 'domain'),
  AlterExtensionStmt: c('alter', ['ddl'], 'extension'),
  AlterExtensionContentsStmt: c('alter', ['ddl'], 'extension'),
  RenameStmt: c('alter', ['ddl']),
  AlterObjectSchemaStmt: c('alter', ['ddl']),
  ListenStmt: c('other', ['session']),
  UnlistenStmt: c('other', ['session']),
  // NOTIFY reaches other sessions, like pg_notify()
  NotifyStmt: c('other', ['write']),
  DiscardStmt: c('other', ['session']),
  DeallocateStmt: c('other', ['session']),
  DeclareCursorStmt: c('other', ['session']),
  FetchStmt: c('other', ['read']),
  ClosePortalStmt: c('other', ['session']),
  VacuumStmt: c('other', ['write']),
  CheckPointStmt: c('other', ['admin']),
  ReindexStmt: c('other', ['ddl']),
  ClusterStmt: c('other', ['ddl']),
  LockStmt: c('other', ['write']),
  RefreshMatViewStmt: c('other', ['write'], 'materialized-view'),
  CommentStmt: c('other', ['ddl']),
  SecLabelStmt: c('other', ['ddl']),
  ReturnStmt: c('other', ['read']),
};

export function classifyStatement(nodeName: string): StatementClass {
  const known = STATEMENT_CLASSES[nodeName];
  if (known) return known;
  const m = /^(Create|Alter|Drop)(.*?)Stmt$/.exec(nodeName);
  if (m) {
    const kind = m[1]!.toLowerCase() as StatementKind;
    return c(kind, ['ddl'], kebab(m[2]!));
  }
  return c('other', ['ddl']);
}

const OBJECT_NAMES: Record<string, string> = {
  MATVIEW: 'materialized-view',
  FDW: 'foreign-data-wrapper',
  FOREIGN_SERVER: 'server',
  TSCONFIGURATION: 'text-search-configuration',
  TSDICTIONARY: 'text-search-dictionary',
  TSPARSER: 'text-search-parser',
  TSTEMPLATE: 'text-search-template',
  OPCLASS: 'operator-class',
  OPFAMILY: 'operator-family',
  AMOP: 'operator',
  AMPROC: 'function',
  ACCESS_METHOD: 'access-method',
  ROUTINE: 'function',
};

/** OBJECT_TABLE → table, OBJECT_MATVIEW → materialized-view, OBJECT_FOREIGN_TABLE → foreign-table. */
export function objectName(objectType: unknown): string | undefined {
  if (typeof objectType !== 'string' || !objectType.startsWith('OBJECT_')) return undefined;
  const raw = objectType.slice('OBJECT_'.length);
  return OBJECT_NAMES[raw] ?? raw.toLowerCase().replace(/_/g, '-');
}

/** Object types whose DROP names relations, so their names are listed as tables. */
export const RELATION_OBJECTS = new Set(['table', 'view', 'materialized-view', 'index', 'sequence', 'foreign-table']);

function kebab(camel: string): string | undefined {
  if (camel === '') return undefined;
  return camel.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase();
}
