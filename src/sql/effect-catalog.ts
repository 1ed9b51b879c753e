// Effects that follow from WHAT a statement touches, whatever its kind: writes to the server's own catalogs, CREATE OR REPLACE as a drop.
import type { Dialect, StatementFacts } from './facts.js';

// Defends against privilege and identity changes spelled as DML or DDL on the catalogs (`UPDATE pg_authid SET
// rolsuper = true`, `INSERT INTO mysql.global_priv …`, `DELETE FROM pg_catalog.pg_constraint …`,
// `UPDATE pg_proc SET prosrc = …`): the catalogs hold roles, privileges, routine bodies and constraints, so any
// write or DDL on them is a privilege change (dcl), whichever statement kind carries it. PostgreSQL searches
// pg_catalog first for an unqualified name, so `pg_…` without a schema is the catalog too.

function isCatalog(dialect: Dialect, name: string): boolean {
  const n = name.toLowerCase().replace(/["`]/g, '');
  if (dialect === 'postgres') return n.startsWith('pg_catalog.') || n.startsWith('information_schema.') || (!n.includes('.') && n.startsWith('pg_'));
  return n.startsWith('mysql.') || n.startsWith('information_schema.') || n.startsWith('performance_schema.') || n.startsWith('sys.');
}

/** Adds the effects implied by the objects each statement writes (in place; returns the same array). */
export function catalogEffects(dialect: Dialect, facts: StatementFacts[]): StatementFacts[] {
  for (const f of facts) {
    if (f.tables.some((t) => t.op !== 'read' && isCatalog(dialect, t.name)) && !f.effects.includes('dcl')) f.effects.push('dcl');
  }
  return facts;
}
