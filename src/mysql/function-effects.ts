// Which MySQL/MariaDB stored functions may write, for read grants (session/function-effects.ts). Defends against a
// read grant writing through an existing stored function: they run as their definer by default, and their
// characteristics (READS SQL DATA, NO SQL) are advisory — the server does not check them against the body. So a
// function may write when it runs as its definer, is declared MODIFIES SQL DATA or CONTAINS SQL (the default,
// i.e. unknown), its body cannot be read, or its body runs a statement that changes something (read by the same
// reader that decides CREATE PROCEDURE/FUNCTION texts, compound bodies included: session/function-effects.ts) or
// names another routine that may (read to a fixpoint over the snapshot).
import { mysqlRoutineBodyMayWrite, type FunctionCatalogView, type FunctionVerdict } from '../session/function-effects.js';

export interface MysqlFunctionRow {
  schema: string;
  name: string;
  type: string;
  dataAccess: string;
  security: string;
  definition: string | null;
}

/** System schemas: their routines are decided by name by the effect catalog (sql/mysql-functions.ts). */
const SYSTEM = new Set(['mysql', 'sys', 'information_schema', 'performance_schema']);
const lc = (s: string) => s.toLowerCase();

/** The body's words outside comments, lower-case: every name it may call (strings kept: only makes us stricter). */
function words(body: string): Set<string> {
  const text = body.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(--\s|#)[^\n]*/g, ' ');
  return new Set(lc(text).match(/[a-z_$][a-z0-9_$]*/g) ?? []);
}

export class MysqlFunctionCatalog implements FunctionCatalogView {
  /** schema.name and name → verdict; a name that may write in any schema is a writer unqualified */
  private readonly verdicts = new Map<string, FunctionVerdict>();
  /** the catalog could not be read: every user function counts as writing (fail closed) */
  private readonly unreadable: boolean = false;

  constructor(rows: MysqlFunctionRow[] | null) {
    if (!rows) {
      this.unreadable = true;
      return;
    }
    const routineNames = new Set(rows.map((r) => lc(r.name)));
    const writes = new Map<string, boolean>();
    const calls = new Map<string, Set<string>>();
    for (const r of rows) {
      const key = `${lc(r.schema)}.${lc(r.name)}`;
      const own = r.security.toUpperCase() === 'DEFINER' || /^(MODIFIES SQL DATA|CONTAINS SQL)$/i.test(r.dataAccess) || r.definition === null;
      const w = r.definition === null ? new Set<string>() : words(r.definition);
      writes.set(key, (writes.get(key) ?? false) || own || mysqlRoutineBodyMayWrite(r.definition!, r.type));
      calls.set(key, new Set([...w].filter((x) => routineNames.has(x) && x !== lc(r.name))));
    }
    // a function calling another routine that may write may write (by name: any schema's routine of that name)
    for (let changed = true; changed; ) {
      changed = false;
      for (const [key, called] of calls) {
        if (writes.get(key)) continue;
        if ([...called].some((n) => [...writes].some(([k, v]) => v && k.endsWith(`.${n}`)))) {
          writes.set(key, true);
          changed = true;
        }
      }
    }
    for (const r of rows) {
      if (r.type.toUpperCase() !== 'FUNCTION') continue;
      const key = `${lc(r.schema)}.${lc(r.name)}`;
      const v: FunctionVerdict = writes.get(key) ? 'writes' : 'reads';
      for (const k of [key, lc(r.name)]) if (this.verdicts.get(k) !== 'writes') this.verdicts.set(k, v);
    }
  }

  builtin(name: string): boolean {
    const n = lc(name);
    const dot = n.lastIndexOf('.');
    if (dot >= 0) return SYSTEM.has(n.slice(0, dot).replace(/`/g, ''));
    // unqualified: native functions take precedence over stored ones; a name no schema defines is native (or absent)
    return !this.unreadable && !this.verdicts.has(n);
  }

  verdict(name: string): FunctionVerdict | null {
    if (this.unreadable) return null;
    return this.verdicts.get(lc(name).replace(/`/g, '')) ?? 'unknown';
  }
}
