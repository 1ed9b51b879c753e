#!/usr/bin/env node
// The `dbwarden` executable: `serve` and `demo` load the broker (main.ts); every other command is a thin
// CLI that talks to the admin API and must start fast, so it never loads the broker's modules.
import { isBrokerError } from './errors.js';
import { commandHelp } from './cli/help.js';

/**
 * A reader that goes away (`dbwarden audit tail | head`) closes the pipe: stop quietly, as Unix tools do,
 * instead of dying on an unhandled EPIPE.
 */
function exitQuietlyOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}

async function dispatch(argv: string[]): Promise<number> {
  const server = argv[0] === 'serve' || argv[0] === 'demo';
  try {
    if (server) {
      if (argv.includes('--help') || argv.includes('-h')) {
        process.stdout.write(commandHelp(argv[0]!)!);
        return 0;
      }
      const { runServerCommand } = await import('./main.js');
      return await runServerCommand(argv);
    }
    const { runCli } = await import('./cli/run-cli.js');
    return await runCli(argv);
  } catch (e) {
    // one line; the stack only when asked for (DBWARDEN_DEBUG=1)
    const message = isBrokerError(e) || !process.env.DBWARDEN_DEBUG ? (e as Error).message ?? String(e) : ((e as Error).stack ?? String(e));
    process.stderr.write(`dbwarden: ${message}\n`);
    // a broker that failed half-way may hold open listeners or timers: do not linger
    if (server) process.exit(1);
    return 1;
  }
}

exitQuietlyOnClosedPipe(process.stdout);
exitQuietlyOnClosedPipe(process.stderr);
dispatch(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
