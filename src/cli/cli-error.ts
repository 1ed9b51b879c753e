// Errors the CLI reports as one line on stderr, each with the exit code it ends the process with.

export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(message: string, readonly exitCode = 1, readonly code?: string) {
    super(message);
  }
}

/** Wrong command line: exit 2, like most Unix tools. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, 2, 'usage');
  }
}
