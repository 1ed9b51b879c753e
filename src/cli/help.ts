// The text of `dbwarden --help` and of every command's own `--help`, from one table (docs/cli.md is generated from it).

export interface CommandHelp {
  /** the command words, e.g. "review approve" */
  name: string;
  group: 'broker' | 'access' | 'offline' | 'other';
  /** options and arguments after the command words */
  args: string;
  summary: string;
  /** extra paragraphs shown by `dbwarden <command> --help` */
  details?: string;
  /** talks to the admin API (takes --url, --token, --json) */
  api?: boolean;
}

export const COMMAND_HELP: CommandHelp[] = [
  {
    name: 'demo', group: 'broker', args: '[--state DIR] [--listen HOST:PORT] [--admin HOST:PORT] [--reset]',
    summary: 'start an embedded PostgreSQL, the broker and a 1-hour grant',
    details: `Starts an embedded PostgreSQL (PGlite) as target "demo", the broker with the shipped rules (safe-defaults,
pii-masking) and a 1-hour write grant, then prints a ready-to-paste psql line and the admin token.
  --state DIR          where the demo keeps its database, audit file and grants (default ./.dbwarden/demo)
  --listen HOST:PORT   PostgreSQL listener (default 127.0.0.1:7432)
  --admin HOST:PORT    admin API (default 127.0.0.1:7080)
  --reset              delete the demo state first and start from the shipped sample data
Ctrl-C (SIGINT) or SIGTERM stops it; a second signal exits at once.`,
  },
  {
    name: 'serve', group: 'broker', args: '[--config FILE]',
    summary: 'run the broker (default config ./dbwarden.yaml)',
    details: `Runs the broker with the given configuration (see docs/configuration.md).
SIGTERM or SIGINT drains: new connections are refused, sessions inside a transaction get broker.shutdownGrace
to finish, every session is ended with "dbwarden: broker shutting down" (PostgreSQL 57P01, MySQL 1927) and
audited, the audit file is closed last, exit 0. A second signal exits at once (exit 1). SIGHUP reloads the rules and the rule sets each target uses (targets.<name>.rulesets) from the config file.`,
  },
  {
    name: 'connect', group: 'access', api: true,
    args: 'TARGET [--access read|write|admin] [--database D] [--ttl 1h] [--reason "…"] [--print] [--timeout 10m] [--client PROGRAM]',
    summary: 'get a grant (or reuse your live one) and start psql or mariadb/mysql with it',
    details: `Reuses a live grant of yours on TARGET with the same access (and database) when the password of it is
still known to this machine's session; otherwise requests one (--access default read, --ttl default 1h, --reason
default "dbwarden connect"), waits for approval showing progress, then starts the client. The password is passed
in the environment (PGPASSWORD / MYSQL_PWD), never on the command line or in a URL. The session ends when the
grant does.
  --print            print the command line instead of running it (without the password)
  --client PROGRAM   client to start (default psql for PostgreSQL targets, mariadb or else mysql for MySQL)`,
  },
  { name: 'targets', group: 'access', api: true, args: '', summary: 'what you may request: targets, protocols, databases, access levels, max TTL, approvals' },
  {
    name: 'request', group: 'access', api: true,
    args: 'TARGET --access read|write|admin --ttl 30m --reason "…" [--database D]… [--wait] [--timeout 10m]',
    summary: 'ask for access; prints login, password and a psql/mysql line once active',
    details: '--wait blocks until the request is approved, denied or --timeout passes (progress on stderr).',
  },
  { name: 'credentials', group: 'access', api: true, args: 'REQUEST', summary: 'collect the password of an approved request (once)' },
  { name: 'requests', group: 'access', api: true, args: '[--status pending|active|denied|expired|revoked]', summary: 'requests you may see (approvers: all; others: their own)' },
  { name: 'approve', group: 'access', api: true, args: 'REQUEST [--comment …]', summary: 'approve a pending request (not your own)' },
  { name: 'deny', group: 'access', api: true, args: 'REQUEST [--reason …]', summary: 'deny a pending request (the requester sees the reason)' },
  { name: 'grants', group: 'access', api: true, args: '[--all]', summary: 'active grants (--all: also revoked, expired ones)' },
  { name: 'revoke', group: 'access', api: true, args: 'GRANT [--reason …]', summary: 'end a grant and every session using it' },
  { name: 'extend', group: 'access', api: true, args: 'GRANT --ttl 15m', summary: "push a grant's expiry back (within its policy's maxTtl)" },
  { name: 'sessions', group: 'access', api: true, args: '', summary: 'live sessions on every broker instance' },
  { name: 'kill', group: 'access', api: true, args: 'SESSION', summary: 'end a session (yours, or one of a grant you may revoke)' },
  { name: 'reviews', group: 'access', api: true, args: '', summary: 'statements waiting for review' },
  { name: 'review approve', group: 'access', api: true, args: 'REVIEW [--comment …]', summary: 'let a reviewed statement run once' },
  { name: 'review deny', group: 'access', api: true, args: 'REVIEW [--comment …]', summary: 'refuse a reviewed statement' },
  {
    name: 'rules check', group: 'offline',
    args: '--dialect postgres|mysql [--access read|write|admin] [--config FILE --target T | --rules DIR] [--group G]… "SQL"',
    summary: 'prints the decision as JSON; exit 0 allow/warn/mask, 3 block, 4 review',
    details: `With --config and --target, applies exactly the rule sets that target uses (its "rulesets" and the
config's "rules" folder), as the broker would. Without them, every rule file in --rules (default ./rules, else
the shipped rule sets) applies. --access defaults to write.`,
  },
  { name: 'rules lint', group: 'offline', args: '[DIR]', summary: 'validate rule files (default ./rules, else the shipped rule sets)' },
  {
    name: 'audit verify', group: 'offline', args: '[FILE | --config FILE]',
    summary: 'verify the audit hash chain; exit 1 if broken',
    details: 'FILE defaults to audit.file of --config (or of ./dbwarden.yaml), else ./.dbwarden/audit.jsonl.',
  },
  {
    name: 'audit tail', group: 'offline', args: '[FILE | --config FILE] [-f|--follow] [--grant G] [--identity I] [--type T]',
    summary: 'one readable line per audit event (--type statement, grant, grant.revoked, …)',
    details: 'FILE defaults to audit.file of --config (or of ./dbwarden.yaml), else ./.dbwarden/audit.jsonl.',
  },
  { name: 'token new', group: 'offline', args: '', summary: 'a fresh API token and the sha256 for the config' },
  { name: 'version', group: 'other', args: '', summary: 'print the version (also --version)' },
];

const API_OPTIONS = `options for commands that talk to the broker
  --url URL        admin API (env DBWARDEN_URL, default http://127.0.0.1:7080)
  --token TOKEN    API token (env DBWARDEN_TOKEN; prefer the variable: arguments show up in process lists)
  --json           machine-readable output: the API's objects, errors as {"error": {"code", "message"}}
`;

const GROUP_TITLES = { broker: 'broker', access: 'access (talk to the admin API)', offline: 'offline (no broker needed)', other: 'other' } as const;

function line(c: CommandHelp): string {
  const head = `  ${c.name}${c.args ? ` ${c.args}` : ''}`;
  return head.length < 40 ? `${head.padEnd(40)}${c.summary}\n` : `${head}\n${' '.repeat(40)}${c.summary}\n`;
}

export const HELP = `dbwarden: database session broker with just-in-time access and SQL guardrails

usage: dbwarden <command> [options]        dbwarden <command> --help for a command's own help

${(Object.keys(GROUP_TITLES) as (keyof typeof GROUP_TITLES)[]).map((g) => `${GROUP_TITLES[g]}\n${COMMAND_HELP.filter((c) => c.group === g).map(line).join('')}`).join('\n')}
${API_OPTIONS}  -h, --help       help (of a command: dbwarden <command> --help)
  -V, --version    the version

exit codes: 0 ok, 1 failed, 2 usage error, 3 blocked by a rule, 4 review required
`;

/** `dbwarden <command> --help`; undefined for an unknown command. */
export function commandHelp(name: string): string | undefined {
  const c = COMMAND_HELP.find((h) => h.name === name);
  if (!c) return undefined;
  return `usage: dbwarden ${c.name}${c.args ? ` ${c.args}` : ''}\n\n${c.summary}\n${c.details ? `\n${c.details}\n` : ''}${c.api ? `\n${API_OPTIONS}` : ''}`;
}

/** The names of the groups of two-word commands, e.g. "rules" → its subcommands' help. */
export function groupHelp(group: string): string | undefined {
  const subs = COMMAND_HELP.filter((c) => c.name.startsWith(`${group} `));
  if (subs.length === 0) return undefined;
  return `usage: dbwarden ${group} <${subs.map((c) => c.name.split(' ')[1]).join('|')}> …\n\n${subs.map(line).join('')}`;
}
