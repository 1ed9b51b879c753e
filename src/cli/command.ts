// The shape every CLI command implements, and what runCli hands it.
import type { ParseArgsConfig } from 'node:util';
import type { ApiClient } from './api-client.js';
import type { CliIo } from './cli-io.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export interface CommandContext {
  io: CliIo;
  /** positionals after the command (and subcommand) words */
  args: string[];
  /** parsed options: string, boolean or string[] (multiple) */
  values: Record<string, string | boolean | string[] | undefined>;
  json: boolean;
  /** the admin API client; throws a usage error when no token is configured */
  api(): ApiClient;
  out(text: string): void;
  err(line: string): void;
}

export interface Command {
  /** e.g. "grants" or "review approve" */
  name: string;
  options?: OptionSpecs;
  /** how many positionals: [min, max] */
  arity: [number, number];
  run(ctx: CommandContext): Promise<number>;
}

/** A string option's value, undefined when absent; callers decide whether it is required. */
export function stringOpt(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

export function listOpt(ctx: CommandContext, name: string): string[] {
  const v = ctx.values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.out(JSON.stringify(value, null, 2) + '\n');
}
