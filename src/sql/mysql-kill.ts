// KILL statements: which thread a KILL names, read from the canonical tokens (the fact the protocol module acts on).
import type { Effect, KillTarget } from './facts.js';
import type { Token } from './mysql-tokens.js';

/**
 * `KILL [HARD|SOFT] [CONNECTION | QUERY [ID]] <integer>` names one thread: effect `session` (the broker
 * carries it out only on a session of the same grant, wherever the KILL stands in a text). Every other form
 * (an expression such as `KILL @id` or `KILL CONNECTION_ID()`, `KILL USER u`, `KILL QUERY ID <query id>`) names
 * threads the broker cannot check before the server acts: effect `admin`, thread null.
 */
export function killFacts(tokens: readonly Token[]): { effects: Effect[]; kill: KillTarget } | null {
  if (tokens[0]?.type !== 'word' || tokens[0].value !== 'KILL') return null;
  let k = 1;
  const word = (v: string): boolean => tokens[k]?.type === 'word' && tokens[k]!.value === v;
  if (word('HARD') || word('SOFT')) k++;
  let query = false;
  let queryId = false;
  if (word('CONNECTION')) k++;
  else if (word('QUERY')) {
    query = true;
    k++;
    // MariaDB's KILL QUERY ID names a query id, not a thread
    if (word('ID')) {
      queryId = true;
      k++;
    }
  }
  const id = tokens[k];
  const rest = tokens.slice(k + 1).filter((t) => !(t.type === 'symbol' && t.value === ';'));
  if (!queryId && id?.type === 'number' && /^\d{1,19}$/.test(id.value) && rest.length === 0) {
    const n = Number(id.value);
    if (Number.isSafeInteger(n)) return { effects: ['session'], kill: { thread: n, query } };
  }
  return { effects: ['admin'], kill: { thread: null, query } };
}
