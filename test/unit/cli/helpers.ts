// Runs runCli with captured stdout/stderr.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../src/cli/run-cli.js';

/** the grant cache of these tests: never the developer's own ~/.cache/dbwarden */
const CACHE_DIR = mkdtempSync(join(tmpdir(), 'dbw-cli-cache-'));

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
    env: { DBWARDEN_CACHE_DIR: CACHE_DIR, ...env },
    pollIntervalMs: opts.pollIntervalMs,
  });
  return { code, stdout, stderr };
}
