// Entry point of the sql module: dialect dispatch from statement text to StatementFacts[].
import { init as initSqlparserRs } from '@guanmingchiu/sqlparser-ts';
import { loadModule } from 'libpg-query';
import { catalogEffects } from './effect-catalog.js';
import type { Dialect, ReadOptions, StatementFacts } from './facts.js';
import { mysqlFacts } from './mysql-facts.js';
import { postgresFacts, unparsed } from './postgres-facts.js';

let loaded: Promise<void> | undefined;
let ready = false;

/** Loads the PostgreSQL and MySQL parsers (both WASM) once; await it before the first analyze(). */
export function initSql(): Promise<void> {
  loaded ??= Promise.all([loadModule(), initSqlparserRs()]).then(() => {
    ready = true;
  });
  return loaded;
}

/**
 * Facts for every statement (top-level and nested) in `text`. Synchronous and never throws: what
 * cannot be read becomes one 'unparsed' fact, so a parser problem blocks instead of letting text
 * through unchecked. Empty text or only comments gives [] (the server answers EmptyQueryResponse).
 */
export function analyze(dialect: Dialect, text: string, opts: ReadOptions = {}): StatementFacts[] {
  switch (dialect) {
    case 'postgres':
      if (!ready) return [unparsed('sql parser not initialised: await initSql() first', text)];
      return catalogEffects('postgres', postgresFacts(text, opts));
    case 'mysql':
      if (!ready) return [unparsed('sql parser not initialised: await initSql() first', text)];
      return catalogEffects('mysql', mysqlFacts(text, opts));
    default:
      return [unparsed(`unknown dialect ${String(dialect)}`, text)];
  }
}
