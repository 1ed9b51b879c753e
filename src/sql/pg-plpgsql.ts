// PL/pgSQL bodies (CREATE FUNCTION … LANGUAGE plpgsql, DO blocks) read with libpg-query's PL/pgSQL parser: every
// embedded SQL statement and expression as SQL text, so each is decided as if it were sent on its own (rules,
// write-on-read-grant, unscoped writes, masks). A body with dynamic SQL (EXECUTE, FOR … IN EXECUTE, OPEN … FOR
// EXECUTE, RETURN QUERY EXECUTE) or anything the reader cannot turn into SQL stays unreadable: the caller keeps the
// statement `dynamic`, which safe-defaults refuses. Defends against code the broker would otherwise not see.
import { parsePlPgSQLSync, parseSync } from 'libpg-query';
import type { AstNode as Ast } from './ast.js';


/** PL/pgSQL statements that repeat their body. */
const LOOPS = new Set(['PLpgSQL_stmt_loop', 'PLpgSQL_stmt_while', 'PLpgSQL_stmt_fori', 'PLpgSQL_stmt_fors', 'PLpgSQL_stmt_forc', 'PLpgSQL_stmt_foreach_a']);
const WRITE_NODES = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/** True when the statement (or a CTE in it) changes rows. */
function writes(sql: string): boolean {
  const stmts: Ast[] = (parseSync(sql) as Ast).stmts ?? [];
  const json = JSON.stringify(stmts);
  return [...WRITE_NODES].some((n) => json.includes(`"${n}"`));
}

/** RawParseMode of a PLpgSQL_expr: 0 is a whole SQL statement; 2 an expression; 3–5 the forms of `target := expr`. */
const MODE_STATEMENT = 0;

/**
 * The SQL statements a PL/pgSQL body runs, or null when it cannot be read statically (dynamic SQL, parse failure).
 * `text` is the whole CREATE FUNCTION / DO statement text as the client sent it.
 */
export function plpgsqlStatements(text: string): string[] | null {
  let parsed: Ast;
  try {
    parsed = parsePlPgSQLSync(text);
  } catch {
    return null;
  }
  const funcs: Ast[] = parsed?.plpgsql_funcs ?? [];
  if (!funcs.length) return null;
  const out: string[] = [];
  let dynamic = false;
  let loops = 0;
  const visit = (node: Ast): void => {
    if (dynamic || node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) {
      for (const n of node) visit(n);
      return;
    }
    for (const key of Object.keys(node)) {
      const v = node[key];
      // EXECUTE 'string', FOR r IN EXECUTE …, OPEN c FOR EXECUTE …, RETURN QUERY EXECUTE …: code built at run time
      if (/dyn/i.test(key)) {
        dynamic = true;
        return;
      }
      if (key === 'PLpgSQL_expr') {
        const sql = exprStatement(v);
        // a write repeated by a loop touches as many rows as the loop runs (`FOR r IN SELECT … LOOP DELETE … WHERE
        // id = r.id`): each statement looks scoped, the whole is not, so such a body is not read as static
        if (sql === null || (loops > 0 && writes(sql))) {
          dynamic = true;
          return;
        }
        out.push(sql);
        continue;
      }
      const loop = LOOPS.has(key);
      if (loop) loops++;
      visit(v);
      if (loop) loops--;
    }
  };
  visit(funcs);
  return dynamic ? null : out;
}

/** One PLpgSQL_expr as a SQL statement the PostgreSQL parser reads: statements as they are, expressions as SELECTs. */
function exprStatement(e: Ast): string | null {
  const q = typeof e?.query === 'string' ? e.query : null;
  if (q === null) return null;
  const mode = e.parseMode ?? MODE_STATEMENT;
  let sql: string;
  if (mode === MODE_STATEMENT) sql = q;
  else if (mode >= 3) {
    // `target := expr` / `target = expr`: the expression is what runs
    const m = /^\s*(?:"(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$]*)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[\p{L}_][\p{L}\p{N}_$]*)|\s*\[[^\]]*\])*\s*:?=\s*/u.exec(q);
    if (!m) return null;
    sql = `SELECT ${q.slice(m[0].length)}`;
  } else sql = `SELECT ${q}`;
  try {
    const stmts: Ast[] = (parseSync(sql) as Ast).stmts ?? [];
    return stmts.length === 1 ? sql : null;
  } catch {
    return null;
  }
}
