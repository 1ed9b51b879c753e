// Entry point of the sql module: dialect dispatch from statement text to StatementFacts[].
import { loadModule } from 'libpg-query';
import type { Dialect, ReadOptions, StatementFacts } from './facts.js';
import { postgresFacts, unparsed } from './postgres-facts.js';

let loaded: Promise<void> | undefined;
let ready = false;

/** Loads the PostgreSQL parser (WASM) once; await it before the first analyze(). */
export function initSql(): Promise<void> {
  loaded ??= loadModule().then(() => {
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
      return postgresFacts(text, opts);
    case 'mysql':
      return [unparsed('mysql dialect not yet supported', text)];
    default:
      return [unparsed(`unknown dialect ${String(dialect)}`, text)];
  }
}
