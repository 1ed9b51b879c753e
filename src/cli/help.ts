// The text of `dbwarden --help`.

export const HELP = `dbwarden: database session broker with just-in-time access and SQL guardrails

usage: dbwarden <command> [options]

broker
  demo                                  start an embedded PostgreSQL, the broker and a 1-hour grant
  serve [--config FILE]                 run the broker (default config ./dbwarden.yaml)

access
  request TARGET --access read|write|admin --ttl 30m --reason "…" [--database D]… [--wait] [--timeout 10m]
                                        ask for access; prints login, password and a psql/mysql line once active
  credentials REQUEST                   collect the password of an approved request (once)
  requests [--status pending|active|denied|expired|revoked]
  approve REQUEST [--comment …]         approve a pending request (not your own)
  deny REQUEST [--reason …]
  grants [--all]                        active grants (--all: also ended ones)
  revoke GRANT [--reason …]             end a grant and every session using it
  extend GRANT --ttl 15m
  sessions                              live sessions on every broker instance
  kill SESSION
  reviews                               statements waiting for review
  review approve|deny REVIEW [--comment …]

offline (no broker needed)
  rules check --dialect postgres|mysql [--access read|write|admin] [--rules DIR] [--target T] [--group G]… "SQL"
                                        prints the decision as JSON; exit 0 allow/warn/mask, 3 block, 4 review
                                        (--access defaults to write; rules from ./rules, else the shipped rule sets)
  rules lint [DIR]                      validate rule files (default ./rules, else the shipped rule sets)
  audit verify [FILE]                   verify the audit hash chain (default ./.dbwarden/audit.jsonl); exit 1 if broken
  audit tail [FILE] [-f|--follow] [--grant G] [--identity I] [--type T]
                                        one readable line per audit event (--type statement, grant, grant.revoked, …)
  token new                             a fresh API token and the sha256 for the config

options for commands that talk to the broker
  --url URL        admin API (env DBWARDEN_URL, default http://127.0.0.1:7080)
  --token TOKEN    API token (env DBWARDEN_TOKEN; prefer the variable: arguments show up in process lists)
  --json           machine-readable output: the API's objects, errors as {"error": {"code", "message"}}
  -h, --help       this text

exit codes: 0 ok, 1 failed, 2 usage error, 3 blocked by a rule, 4 review required
`;
