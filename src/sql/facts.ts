// Statement facts: what the rule engine knows about one statement, independent of dialect.

export type Dialect = 'postgres' | 'mysql';

export const STATEMENT_KINDS = [
  'select', 'insert', 'update', 'delete', 'merge', 'copy', 'create', 'alter', 'drop', 'truncate',
  'grant', 'revoke', 'set', 'show', 'transaction', 'call', 'do', 'prepare', 'execute', 'explain',
  'load', 'other', 'unparsed',
] as const;
export type StatementKind = (typeof STATEMENT_KINDS)[number];

export const EFFECTS = ['read', 'write', 'ddl', 'dcl', 'admin', 'dynamic', 'file', 'session'] as const;
export type Effect = (typeof EFFECTS)[number];

export type WhereStatus = 'absent' | 'always-true' | 'present';
export type LimitStatus = 'absent' | 'present';

export interface TableRef {
  /** schema.table (PostgreSQL, schema omitted when unqualified) or db.table (MySQL) */
  name: string;
  op: 'read' | 'write' | 'ddl';
}

export interface StatementFacts {
  kind: StatementKind;
  /** object type for DDL/DCL: table, index, view, schema, database, function, role, user, … */
  object?: string;
  effects: Effect[];
  tables: TableRef[];
  /** columns read, as table.column or schema.table.column where known, else column */
  columns: string[];
  /** functions called anywhere in the statement, lower-case, schema-qualified if written so */
  functions: string[];
  /** PostgreSQL operators used (A_Expr names, schema-qualified if written OPERATOR(schema.op)); absent when none */
  operators?: string[];
  /**
   * PostgreSQL types named, as written (cast targets `x::app.t`, CAST(x AS t), typed literals, column definition
   * lists); absent when none: a user cast to the type runs its function, a type modifier its typmod_in
   */
  casts?: string[];
  /** PostgreSQL: the statement has parameters ($n), whose types the client may declare; absent when none */
  params?: boolean;
  /** only for update/delete (and merge): null elsewhere */
  where: WhereStatus | null;
  limit: LimitStatus | null;
  /** true for statements found inside another one (CTE body, EXPLAIN ANALYZE target, PREPARE body) */
  nested: boolean;
  /** the statement was one of several in the text */
  multiStatement: boolean;
  /** 0-based index of the top-level statement this one belongs to */
  index: number;
  /** columns compared in WHERE, HAVING or JOIN conditions (rule key `predicates`: probing masked values) */
  predicates?: string[];
  /** columns whose values an UPDATE's SET list copies into the table (masking must not let them move) */
  copies?: string[];
  /**
   * MySQL: databases the statement names explicitly (qualified table, view, routine and sequence names, database
   * DDL, SHOW … FROM db); the session refuses any the grant does not cover (session/database-scope.ts). Absent when none.
   */
  databases?: string[];
  /** parser error for kind 'unparsed' */
  error?: string;
  /**
   * kind 'unparsed' only: the server's own parser rejects the text too (libpg-query is PostgreSQL's parser), so the
   * client gets the server's syntax error (42601) instead of a refusal; 1-based character position of the error
   */
  syntaxError?: { position?: number };
  /** source text of a top-level statement (trimmed), for audit; nested facts leave it out */
  text?: string;
  /**
   * MySQL EXPLAIN/ANALYZE only: whether the plan comes back as text the optimizer wrote (FORMAT=JSON and other
   * formats), which can carry values read while planning; false for the traditional table (sql/mysql-explain.ts)
   */
  planText?: boolean;
  /**
   * MySQL named prepared statements (SQL-level PREPARE / EXECUTE / DEALLOCATE), for the protocol module that tracks
   * them per session: `text` is the literal a PREPARE read (absent when prepared from a variable or expression).
   */
  prepared?: { op: 'prepare' | 'execute' | 'deallocate'; name: string; text?: string };
  /** why `where` is 'always-true' when no constant folding showed it (the WHERE is not proven to narrow the target) */
  whereReason?: string;
  /**
   * `where` is 'always-true' only because the target's columns are tested just for NULL (`col IS NOT NULL`): true for
   * every row of a NOT NULL column. The session makes it 'present' when, for one of these column sets of the
   * written table, the catalog shows every column nullable; without the catalog it stays not proven scoped.
   */
  scopeIfNullable?: string[][];
  /**
   * The facts were derived from literal values (a condition folded to decide whether a nested statement exists, as
   * for an upsert fed from its own table): texts of the same shape with other literals may have other facts, so a
   * decision for this text is never shared by shape (session/guard.ts).
   */
  literalDependent?: boolean;
  /** ALTER that removes data or integrity: DROP COLUMN / DROP CONSTRAINT / DROP ATTRIBUTE */
  drops?: boolean;
  /** MySQL USE: the database it switches to (the protocol module checks the grant covers it) */
  database?: string;
  /** MySQL KILL: the thread it names (the protocol module checks it belongs to the same grant) */
  kill?: KillTarget;
  /** MySQL LOAD DATA LOCAL / LOAD XML LOCAL: the server would ask the client for a file on the client's host */
  clientFile?: boolean;
  /**
   * MySQL: the statement's result may come from more than one query block (a subquery, a derived table, a set
   * operation, a CTE, a VALUES constructor), or it was read without the parser (unknown: set). The server reports
   * column origins such a statement names itself, so the row masker trusts none of them.
   */
  composite?: boolean;
  /** MySQL SHOW [COUNT(*)] WARNINGS / ERRORS: the answer quotes earlier statements' messages and the values in them */
  diagnostics?: boolean;
  /** MySQL: the statement assigns a user variable inside an expression (`@v := expr`): a value kept for later statements */
  assignsVariable?: boolean;
  /**
   * Reading barriers: settings this statement changes that decide how later text is read (client character set,
   * standard_conforming_strings, backslash_quote, sql_mode; `*` for RESET ALL / DISCARD ALL). The protocol
   * modules apply them to their reading state; they never regex the text for them.
   */
  reading?: ReadingChange[];
}

/** The thread a KILL names: `thread` null when it is not a literal id (an expression, USER, a query id). */
export interface KillTarget {
  thread: number | null;
  /** KILL QUERY: interrupt the statement, keep the connection */
  query: boolean;
}

export interface ReadingChange {
  /** lower-case setting name: client_encoding, standard_conforming_strings, backslash_quote, sql_mode, character_set_client, or '*' */
  setting: string;
  /** the value as written; null for RESET / DEFAULT (back to the session's default); undefined when the broker cannot know it */
  value?: string | null;
}

/** How the text must be read; session settings change this. */
export interface ReadOptions {
  /** PostgreSQL standard_conforming_strings (default on) */
  standardConformingStrings?: boolean;
  /** MySQL: upstream server version as a number like 101105 (10.11.5), for /*!NNNNN gates */
  serverVersion?: number;
  /** MySQL sql_mode flags that change lexing */
  ansiQuotes?: boolean;
  noBackslashEscapes?: boolean;
  mariadb?: boolean;
  /**
   * MySQL: the session's sql_mode has no strict flag (STRICT_TRANS_TABLES, STRICT_ALL_TABLES, TRADITIONAL), so a
   * column change to a narrower type cuts values without an error (effect-mysql.ts); undefined = the server default
   */
  relaxedSqlMode?: boolean;
}
