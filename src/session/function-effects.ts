// Effects of user functions on a read grant: the broker decides by function name, and a user function's name says
// nothing about what it does. Defends against writing through an existing function on a read grant (a volatile
// plpgsql function that DELETEs, any SECURITY DEFINER function, a MySQL stored function that MODIFIES SQL DATA):
// the protocol module supplies a catalog snapshot of the target's user functions, and a call to one that may
// write — or to one the snapshot does not know, or any user function while the catalog cannot be read — is a
// write effect, which the read-only rule then refuses. Builtins never touch the catalog (no cost for them).
import type { StatementFacts } from '../sql/facts.js';
import { matchFunction } from '../rules/glob.js';

/** What a catalog knows about one called name. */
export type FunctionVerdict = 'builtin' | 'reads' | 'writes' | 'unknown';

export interface FunctionCatalogView {
  /** null while the catalog cannot be read (then every user function is treated as writing: fail closed) */
  verdict(name: string): FunctionVerdict | null;
  /** true for names the server provides itself (decided by name elsewhere); never needs the snapshot */
  builtin(name: string): boolean;
  /** PostgreSQL: 'writes' when some user operator of that name is bound to a function that may write */
  operator?(name: string): FunctionVerdict | null;
}

/**
 * The facts with `write` added to every statement that calls a user function that may write, and the names
 * that made it so; undefined when nothing changes. `clean` globs (schema.name, from the rule files) exempt a
 * function an administrator has checked.
 */
export function withFunctionEffects(statements: StatementFacts[], cat: FunctionCatalogView, clean: readonly string[]): { statements: StatementFacts[]; names: string[] } | undefined {
  const names: string[] = [];
  let changed = false;
  const out = statements.map((st) => {
    if ((!st.functions.length && !st.operators?.length) || st.effects.includes('write')) return st;
    // an existing operator is the function behind it (pg_operator.oprcode): `1 @@@ 2` may be a DELETE
    const ops = (st.operators ?? []).filter((o) => cat.operator?.(o) === 'writes' && !clean.some((p) => matchFunction(p, o)));
    const writing = [...ops.map((o) => `operator ${o}`), ...st.functions.filter((f) => {
      if (cat.builtin(f)) return false;
      if (clean.some((p) => matchFunction(p, f))) return false;
      const v = cat.verdict(f);
      return v === null || v === 'writes' || v === 'unknown';
    })];
    if (!writing.length) return st;
    changed = true;
    names.push(...writing);
    return { ...st, effects: [...st.effects, 'write' as const] };
  });
  return changed ? { statements: out, names: [...new Set(names)] } : undefined;
}
