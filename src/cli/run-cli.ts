// runCli: parses argv with node:util parseArgs, dispatches to a command, turns errors into one line and an exit code.
import { parseArgs } from 'node:util';
import { ApiClient, ApiError } from './api-client.js';
import { CliError, UsageError } from './cli-error.js';
import { processIo, type CliIo } from './cli-io.js';
import type { Command, CommandContext, OptionSpecs } from './command.js';
import { auditVerifyCommand } from './commands/audit.js';
import { auditTailCommand } from './commands/audit-tail.js';
import { extendCommand, grantsCommand, revokeCommand } from './commands/grants.js';
import { credentialsCommand, requestCommand } from './commands/request.js';
import { approveCommand, denyCommand, requestsCommand } from './commands/requests.js';
import { reviewApproveCommand, reviewDenyCommand, reviewsCommand } from './commands/reviews.js';
import { rulesCheckCommand, rulesLintCommand } from './commands/rules.js';
import { killCommand, sessionsCommand } from './commands/sessions.js';
import { tokenNewCommand } from './commands/token.js';
import { connectCommand } from './commands/connect.js';
import { targetsCommand } from './commands/targets.js';
import { commandHelp, groupHelp, HELP } from './help.js';
import { packageVersion } from './version.js';

export const DEFAULT_URL = 'http://127.0.0.1:7080';

const GLOBAL_OPTIONS: OptionSpecs = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};
/** global options that take a value: the scan for the command word must skip their values */
const VALUE_OPTIONS = new Set(['--url', '--token']);

const COMMANDS = new Map<string, Command>(
  [
    connectCommand, targetsCommand, requestCommand, credentialsCommand, requestsCommand, approveCommand, denyCommand,
    grantsCommand, revokeCommand, extendCommand, sessionsCommand, killCommand,
    reviewsCommand, reviewApproveCommand, reviewDenyCommand,
    rulesCheckCommand, rulesLintCommand, auditVerifyCommand, auditTailCommand, tokenNewCommand,
  ].map((c) => [c.name, c]),
);
/** commands made of two words */
const GROUPS = new Set(['review', 'rules', 'audit', 'token']);
/** handled by the executable before runCli (they start servers); listed in --help */
const ENTRY_POINT_COMMANDS = new Set(['demo', 'serve']);

export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  let json = argv.includes('--json');
  try {
    const words = commandWords(argv);
    const wantsHelp = argv.includes('--help') || argv.includes('-h');
    if ((argv.includes('--version') || argv.includes('-V') || words[0] === 'version') && !(wantsHelp && words.length > 0)) {
      io.stdout.write(json ? JSON.stringify({ version: packageVersion() }) + '\n' : `dbwarden ${packageVersion()}\n`);
      return 0;
    }
    if (words.length === 0 || words[0] === 'help') {
      // bare `dbwarden` prints the help too
      const about = words[0] === 'help' && words[1] ? commandHelp(words[1]) ?? groupHelp(words[1]) : undefined;
      io.stdout.write(about ?? HELP);
      return 0;
    }
    if (wantsHelp) {
      // a command's own help; nothing is started and no API is called
      const name = GROUPS.has(words[0]) && words[1] ? `${words[0]} ${words[1]}` : words[0];
      const text = commandHelp(name) ?? groupHelp(words[0]);
      if (!text) throw new UsageError(`unknown command "${name}"`);
      io.stdout.write(text);
      return 0;
    }
    if (ENTRY_POINT_COMMANDS.has(words[0])) {
      throw new UsageError(`"${words[0]}" is run by the dbwarden executable, not by this entry point`);
    }
    const group = GROUPS.has(words[0]);
    const name = group ? `${words[0]} ${words[1] ?? ''}`.trim() : words[0];
    const command = COMMANDS.get(name);
    if (!command) {
      throw new UsageError(group && !words[1] ? `"${words[0]}" needs a subcommand` : `unknown command "${name}"`);
    }

    const { values, positionals } = parseArgs({
      args: argv,
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    json = values.json === true;
    const args = positionals.slice(group ? 2 : 1);
    const [min, max] = command.arity;
    if (args.length < min) throw new UsageError(`${name}: missing argument`);
    if (args.length > max) throw new UsageError(`${name}: unexpected argument "${args[max]}"`);

    let client: ApiClient | undefined;
    const ctx: CommandContext = {
      io,
      args,
      values: values as CommandContext['values'],
      json,
      api() {
        client ??= apiClient(values.url as string | undefined, values.token as string | undefined, io);
        return client;
      },
      out: (text) => io.stdout.write(text),
      err: (line) => io.stderr.write(`dbwarden: ${line}\n`),
    };
    return await command.run(ctx);
  } catch (e) {
    return report(e, io, json);
  }
}

/** The first positional words of argv (command and possible subcommand), skipping options and their values. */
function commandWords(argv: string[]): string[] {
  const words: string[] = [];
  for (let i = 0; i < argv.length && words.length < 2; i++) {
    const a = argv[i];
    if (a === '--') break;
    if (VALUE_OPTIONS.has(a)) {
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    words.push(a);
  }
  return words.length === 2 && !GROUPS.has(words[0]) && words[0] !== 'help' ? words.slice(0, 1) : words;
}

function apiClient(urlOpt: string | undefined, tokenOpt: string | undefined, io: CliIo): ApiClient {
  const url = urlOpt ?? io.env.DBWARDEN_URL ?? DEFAULT_URL;
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('not http');
  } catch {
    throw new UsageError(`--url ${JSON.stringify(url)} is not an http(s) URL`);
  }
  const token = tokenOpt ?? io.env.DBWARDEN_TOKEN;
  if (!token) throw new UsageError('no API token: set DBWARDEN_TOKEN or pass --token (create one with "dbwarden token new")');
  return new ApiClient(url, token);
}

function report(e: unknown, io: CliIo, json: boolean): number {
  if (e instanceof TypeError && String((e as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS')) {
    const unknown = /Unknown option '([^']+)'/.exec(e.message);
    e = new UsageError(unknown ? `unknown option ${unknown[1]}` : e.message);
  }
  if (e instanceof ApiError) {
    if (json) io.stdout.write(JSON.stringify(e.body, null, 2) + '\n');
    io.stderr.write(`dbwarden: ${e.message} (${e.code})\n`);
    return e.exitCode;
  }
  if (e instanceof CliError) {
    if (json) io.stdout.write(JSON.stringify({ error: { code: e.code ?? 'error', message: e.message } }, null, 2) + '\n');
    io.stderr.write(`dbwarden: ${e.message}${e instanceof UsageError ? ' (see dbwarden --help)' : ''}\n`);
    return e.exitCode;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (json) io.stdout.write(JSON.stringify({ error: { code: (e as { code?: string }).code ?? 'error', message } }, null, 2) + '\n');
  io.stderr.write(`dbwarden: ${message}\n`);
  return 1;
}
