// Runs runCli with captured stdout/stderr.
import { runCli } from '../../../src/cli/run-cli.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function cli(argv: string[], env: Record<string, string | undefined> = {}, opts: { pollIntervalMs?: number } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: { write: (s: string) => { stdout += s; return true; } },
    stderr: { write: (s: string) => { stderr += s; return true; } },
    env,
    pollIntervalMs: opts.pollIntervalMs,
  });
  return { code, stdout, stderr };
}
