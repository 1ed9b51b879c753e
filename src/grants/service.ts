// AccessService: the just-in-time access workflow (request → approve/deny → credentials → revoke/extend/expire).
import { ACCESS_LEVELS } from '../access.js';
import { randomBytes } from 'node:crypto';
import type { AuditEvent, AuditSink } from '../audit/events.js';
import { computeVerifiersAsync, generateLogin, generatePassword } from '../auth/credentials.js';
import type { Config, PolicyConfig } from '../config/schema.js';
import { BrokerError, ErrorCode } from '../errors.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AccessLevel } from '../rules/types.js';
import type { AccessRequest, Grant, GrantStore, Identity, RequestStatus } from './model.js';
import { matchesPrincipal, matchPolicy } from './policy.js';
import { requestableTargets } from './requestable.js';
import { formatDuration as formatTtl, parseDuration } from '../config/duration.js';

/** A duration from a request body or policy, with the field it came from named in the error. */
function parseTtl(text: string, field = 'ttl'): number {
  try {
    return parseDuration(text);
  } catch (e) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `${field}: ${(e as Error).message}`, { hint: (e as BrokerError).detail?.hint });
  }
}

/** What the requester sees exactly once: the only moment the password exists outside their hands. */
export interface IssuedCredentials {
  grantId: string;
  login: string;
  password: string;
  expiresAt: string;
  target: string;
  access: AccessLevel;
  databases: string[];
}

export interface CreateRequestBody {
  target: string;
  access: AccessLevel;
  /** duration string, e.g. "30m" */
  ttl: string;
  reason: string;
  databases?: string[];
}

export type GrantEndReason = 'revoked' | 'expired';

export interface AccessServiceOptions {
  store: GrantStore;
  config: Config;
  audit: AuditSink;
  metrics?: Metrics;
  /** clock in ms since the epoch; tests pass a fake one */
  now?: () => number;
  /** called after a grant ended and was stored; the session layer ends the grant's live sessions */
  onGrantEnded?: (grant: Grant, reason: GrantEndReason) => void;
  /** called after an extension was stored; live sessions of the grant move their expiry */
  onGrantExtended?: (grant: Grant) => void;
  /** receives errors thrown by the on* listeners, which must not undo or abort the state change */
  onError?: (error: unknown) => void;
}


const SYSTEM_ACTOR = 'system';
const MAX_REASON_LENGTH = 2000;
const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';

/** `<prefix>_` + 16 chars of a 32-letter alphabet (80 random bits): unguessable and unambiguous to read out. */
export function newId(prefix: 'req' | 'gr' | 'rv'): string {
  let s = `${prefix}_`;
  for (const b of randomBytes(16)) s += ID_ALPHABET[b & 31];
  return s;
}

const bad = (message: string) => new BrokerError(ErrorCode.BAD_REQUEST, message);
const forbidden = (message: string) => new BrokerError(ErrorCode.FORBIDDEN, message);
const notFound = (message: string) => new BrokerError(ErrorCode.NOT_FOUND, message);
const wrongState = (message: string) => new BrokerError(ErrorCode.WRONG_STATE, message);

export class AccessService {
  private readonly store: GrantStore;
  private readonly config: Config;
  private readonly audit: AuditSink;
  private readonly metrics: Metrics | undefined;
  private readonly now: () => number;
  private readonly onGrantEnded: ((grant: Grant, reason: GrantEndReason) => void) | undefined;
  private readonly onGrantExtended: ((grant: Grant) => void) | undefined;
  private readonly onError: (error: unknown) => void;
  /** Serialises state changes in this process so two approvals cannot both activate one request. */
  /** grant operations waiting for the store, one runs at a time; revokes go first (see exclusive) */
  private readonly urgentOps: (() => void)[] = [];
  private readonly ops: (() => void)[] = [];
  private opRunning = false;
  /** gauge label sets seen so far, so a resync can zero the ones with no active grant left */
  private readonly gaugeKeys = new Set<string>();

  constructor(options: AccessServiceOptions) {
    this.store = options.store;
    this.config = options.config;
    this.audit = options.audit;
    this.metrics = options.metrics;
    this.now = options.now ?? Date.now;
    this.onGrantEnded = options.onGrantEnded;
    this.onGrantExtended = options.onGrantExtended;
    this.onError = options.onError ?? (() => undefined);
  }

  /** Files a request; with a policy needing no approval the grant is active at once and the password is in the answer. */
  createRequest(identity: Identity, body: CreateRequestBody): Promise<{ request: AccessRequest; grant?: IssuedCredentials }> {
    return this.exclusive(async () => {
      const input = (body ?? {}) as Partial<Record<keyof CreateRequestBody, unknown>>;
      if (typeof input.target !== 'string' || input.target === '') throw bad('target is required');
      const target = Object.hasOwn(this.config.targets, input.target) ? this.config.targets[input.target] : undefined;
      if (!target) {
        const valid = requestableTargets(this.config, identity).map((t) => t.name);
        throw bad(`unknown target "${input.target}"${valid.length ? ` (targets you may request: ${valid.join(', ')})` : ' (no target is open to you)'}`);
      }
      if (typeof input.access !== 'string' || !ACCESS_LEVELS.includes(input.access as AccessLevel)) {
        throw bad(`access must be one of ${ACCESS_LEVELS.join('|')}`);
      }
      const access = input.access as AccessLevel;
      if (typeof input.ttl !== 'string') throw bad('ttl is required, e.g. "30m"');
      const ttlMs = parseTtl(input.ttl);
      const reason = typeof input.reason === 'string' ? input.reason.trim() : '';
      if (reason === '') throw bad('reason is required: say why you need this access');
      if (reason.length > MAX_REASON_LENGTH) throw bad(`reason is longer than ${MAX_REASON_LENGTH} characters`);
      const databases = this.requestedDatabases(input.databases, input.target, target.databases);

      // Deny by default: without a policy naming this identity, target, level and databases nothing is granted.
      const policy = matchPolicy(this.config.access, identity, input.target, access, databases);
      if (!policy) throw forbidden(`no access policy lets ${identity.name} request ${access} on ${input.target}`);
      const maxTtlMs = parseTtl(policy.maxTtl, `policy ${policy.name} maxTtl`);
      if (ttlMs > maxTtlMs) {
        throw new BrokerError(ErrorCode.POLICY_LIMIT, `ttl ${formatTtl(ttlMs)} exceeds the maximum of ${policy.maxTtl} set by policy ${policy.name}`, {
          maxTtl: policy.maxTtl,
        });
      }
      if (!target.roles[access]) throw bad(`target "${input.target}" has no role configured for ${access} access`);

      const at = this.isoNow();
      const request: AccessRequest = {
        id: newId('req'),
        requester: identity.name,
        requesterGroups: [...identity.groups],
        target: input.target,
        access,
        databases,
        ttlMs,
        reason,
        status: 'pending',
        policy: policy.name,
        approvalsRequired: policy.approvals,
        approvers: [...(policy.approvers ?? [])],
        approvals: [],
        createdAt: at,
        credentialsIssued: false,
        alert: policy.alert ?? false,
      };
      this.record({
        type: 'grant.requested', actor: identity.name, requestId: request.id, identity: identity.name, target: request.target,
        access, databases, ttl: formatTtl(ttlMs), reason, policy: policy.name, approvalsRequired: policy.approvals, alert: request.alert,
      });

      if (policy.approvals > 0) {
        await this.store.putRequest(request);
        this.countRequest('pending');
        return { request };
      }
      const password = generatePassword();
      const grant = await this.activate(request, `policy:${policy.name}`, password);
      return { request, grant: credentialsOf(grant, password) };
    });
  }

  listRequests(filter?: { status?: RequestStatus; requester?: string }): Promise<AccessRequest[]> {
    return this.store.listRequests(filter);
  }

  async getRequest(id: string): Promise<AccessRequest> {
    const request = await this.store.getRequest(id);
    if (!request) throw notFound(`no request ${id}`);
    return request;
  }

  /**
   * Records one approval. When the count of distinct approvers reaches the policy's number the grant becomes
   * active without a password in the answer: only the requester fetches it, once, with issueCredentials.
   */
  approve(identity: Identity, id: string, comment?: string): Promise<AccessRequest> {
    return this.exclusive(async () => {
      const request = await this.getRequest(id);
      if (request.status !== 'pending') throw wrongState(`request ${id} is ${request.status}, not pending`);
      // Four-eyes rule: an approval by the requester would make the approval step meaningless.
      if (request.requester === identity.name) throw forbidden('you cannot approve your own request');
      if (!matchesPrincipal(request.approvers, identity)) {
        throw forbidden(`${identity.name} is not an approver for policy ${request.policy}`);
      }
      if (request.approvals.some((a) => a.decision === 'approve' && a.by === identity.name)) {
        throw wrongState(`${identity.name} already approved request ${id}`);
      }
      request.approvals.push({ by: identity.name, at: this.isoNow(), decision: 'approve', ...(comment ? { comment } : {}) });
      const approvedBy = new Set(request.approvals.filter((a) => a.decision === 'approve').map((a) => a.by));
      this.record({
        type: 'grant.approved', actor: identity.name, requestId: id, identity: request.requester, target: request.target,
        access: request.access, approvals: approvedBy.size, approvalsRequired: request.approvalsRequired, ...(comment ? { comment } : {}),
      });
      if (approvedBy.size >= request.approvalsRequired) {
        await this.activate(request, identity.name);
      } else {
        await this.store.putRequest(request);
      }
      return request;
    });
  }

  /** Refuses a pending request; approvers decide, and a requester may withdraw their own. */
  deny(identity: Identity, id: string, comment?: string): Promise<AccessRequest> {
    return this.exclusive(async () => {
      const request = await this.getRequest(id);
      if (request.status !== 'pending') throw wrongState(`request ${id} is ${request.status}, not pending`);
      if (request.requester !== identity.name && !matchesPrincipal(request.approvers, identity)) {
        throw forbidden(`${identity.name} is not an approver for policy ${request.policy}`);
      }
      const at = this.isoNow();
      request.approvals.push({ by: identity.name, at, decision: 'deny', ...(comment ? { comment } : {}) });
      request.status = 'denied';
      request.decidedAt = at;
      await this.store.putRequest(request);
      this.countRequest('denied');
      this.record({
        type: 'grant.denied', actor: identity.name, requestId: id, identity: request.requester, target: request.target,
        access: request.access, ...(comment ? { reason: comment } : {}),
      });
      return request;
    });
  }

  /**
   * Hands the requester the password of an approved grant, exactly once. Only verifiers are stored, so a
   * second call cannot show it again (410) and a later store leak yields no password.
   */
  issueCredentials(identity: Identity, requestId: string): Promise<IssuedCredentials> {
    return this.exclusive(async () => {
      const request = await this.getRequest(requestId);
      // Only the requester: an approver seeing the password could use the grant in the requester's name.
      if (request.requester !== identity.name) throw forbidden('only the requester can fetch the credentials of a request');
      if (request.credentialsIssued) throw new BrokerError(ErrorCode.GONE, `the credentials of request ${requestId} were already issued`);
      if (request.status !== 'active' || !request.grantId) throw wrongState(`request ${requestId} is ${request.status}, not active`);
      const grant = await this.store.getGrant(request.grantId);
      if (!grant || !this.isLive(grant)) throw wrongState(`the grant of request ${requestId} is no longer active`);
      if (grant.verifiers) throw new BrokerError(ErrorCode.GONE, `the credentials of request ${requestId} were already issued`);

      const password = generatePassword();
      grant.verifiers = await computeVerifiersAsync(password);
      await this.store.putGrant(grant);
      request.credentialsIssued = true;
      await this.store.putRequest(request);
      this.record({ type: 'admin.credentials.issued', actor: identity.name, requestId, grantId: grant.id, login: grant.login });
      return credentialsOf(grant, password);
    });
  }

  /** Grants without their verifiers; live ones only unless `all`. */
  async listGrants(options: { all?: boolean } = {}): Promise<Grant[]> {
    const grants = options.all ? await this.store.listGrants() : (await this.store.listGrants({ status: 'active' })).filter((g) => this.isLive(g));
    return grants.map(withoutVerifiers);
  }

  async getGrant(id: string): Promise<Grant> {
    return withoutVerifiers(await this.loadGrant(id));
  }

  /** Ends a grant now; the grantee and the approvers of any policy covering its target may do so. */
  revoke(identity: Identity, grantId: string, reason?: string): Promise<Grant> {
    return this.exclusive(async () => {
      const grant = await this.loadGrant(grantId);
      if (grant.status !== 'active') throw wrongState(`grant ${grantId} is ${grant.status}, not active`);
      // Revoking is not harmless: it cuts someone's live sessions, so not every caller may do it.
      if (grant.identity !== identity.name && !this.isApproverForTarget(identity, grant.target)) {
        throw forbidden(`${identity.name} may not revoke a grant of ${grant.identity}`);
      }
      const ended = await this.endGrant(grant, 'revoked', identity.name);
      this.record({
        type: 'grant.revoked', actor: identity.name, grantId, requestId: grant.requestId, identity: grant.identity, target: grant.target,
        access: grant.access, ...(reason ? { reason } : {}),
      });
      this.notifyEnded(ended, 'revoked');
      return withoutVerifiers(ended);
    }, true).then(async (ended) => {
      // The sessions are already ended; the caller hears back once a replica holds the end as well (outside the
      // queue of grant operations, so a slow replica delays only this answer).
      await this.store.waitReplicated?.();
      return ended;
    });
  }

  /**
   * Pushes expiresAt back by `ttl`, never past activatedAt + the policy's maxTtl. The grantee may extend a
   * grant that needed no approval; one that did needs an approver (not the grantee), as the first time.
   */
  extend(identity: Identity, grantId: string, ttl: string): Promise<Grant> {
    return this.exclusive(async () => {
      const addMs = parseTtl(ttl);
      const grant = await this.loadGrant(grantId);
      if (!this.isLive(grant)) throw wrongState(`grant ${grantId} is ${grant.status === 'active' ? 'past its expiry' : grant.status}, not active`);
      const request = await this.store.getRequest(grant.requestId);
      const ownNeedsNoApproval = grant.identity === identity.name && (request?.approvalsRequired ?? 1) === 0;
      const approver = grant.identity !== identity.name && this.isApproverForTarget(identity, grant.target);
      if (!ownNeedsNoApproval && !approver) {
        throw forbidden(
          grant.identity === identity.name
            ? 'this grant needed approval; an approver has to extend it'
            : `${identity.name} may not extend a grant of ${grant.identity}`,
        );
      }
      const policy = request ? this.config.access.find((p) => p.name === request.policy) : undefined;
      if (!policy) throw new BrokerError(ErrorCode.POLICY_LIMIT, `the policy that allowed grant ${grantId} no longer exists; request access again`);
      const maxTtlMs = parseTtl(policy.maxTtl, `policy ${policy.name} maxTtl`);
      const previous = grant.expiresAt;
      const newExpiry = Date.parse(grant.expiresAt) + addMs;
      const latest = Date.parse(grant.activatedAt) + maxTtlMs;
      if (newExpiry > latest) {
        throw new BrokerError(
          ErrorCode.POLICY_LIMIT,
          `extending by ${formatTtl(addMs)} would go past the maximum of ${policy.maxTtl} from activation set by policy ${policy.name} (latest ${new Date(latest).toISOString()})`,
          { maxTtl: policy.maxTtl, latest: new Date(latest).toISOString() },
        );
      }
      grant.expiresAt = new Date(newExpiry).toISOString();
      await this.store.putGrant(grant);
      this.record({
        type: 'grant.extended', actor: identity.name, grantId, requestId: grant.requestId, identity: grant.identity, target: grant.target,
        access: grant.access, expiresAt: grant.expiresAt, previousExpiresAt: previous,
      });
      this.notify(() => this.onGrantExtended?.(grant));
      return withoutVerifiers(grant);
    });
  }

  /**
   * The grant a client login belongs to, only while it is active, before expiresAt and with a password
   * issued; anything else must look exactly like an unknown login.
   */
  async findGrantForLogin(login: string): Promise<Grant | undefined> {
    const grant = await this.store.getGrantByLogin(login);
    // Expiry is checked against the clock, not only the status, so a login cannot slip in before the sweep.
    if (!grant || !this.isLive(grant) || !grant.verifiers) return undefined;
    return grant;
  }

  /** Marks active grants past expiresAt expired (audited, onGrantEnded) and resyncs the active-grants gauge. */
  sweepExpired(): Promise<Grant[]> {
    return this.exclusive(async () => {
      const active = await this.store.listGrants({ status: 'active' });
      const expired: Grant[] = [];
      const live: Grant[] = [];
      for (const grant of active) {
        if (this.isLive(grant)) {
          live.push(grant);
          continue;
        }
        const ended = await this.endGrant(grant, 'expired', SYSTEM_ACTOR);
        this.record({
          type: 'grant.expired', actor: SYSTEM_ACTOR, grantId: grant.id, requestId: grant.requestId, identity: grant.identity,
          target: grant.target, access: grant.access, expiresAt: grant.expiresAt,
        });
        expired.push(ended);
      }
      this.resyncGauge(live);
      for (const grant of expired) this.notifyEnded(grant, 'expired');
      return expired;
    }).then(async (expired) => {
      if (expired.length > 0) await this.store.waitReplicated?.();
      return expired;
    });
  }

  // ---- internals ----

  /**
   * Runs grant operations one at a time (each is a read-modify-write of the store). A revoke is queued ahead of
   * requests, approvals and extensions: it is the operation that takes access away, and a burst of requests (each
   * computing password verifiers and writing the store with fsync) must not hold it back past the one-second promise
   * of ending the grant's sessions.
   */
  private exclusive<T>(fn: () => Promise<T>, urgent = false): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const op = () => {
        let run: Promise<T>;
        try {
          run = fn();
        } catch (e) {
          run = Promise.reject(e);
        }
        void run.then(resolve, reject).finally(() => this.nextOp());
      };
      (urgent ? this.urgentOps : this.ops).push(op);
      if (!this.opRunning) this.nextOp();
    });
  }

  private nextOp(): void {
    const op = this.urgentOps.shift() ?? this.ops.shift();
    this.opRunning = op !== undefined;
    op?.();
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  private isLive(grant: Grant): boolean {
    return grant.status === 'active' && Date.parse(grant.expiresAt) > this.now();
  }

  private async loadGrant(id: string): Promise<Grant> {
    const grant = await this.store.getGrant(id);
    if (!grant) throw notFound(`no grant ${id}`);
    return grant;
  }

  private requestedDatabases(given: unknown, targetName: string, offered: string[]): string[] {
    if (given === undefined || given === null || (Array.isArray(given) && given.length === 0)) return [offered[0]!];
    if (!Array.isArray(given) || !given.every((d) => typeof d === 'string' && d !== '')) throw bad('databases must be a list of database names');
    const unique = [...new Set(given as string[])];
    const missing = unique.filter((d) => !offered.includes(d));
    if (missing.length > 0) {
      throw bad(`target "${targetName}" does not offer database${missing.length > 1 ? 's' : ''} ${missing.map((d) => `"${d}"`).join(', ')} (it offers ${offered.join(', ')})`);
    }
    return unique;
  }

  private isApproverForTarget(identity: Identity, target: string): boolean {
    return this.config.access.some(
      (p: PolicyConfig) => (p.targets ?? ['*']).some((t) => t === '*' || t === target) && matchesPrincipal(p.approvers ?? [], identity),
    );
  }

  /** Creates the grant of a request and stores both; with a password, its verifiers and the request count as issued. */
  private async activate(request: AccessRequest, actor: string, password?: string): Promise<Grant> {
    const at = this.now();
    const grant: Grant = {
      id: newId('gr'),
      requestId: request.id,
      identity: request.requester,
      groups: [...request.requesterGroups],
      target: request.target,
      access: request.access,
      databases: [...request.databases],
      login: await this.uniqueLogin(request.requester),
      ...(password !== undefined ? { verifiers: await computeVerifiersAsync(password) } : {}),
      activatedAt: new Date(at).toISOString(),
      expiresAt: new Date(at + request.ttlMs).toISOString(),
      status: 'active',
    };
    await this.store.putGrant(grant);
    request.status = 'active';
    request.decidedAt = grant.activatedAt;
    request.grantId = grant.id;
    request.credentialsIssued = password !== undefined;
    await this.store.putRequest(request);
    this.countRequest('active');
    this.metrics?.grantsActive.inc(gaugeLabels(grant));
    this.gaugeKeys.add(gaugeKey(grant));
    this.record({
      type: 'grant.activated', actor, requestId: request.id, grantId: grant.id, identity: grant.identity, target: grant.target,
      access: grant.access, databases: grant.databases, login: grant.login, expiresAt: grant.expiresAt, policy: request.policy, alert: request.alert,
    });
    return grant;
  }

  /** Random suffixes collide rarely; a login must name exactly one grant ever, so retry until unused. */
  private async uniqueLogin(identity: string): Promise<string> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const login = generateLogin(identity);
      if (!(await this.store.getGrantByLogin(login))) return login;
    }
    throw new BrokerError(ErrorCode.INTERNAL, 'could not find an unused login');
  }

  private async endGrant(grant: Grant, status: GrantEndReason, actor: string): Promise<Grant> {
    const ended: Grant = { ...grant, status, endedAt: this.isoNow(), endedBy: actor };
    await this.store.putGrant(ended);
    const request = await this.store.getRequest(grant.requestId);
    if (request && request.status === 'active') {
      request.status = status;
      await this.store.putRequest(request);
    }
    this.countRequest(status);
    this.metrics?.grantsActive.dec(gaugeLabels(grant));
    return ended;
  }

  private notifyEnded(grant: Grant, reason: GrantEndReason): void {
    this.notify(() => this.onGrantEnded?.(grant, reason));
  }

  private notify(listener: () => void): void {
    try {
      listener();
    } catch (e) {
      this.onError(e);
    }
  }

  private countRequest(status: RequestStatus): void {
    this.metrics?.grantRequests.inc({ status });
  }

  /** Sets the gauge from the store's truth: other broker instances and restarts change it too. */
  private resyncGauge(live: Grant[]): void {
    if (!this.metrics) return;
    const counts = new Map<string, number>();
    for (const g of live) counts.set(gaugeKey(g), (counts.get(gaugeKey(g)) ?? 0) + 1);
    for (const key of counts.keys()) this.gaugeKeys.add(key);
    for (const key of this.gaugeKeys) {
      const [target, access] = JSON.parse(key) as [string, string];
      this.metrics.grantsActive.set({ target, access }, counts.get(key) ?? 0);
    }
  }

  private record(event: AuditEvent): void {
    this.audit.record(event);
  }
}

function credentialsOf(grant: Grant, password: string): IssuedCredentials {
  return {
    grantId: grant.id,
    login: grant.login,
    password,
    expiresAt: grant.expiresAt,
    target: grant.target,
    access: grant.access,
    databases: [...grant.databases],
  };
}

/** Verifiers stay inside the broker: with one, a captured handshake or an offline search gets easier. */
function withoutVerifiers(grant: Grant): Grant {
  const { verifiers: _omitted, ...rest } = grant;
  return rest;
}

function gaugeLabels(grant: Grant): { target: string; access: string } {
  return { target: grant.target, access: grant.access };
}

function gaugeKey(grant: Grant): string {
  return JSON.stringify([grant.target, grant.access]);
}
