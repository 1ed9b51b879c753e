// What a MySQL SHOW statement reads, for the SHOW forms that are views of a table: SHOW [FULL] PROCESSLIST is
// information_schema.PROCESSLIST (every session's statement text), so table rules about that table cover it too.
// SHOW EXPLAIN/ANALYZE … FOR n and EXPLAIN … FOR CONNECTION n read another session's statement the same way (its
// plan, which prints values read while planning and the statement's literals).
import type { TableRef } from './facts.js';
import { wordsAt, type Token } from './mysql-tokens.js';

export function showSources(tokens: readonly Token[]): TableRef[] {
  if (wordsAt(tokens, 0, 'SHOW', 'PROCESSLIST') || wordsAt(tokens, 0, 'SHOW', 'FULL', 'PROCESSLIST')) {
    return [{ name: 'information_schema.processlist', op: 'read' }];
  }
  // `SHOW EXPLAIN FORMAT=JSON FOR 12` through the broker returned another grant's in-flight plan with a masked
  // value in its conditions (both grants log in upstream as one role, which may see its own sessions)
  if (wordsAt(tokens, 0, 'SHOW', 'EXPLAIN') || wordsAt(tokens, 0, 'SHOW', 'ANALYZE')) {
    return [{ name: 'information_schema.processlist', op: 'read' }];
  }
  const explain = wordsAt(tokens, 0, 'EXPLAIN') || wordsAt(tokens, 0, 'DESCRIBE') || wordsAt(tokens, 0, 'DESC');
  if (explain && tokens.some((t, i) => t.type === 'word' && t.value === 'FOR' && tokens[i + 1]?.type === 'word' && tokens[i + 1]!.value === 'CONNECTION')) {
    return [{ name: 'information_schema.processlist', op: 'read' }];
  }
  return [];
}
