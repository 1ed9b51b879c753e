// The grant's database scope, applied to every statement of a MySQL session (the protocol module already refuses
// a USE, COM_INIT_DB or connect database outside it).
//
// Defends against reaching another database without switching to it: a MariaDB connection can name any database
// its upstream role may use, and all grants of one access level share that role, so `SELECT * FROM payroll.t` or
// `DELETE FROM other.t WHERE id = 1` on a grant for `app` would read or change data the grant never covered.
// The names come from the facts (sql/mysql-databases.ts): qualified tables, views, routines and sequences, database
// DDL and SHOW … FROM db, in nested statements too (PREPARE bodies, routine bodies, EXPLAIN targets).
import { isSystemSchema } from '../sql/mysql-databases.js';
import type { Decision } from '../rules/types.js';
import type { StatementFacts } from '../sql/facts.js';

export const DATABASE_SCOPE_RULE = 'database-scope';

/** The first database a statement names that the grant does not cover (system schemas excepted), with its statement. */
export function outsideDatabase(statements: readonly StatementFacts[], granted: readonly string[]): { database: string; statement: number } | undefined {
  for (const [i, st] of statements.entries()) {
    for (const db of st.databases ?? []) {
      // compared as the server keys names on Linux (case-sensitive); another case is refused, never widened
      if (!granted.includes(db) && !isSystemSchema(db)) return { database: db, statement: i };
    }
  }
  return undefined;
}

/** `decision` unchanged, or a refusal naming the database outside the grant. */
export function withinDatabases(decision: Decision, granted: readonly string[]): Decision {
  const out = outsideDatabase(decision.statements, granted);
  if (!out) return decision;
  const name = out.database === '?' ? 'a database the broker could not read' : `database '${out.database}'`;
  return {
    action: 'block',
    rules: [{
      id: DATABASE_SCOPE_RULE, ruleset: 'dbwarden', action: 'block', statement: out.statement,
      message: `${name} is outside this grant (it covers ${granted.join(', ')}); request access to it`,
    }, ...decision.rules],
    statements: decision.statements,
  };
}
