// The one type of parser AST nodes the sql/ readers walk (libpg-query's and sqlparser-rs's JSON trees).

/**
 * A node of a parser's JSON AST. Neither parser ships types for its JSON output (and both change shape between
 * versions), so the readers treat every node as untyped and read it defensively (`?.`, checks of what a field
 * holds). Declared once here, so a stricter type can replace it in one place.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AstNode = any;
