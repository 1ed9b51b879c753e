// A prepared MySQL text with its `?` placeholders replaced by literals (the values of one execution), read the way
// the server reads it: comments dropped and strings kept whole by the lexer, so a `?` in either is not a placeholder.
import { lexMysql, type LexOptions } from './mysql-lexer.js';
import { tokenize } from './mysql-tokens.js';

/**
 * The prepared text with its placeholders replaced, one text per reading of it (quoting modes the session has not
 * confirmed are read every way); a placeholder whose value is unknown stays. null when a reading cannot be lexed.
 */
export function mysqlWithValues(text: string, values: readonly (string | undefined)[], opts: LexOptions[]): string[] | null {
  const out: string[] = [];
  for (const o of opts) {
    const lexed = lexMysql(text, o);
    if (!lexed.ok) return null;
    for (const st of lexed.statements) {
      let i = 0;
      let result = '';
      let from = 0;
      for (const t of tokenize(st.text)) {
        if (t.type !== 'symbol' || t.value !== '?') continue;
        const v = values[i++];
        if (v === undefined) continue;
        result += st.text.slice(from, t.start) + v;
        from = t.end;
      }
      out.push(result + st.text.slice(from));
    }
  }
  return out;
}
