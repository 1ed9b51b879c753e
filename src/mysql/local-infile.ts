// LOAD DATA LOCAL INFILE through the broker: refused with the broker's own error that says why.
import type { StatementFacts } from '../sql/facts.js';
import { ErrorCode } from '../errors.js';

/**
 * The broker never negotiates CLIENT_LOCAL_FILES: with it, the server may ask the client for any file on the
 * client's host at any time (a hostile or compromised upstream reading ~/.ssh), and the file's bytes would
 * bypass the statement checks. So a LOAD … LOCAL statement is answered here instead of with the server's
 * puzzling "capability disabled" error (MariaDB 4166). LOAD DATA INFILE (a server-side file) is left to the rules.
 */
export const LOCAL_INFILE_REFUSAL = {
  code: ErrorCode.LOCAL_FILE_REFUSED,
  message: 'dbwarden: LOAD DATA LOCAL INFILE is not supported through the broker (it would let the server read files on your machine); load the rows with INSERT statements, or with LOAD DATA INFILE from a file on the database server if your grant allows it',
} as const;

export function readsClientFile(statements: readonly StatementFacts[]): boolean {
  return statements.some((st) => st.clientFile);
}
