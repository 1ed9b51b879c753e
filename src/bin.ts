#!/usr/bin/env node
// The `dbwarden` executable: `serve` and `demo` load the broker (main.ts); every other command is a thin
// CLI that talks to the admin API and must start fast, so it never loads the broker's modules.
import { isBrokerError } from './errors.js';

async function dispatch(argv: string[]): Promise<number> {
  try {
    if (argv[0] === 'serve' || argv[0] === 'demo') {
      const { runServerCommand } = await import('./main.js');
      return await runServerCommand(argv);
    }
    const { runCli } = await import('./cli/run-cli.js');
    return await runCli(argv);
  } catch (e) {
    process.stderr.write(`dbwarden: ${isBrokerError(e) ? e.message : ((e as Error).stack ?? String(e))}\n`);
    return 1;
  }
}

dispatch(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
