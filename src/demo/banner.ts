// What `dbwarden demo` prints: how to connect, what to try for each headline feature, where its state lives.

export interface BannerFacts {
  psql: string;
  grant: string;
  adminUrl: string;
  token: string;
  stateDir: string;
  /** state from an earlier run was found and reused */
  reused: boolean;
}

export function demoBanner(f: BannerFacts): string {
  return `
dbwarden demo is running: an embedded PostgreSQL (PGlite) behind the broker, rules safe-defaults + pii-masking

  connect:   ${f.psql}
  grant:     ${f.grant}
  admin API: ${f.adminUrl}   token: ${f.token}
  console:   ${f.adminUrl}/ui/   (sign in with the token)
  CLI:       export DBWARDEN_URL=${f.adminUrl} DBWARDEN_TOKEN=${f.token}; npx dbwarden grants

try, inside psql:
  guardrails   DELETE FROM orders;                       -> blocked by rule unscoped-write
               DROP TABLE orders;                        -> blocked by rule drop
  allowed      UPDATE customers SET phone = NULL WHERE id = 1;
               DELETE FROM orders WHERE id = 6;
  masking      SELECT name, email, phone FROM customers; -> email and phone come back masked
  audit        npx dbwarden audit tail ${f.stateDir}/audit.jsonl     (and: npx dbwarden audit verify ${f.stateDir}/audit.jsonl)
  sessions     npx dbwarden sessions; npx dbwarden kill SESSION; npx dbwarden revoke GRANT

notes:
  - the embedded database runs one statement at a time and cannot cancel one (Ctrl-C in psql does not stop
    it); pg_sleep and long queries hold every other demo session until they finish (the broker, its admin
    API and the console stay responsive). Use a real PostgreSQL (dbwarden serve) for anything beyond trying it.
  - state (data, grants, audit) lives in ${f.stateDir}${f.reused ? ' and was kept from an earlier run' : ''};
    start afresh with: npx dbwarden demo --reset   (npm start -- --reset)

Ctrl-C stops everything.
`;
}
