// USE statements: the database a USE switches to, read from the canonical tokens (the fact the protocol module
// checks against the grant's databases; version comments such as `/*!USE other*/` are read as the server reads them).
import type { Token } from './mysql-tokens.js';

/**
 * `USE name` → the name (a backtick name decoded, a bare word as written); `''` for a USE whose name cannot be
 * read (refused as a database outside every grant); null for any other statement.
 */
export function useDatabase(tokens: readonly Token[]): string | null {
  if (tokens[0]?.type !== 'word' || tokens[0].value !== 'USE') return null;
  const rest = tokens.slice(1).filter((t) => !(t.type === 'symbol' && t.value === ';'));
  const name = rest[0];
  if (rest.length !== 1 || !name) return '';
  if (name.type === 'quoted') return name.value;
  if (name.type === 'word') return name.raw;
  return '';
}
