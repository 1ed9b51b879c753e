// What a MySQL SHOW statement reads, for the SHOW forms that are views of a table: SHOW [FULL] PROCESSLIST is
// information_schema.PROCESSLIST (every session's statement text), so table rules about that table cover it too.
import type { TableRef } from './facts.js';
import { wordsAt, type Token } from './mysql-tokens.js';

export function showSources(tokens: readonly Token[]): TableRef[] {
  if (wordsAt(tokens, 0, 'SHOW', 'PROCESSLIST') || wordsAt(tokens, 0, 'SHOW', 'FULL', 'PROCESSLIST')) {
    return [{ name: 'information_schema.processlist', op: 'read' }];
  }
  return [];
}
