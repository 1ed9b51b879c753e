// Login admission for both listeners: whether a login that ran the protocol's password exchange may start a
// session, answered as an Admission or a Refusal carrying a BRK_* code. Protocol modules only encode the answer.
import type { AuditSink } from '../audit/events.js';
import type { RoleConfig, TargetConfig } from '../config/schema.js';
import { ErrorCode, isBrokerError } from '../errors.js';
import type { Grant } from '../grants/model.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { Protocol } from './session.js';

/** The metric outcome of a refused login (dbwarden_sessions_total), when it is counted. */
export type RefusalOutcome = 'auth_failed' | 'rejected' | 'upstream_error';

export interface Refusal {
  ok: false;
  code: ErrorCode;
  message: string;
  hint?: string;
}

export interface Admission {
  ok: true;
  grant: Grant;
  target: TargetConfig;
  role: RoleConfig;
  database: string;
}

/** What the login proved in the protocol's own password exchange. */
export interface Proof {
  /** the exchange verified against the grant's verifier */
  ok: boolean;
  /** MySQL's access-denied text says whether a password was sent */
  passwordGiven?: boolean;
}

export interface AdmissionDeps {
  targets: Record<string, TargetConfig>;
  findGrant(login: string): Promise<Grant | undefined>;
  /** throws BRK_SESSION_LIMIT when the grant has its maximum of sessions open */
  checkSessionLimit(grant: Grant): void;
  authFailures: { fail(address: string): number; succeed(address: string): void };
  audit: AuditSink;
  metrics: Metrics;
  logger: Logger;
  /** false when new logins must be refused (store unreachable, broker draining) */
  acceptingLogins(): boolean;
  tlsClients: 'prefer' | 'require' | 'disable';
  /** the listeners' addresses once bound, for telling a client of the other protocol where to go */
  listeners?: Partial<Record<Protocol, string>>;
}

export interface LoginAttempt {
  protocol: Protocol;
  login: string;
  /** the client's address (no port): failed logins are slowed per address */
  address: string;
  /** address:port, for the audit */
  client: string;
  /** the database asked for; absent: the grant's first */
  database: string | undefined;
  grant: Grant | undefined;
  proof: Proof;
}

const PROTOCOL_NAME: Record<Protocol, string> = { postgres: 'PostgreSQL', mysql: 'MySQL' };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const refusal = (code: ErrorCode, message: string, hint?: string): Refusal => ({ ok: false, code, message, ...(hint ? { hint } : {}) });

/** A database outside the grant, in each protocol's words (also for MySQL's USE / COM_INIT_DB). */
export function databaseNotGranted(protocol: Protocol, grant: Grant, login: string, address: string, database: string): Refusal {
  if (protocol === 'postgres') {
    return refusal(ErrorCode.DATABASE_NOT_GRANTED, `dbwarden: grant ${grant.id} does not cover database "${database}"`, `this grant covers: ${grant.databases.join(', ')}`);
  }
  return refusal(ErrorCode.DATABASE_NOT_GRANTED, `Access denied for user '${login}'@'${address}' to database '${database}' (dbwarden: this grant covers ${grant.databases.join(', ')})`);
}

export function upstreamUnavailable(target: string): Refusal {
  return refusal(ErrorCode.UPSTREAM_UNAVAILABLE, `dbwarden: upstream ${target} unavailable`);
}

const TLS_ADVICE: Record<Protocol, string> = { postgres: 'sslmode=require', mysql: '--ssl (ssl-mode=REQUIRED)' };

export class Admissions {
  constructor(private readonly deps: AdmissionDeps) {}

  /**
   * Before any credentials are read: TLS when the broker requires it, and a grant store that can answer
   * (a draining broker takes no new logins).
   */
  opening(protocol: Protocol, secured: boolean): Refusal | null {
    if (this.deps.tlsClients === 'require' && !secured) {
      this.count(protocol, '', 'rejected');
      return refusal(ErrorCode.TLS_REQUIRED, `dbwarden: TLS is required: connect with ${TLS_ADVICE[protocol]}`);
    }
    if (!this.deps.acceptingLogins()) {
      return refusal(ErrorCode.STORE_UNAVAILABLE, 'dbwarden: the grant store is unavailable; new logins are refused for now');
    }
    return null;
  }

  /** The grant a login names (its verifiers feed the protocol's password exchange). */
  grantFor(login: string): Promise<Grant | undefined> {
    return this.deps.findGrant(login);
  }

  /**
   * After the password exchange: the grant must be live and proven, cover the database, name a target of this
   * listener's protocol with a role for its access, and have room for one more session. A failed proof waits
   * the address's back-off before it answers, and says the same whether the login is unknown, the password
   * wrong or the grant ended (no oracle for login names or grant state).
   */
  async admit(a: LoginAttempt): Promise<Admission | Refusal> {
    const { grant, protocol } = a;
    const expired = !!grant && Date.parse(grant.expiresAt) <= Date.now();
    if (!a.proof.ok || !grant || expired) {
      const delay = this.deps.authFailures.fail(a.address);
      const reason = !grant ? 'unknown or inactive login' : expired ? 'grant expired' : 'bad password';
      this.deps.audit.record({ type: 'auth.failed', protocol, login: a.login, client: a.client, reason });
      this.count(protocol, grant?.target ?? '', 'auth_failed');
      this.deps.logger.info({ login: a.login, client: a.client, protocol }, 'authentication failed');
      await sleep(delay);
      return protocol === 'postgres'
        ? refusal(ErrorCode.AUTH_FAILED, `password authentication failed for user "${a.login}"`)
        : refusal(ErrorCode.AUTH_FAILED, `Access denied for user '${a.login}'@'${a.address}' (using password: ${a.proof.passwordGiven ? 'YES' : 'NO'})`);
    }
    this.deps.authFailures.succeed(a.address);

    const database = a.database ?? grant.databases[0]!;
    if (!grant.databases.includes(database)) {
      this.count(protocol, grant.target, 'rejected');
      return databaseNotGranted(protocol, grant, a.login, a.address, database);
    }
    const target = this.deps.targets[grant.target];
    if (target && target.protocol !== protocol) {
      // the password was right: saying where to go instead leaks nothing the grant's owner does not know
      this.count(protocol, grant.target, 'rejected');
      const other = target.protocol;
      const where = this.deps.listeners?.[other];
      return refusal(
        ErrorCode.WRONG_LISTENER,
        `dbwarden: grant ${grant.id} is for the ${PROTOCOL_NAME[other]} target "${grant.target}": ` +
          (where ? `connect with a ${PROTOCOL_NAME[other]} client to the broker's ${PROTOCOL_NAME[other]} listener at ${where}` : `this broker has no ${PROTOCOL_NAME[other]} listener (listen.${other})`),
      );
    }
    const role = target?.roles[grant.access];
    if (!target || !role) {
      this.count(protocol, grant.target, 'upstream_error');
      this.deps.logger.error({ target: grant.target, access: grant.access }, 'no upstream role configured for this grant');
      return upstreamUnavailable(grant.target);
    }
    try {
      this.deps.checkSessionLimit(grant);
    } catch (e) {
      if (!isBrokerError(e)) throw e;
      this.count(protocol, grant.target, 'rejected');
      return refusal(e.code, e.message);
    }
    return { ok: true, grant, target, role, database };
  }

  /** Counts a login's outcome decided outside admit (upstream failures, refused encodings, success). */
  count(protocol: Protocol, target: string, outcome: RefusalOutcome | 'ok' | 'protocol_error'): void {
    this.deps.metrics.sessionsTotal.inc({ protocol, target, outcome });
  }
}
