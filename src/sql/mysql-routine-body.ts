// MySQL/MariaDB stored routines whose body is one plain statement (`CREATE PROCEDURE p() UPDATE …`,
// `CREATE FUNCTION f(…) RETURNS … RETURN <expr>`): the body as a statement the broker can decide as if it were sent.
// Compound bodies (BEGIN … END, IF, LOOP, labels…) are not read here: the lexer splits their `;` where the server
// does not, so they stay `dynamic` (refused) rather than be read differently from the server.
import { tokenize, type Token } from './mysql-tokens.js';

/** Words a procedure body may start with to be read as one plain statement. */
const PLAIN_STARTS = new Set(['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'WITH']);
/** Characteristics between the parameter list (or RETURNS type) and the body. */
const CHARACTERISTIC_WORDS = new Set(['LANGUAGE', 'SQL', 'NOT', 'DETERMINISTIC', 'CONTAINS', 'NO', 'READS', 'MODIFIES', 'DATA', 'SECURITY', 'DEFINER', 'INVOKER']);

/**
 * The body of a CREATE PROCEDURE/FUNCTION canonical text as a statement text (`RETURN e` becomes `SELECT e`),
 * or null when the body is not one plain statement the broker reads the way the server does.
 */
export function routineSingleBody(canonical: string): string | null {
  const tokens = tokenize(canonical);
  const at = (k: number, w: string) => tokens[k]?.type === 'word' && tokens[k]!.value === w;
  let k = 0;
  if (!at(k, 'CREATE')) return null;
  k++;
  if (at(k, 'OR') && at(k + 1, 'REPLACE')) k += 2;
  // a routine run with another account's privileges (DEFINER = …) is not read: it stays refused as before
  if (at(k, 'DEFINER')) return null;
  if (at(k, 'AGGREGATE')) return null;
  const isFunction = at(k, 'FUNCTION');
  if (!isFunction && !at(k, 'PROCEDURE')) return null;
  k++;
  if (at(k, 'IF') && at(k + 1, 'NOT') && at(k + 2, 'EXISTS')) k += 3;
  // name, possibly qualified
  k = skipName(tokens, k);
  if (tokens[k]?.value !== '(') return null;
  k = skipParens(tokens, k);
  if (k < 0) return null;
  if (isFunction) {
    if (!at(k, 'RETURNS')) return null;
    // the return type runs to the first characteristic or RETURN
    k++;
    while (k < tokens.length && !at(k, 'RETURN') && !(tokens[k]!.type === 'word' && CHARACTERISTIC_WORDS.has(tokens[k]!.value) && !at(k, 'DATA')) && !at(k, 'COMMENT')) {
      if (tokens[k]!.value === '(') {
        k = skipParens(tokens, k);
        if (k < 0) return null;
      } else k++;
    }
  }
  for (;;) {
    if (at(k, 'COMMENT') && tokens[k + 1]?.type === 'string') k += 2;
    else if (tokens[k]?.type === 'word' && CHARACTERISTIC_WORDS.has(tokens[k]!.value)) k++;
    else break;
  }
  const start = tokens[k];
  if (!start) return null;
  const rest = canonical.slice(start.start).trim();
  if (isFunction) return at(k, 'RETURN') && tokens.length > k + 1 ? `SELECT ${canonical.slice(tokens[k + 1]!.start).trim()}` : null;
  return start.type === 'word' && PLAIN_STARTS.has(start.value) ? rest : null;
}

function skipName(tokens: readonly Token[], k: number): number {
  if (tokens[k]?.type !== 'word' && tokens[k]?.type !== 'quoted') return k;
  k++;
  while (tokens[k]?.value === '.' && (tokens[k + 1]?.type === 'word' || tokens[k + 1]?.type === 'quoted')) k += 2;
  return k;
}

/** Index after the parenthesis group opening at k, or -1 when it does not close. */
function skipParens(tokens: readonly Token[], k: number): number {
  let depth = 0;
  for (let j = k; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (t.type === 'symbol' && t.value === '(') depth++;
    else if (t.type === 'symbol' && t.value === ')' && --depth === 0) return j + 1;
  }
  return -1;
}
