// Which MySQL/MariaDB EXPLAIN/ANALYZE forms answer with the plan as text the optimizer wrote (for the row masker).
import { tokenize } from './mysql-tokens.js';

const EXPLAINED_STATEMENT = new Set(['SELECT', 'WITH', 'INSERT', 'UPDATE', 'DELETE', 'REPLACE', 'VALUES', 'TABLE']);

/**
 * Whether an EXPLAIN/ANALYZE answers with the plan as text the optimizer wrote (FORMAT=JSON and any other
 * format, MySQL's EXPLAIN ANALYZE, EXPLAIN FOR CONNECTION): MariaDB reads a const table's row while planning
 * and writes its values into the conditions it prints (`… NATURAL JOIN t2 WHERE u.id = 1` prints
 * `t2.email = 'alice@…'`), whether or not the statement names the column. The traditional table (and DESCRIBE
 * of a table) carries no values. A comment in the head is not read (`EXPLAIN /*!50000 FORMAT=JSON *\/ …`): text.
 */
export function explainPrintsText(text: string): boolean {
  const tokens = tokenize(text);
  let k = 0;
  while (k < tokens.length && !(tokens[k]!.type === 'word' && EXPLAINED_STATEMENT.has(tokens[k]!.value)) && !(tokens[k]!.type === 'symbol' && tokens[k]!.value === '(')) k++;
  const head = tokens.slice(0, k);
  const end = k < tokens.length ? tokens[k]!.start : text.length;
  if (/\/\*|#|--/.test(text.slice(0, end))) return true;
  return head.some((t, i) => t.type === 'word' && (t.value === 'FORMAT' || t.value === 'FOR' || (i === 1 && t.value === 'ANALYZE')));
}
