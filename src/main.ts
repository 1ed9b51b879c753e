// Composition root and `dbwarden` entry point: config → store → rules → sessions → listeners → admin.
// The only place that wires modules together; `serve` and `demo` start here, other commands go to cli/.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { join, resolve } from 'node:path';
import { createOidcVerifier } from './admin/oidc.js';
import { startAdminServer } from './admin/server.js';
import { createAuthenticator } from './admin/token-auth.js';
import type { AuditSink } from './audit/events.js';
import { AuditFile } from './audit/audit-file.js';
import { queryAuditTrail } from './audit/trail-query.js';
import { verifyAuditTrail } from './audit/verify.js';
import { loadConfig, parseConfig } from './config/load.js';
import { stringify as toYaml } from 'yaml';
import { startPgliteTarget } from './demo/pglite-target.js';
import { demoBanner } from './demo/banner.js';
import { hostPort } from './config/host-port.js';
import type { Config } from './config/schema.js';
import { BrokerError, ErrorCode } from './errors.js';
import { EmbeddedStore } from './grants/embedded-store.js';
import type { GrantStore } from './grants/model.js';
import { RedisStore } from './grants/redis-store.js';
import { ReviewService } from './grants/reviews.js';
import { reviewDryRunner } from './main/review-dry-run.js';
import { AccessService } from './grants/service.js';
import { createLogger, type Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { newAuthSecret } from './pg/client-connection.js';
import { AuthFailureTracker } from './session/auth-failures.js';
import { Admissions } from './session/admission.js';
import { startPgListener, type PgListener } from './pg/listener.js';
import type { ColumnCatalog } from './pg/catalog.js';
import type { UpstreamConnection as PgUpstreamConnection } from './pg/upstream-connection.js';
import { SpareConnections } from './wire/spares.js';
import { startMysqlListener, type MysqlListener } from './mysql/listener.js';
import { checkForTarget, type TargetCheckRequest } from './rules/check.js';
import { loadRuleSets } from './rules/load.js';
import type { RuleSet } from './rules/rule-set.js';
import { GuardPool } from './session/guard.js';
import { SessionFanout } from './session/fanout.js';
import { SessionRegistry } from './session/registry.js';
import { notifyingSink } from './notify/notifying-sink.js';
import { WebhookNotifier } from './notify/webhook-notifier.js';
import { initSql } from './sql/analyze.js';
import { loadTlsMaterial } from './wire/tls.js';
import { securePrivateDir, type ModeFix } from './wire/private-files.js';
import { drainSessions } from './session/drain.js';
import { parseDuration } from './config/duration.js';
import { problemText, UpstreamMonitor } from './main/upstream-check.js';
import { Janitor } from './session/janitor.js';
import { listenFailure } from './main/listen-failure.js';

export interface Broker {
  config: Config;
  service: AccessService;
  reviews: ReviewService;
  registry: SessionRegistry;
  metrics: Metrics;
  store: GrantStore;
  pg?: PgListener;
  mysql?: MysqlListener;
  admin: { url: string; port: number };
  reloadRules(): Promise<{ ok: boolean; rulesets?: string[]; errors?: unknown[] }>;
  /** graceful: stop accepting, drain sessions (broker.shutdownGrace for open transactions), audit closed last */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A random key kept in the state folder (owner-only): the `hash` mask is an HMAC under it, so hashed values
 * stay joinable across restarts but cannot be reversed or recomputed without the key.
 */
function loadOrCreateKey(file: string): Buffer {
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
}

/** What decides which rules apply where: the rules folder and each target's rule sets (reloadable). */
type RuleBinding = Pick<Config, 'rules' | 'targets'>;

function rulesetsResolver(config: RuleBinding, sets: Map<string, RuleSet>): (target: string) => RuleSet[] {
  return (target) => (config.targets[target]?.rulesets ?? []).map((n) => sets.get(n)).filter((s): s is RuleSet => !!s);
}

function loadRules(config: RuleBinding): Map<string, RuleSet> {
  const { rulesets, errors } = loadRuleSets(config.rules);
  if (errors.length) {
    throw new BrokerError(ErrorCode.RULES_INVALID, errors.map((e) => `${e.file}:${e.line}: ${e.ruleId ? `rule ${e.ruleId}: ` : ''}${e.message}`).join('\n'));
  }
  for (const [name, t] of Object.entries(config.targets)) {
    for (const rs of t.rulesets) {
      if (!rulesets.has(rs)) throw new BrokerError(ErrorCode.CONFIG_INVALID, `target ${name} names rule set "${rs}", which is not in ${config.rules}`);
    }
  }
  return rulesets;
}

/**
 * The rule binding of a re-read config file: its rules folder and, for each target the broker runs, the rule sets
 * the file now names. Everything else in the file (targets added or removed, listeners, store, policies…) takes
 * effect at the next restart; a warning says so when it changed.
 */
function reloadBinding(running: Config, file: string, logger: Logger): RuleBinding {
  const next = loadConfig(file);
  const targets = Object.fromEntries(Object.entries(running.targets).map(([name, t]) => [name, { ...t, rulesets: next.targets[name]?.rulesets ?? t.rulesets }]));
  const rest = (c: Config) => JSON.stringify({ ...c, rules: undefined, targets: Object.fromEntries(Object.entries(c.targets).map(([n, t]) => [n, { ...t, rulesets: undefined }])) });
  if (rest(next) !== rest(running)) logger.warn({ file }, 'config changes other than rules and targets.<name>.rulesets take effect at the next restart');
  return { rules: next.rules, targets };
}

export async function startBroker(config: Config, opts: { logger?: Logger; /** the file serve read: a reload re-reads its rule binding */ configFile?: string } = {}): Promise<Broker> {
  const logger = opts.logger ?? createLogger(config.log.level);
  const metrics = createMetrics();
  await initSql();
  // state.dir holds verifiers, keys and the audit trail: owner-only, also when it already existed with looser modes
  const warnModes = (fixes: ModeFix[]) => {
    for (const f of fixes) logger.warn({ path: f.path, mode: f.was }, 'state file or folder was accessible to other users; made owner-only');
  };
  warnModes(securePrivateDir(config.state.dir));
  let binding: RuleBinding = config;
  let rulesets = loadRules(binding);
  const auditPath = config.audit.file ?? join(config.state.dir, 'audit.jsonl');
  const auditFile = AuditFile.open(auditPath, logger, {
    maxBytes: config.audit.maxBytes,
    keep: config.audit.keep,
    maxStatementBytes: config.audit.maxStatementBytes,
    statementText: config.audit.statementText,
  });
  const store: GrantStore = config.state.store === 'redis' && config.state.redis
    ? await RedisStore.connect(config.state.redis, { logger })
    : EmbeddedStore.open(config.state.dir);
  const guards = new GuardPool(rulesetsResolver(config, rulesets), { entries: config.limits.statementCacheSize, bytes: config.limits.statementCacheBytes }, metrics);
  const instanceId = config.broker.instanceId ?? `${process.pid}-${randomBytes(3).toString('hex')}`;
  // webhooks hang off the audit sink: every notifiable event is an audit event, recorded before it is sent
  const notifier = config.notify?.webhooks.length
    ? new WebhookNotifier({ webhooks: config.notify.webhooks, logger, metrics, instance: instanceId })
    : undefined;
  const audit: AuditSink = notifier ? notifyingSink(auditFile, notifier) : auditFile;
  const reviews = new ReviewService({
    store, config, audit,
    ...(config.reviews.dryRun === false ? {} : { dryRun: reviewDryRunner({ targets: config.targets, getGrant: (id) => store.getGrant(id) }) }),
    onError: (e) => logger.error({ err: (e as Error).message }, 'review store write failed'),
  });
  // approvals given before a restart must still let their statement through once
  await reviews.refresh();
  const registry = new SessionRegistry({ audit, metrics, logger, guards, instanceId, reviews, limits: config.limits });
  // revoke, expiry, extend and kill reach every broker instance (Redis pub/sub); the embedded store stays local
  const fanout = new SessionFanout({ registry, instanceId, logger, getGrant: (id) => store.getGrant(id), ...(store.cluster ? { bus: store.cluster } : {}) });
  await fanout.start();
  const service = new AccessService({
    store,
    config,
    audit,
    metrics,
    onGrantEnded: (grant, reason) => fanout.grantEnded(grant.id, reason),
    onGrantExtended: (grant) => fanout.grantExtended(grant.id, grant.expiresAt),
  });
  const janitor = new Janitor({
    sweepSessions: () => registry.sweep(),
    expireGrants: { ready: () => store.ready(), run: () => service.sweepExpired() },
    reconcile: () => fanout.reconcile(),
    refreshReviews: () => reviews.refresh(),
  }, logger);
  janitor.start(200);

  const tls = config.tls.clients === 'disable' ? null : await loadTlsMaterial({ certFile: config.tls.certFile, keyFile: config.tls.keyFile, stateDir: config.state.dir });

  let draining = false;
  const upstreams = new UpstreamMonitor(config.targets, logger);
  // in the background: a slow or unreachable target must not delay the listeners (warnings follow within seconds)
  void upstreams.run();
  const catalogs = new Map<string, ColumnCatalog>();
  // spare upstream connections of the PostgreSQL targets that ask for them (targets.<name>.upstreamSpares)
  const pgSpares = new Map<string, SpareConnections<PgUpstreamConnection>>();
  for (const [name, t] of Object.entries(config.targets)) {
    if (t.protocol === 'postgres' && t.upstreamSpares > 0) pgSpares.set(name, new SpareConnections({ perKey: t.upstreamSpares, idleMs: t.upstreamSpareIdleMs }));
  }
  // one key and one failed-login tracker for both protocols: a guesser gains nothing by switching listener
  const maskHashKey = config.masking.hashKey ? createHash('sha256').update(config.masking.hashKey).digest() : loadOrCreateKey(join(config.state.dir, 'mask-hash.key'));
  // files created just now (store, WAL, certificates, keys) get the same owner-only modes
  securePrivateDir(config.state.dir);
  // the listeners' bound addresses, filled in below: a login of the other protocol is told where to go
  const listeners: { postgres?: string; mysql?: string } = {};
  const admissions = new Admissions({
    targets: config.targets,
    findGrant: (login: string) => service.findGrantForLogin(login),
    checkSessionLimit: (grant) => registry.checkSessionLimit(grant),
    authFailures: new AuthFailureTracker(config.limits.authFailureDelayMs),
    audit,
    metrics,
    logger,
    // a draining broker takes no new logins (connections accepted just before the listener closed)
    acceptingLogins: () => store.ready() && !draining,
    tlsClients: config.tls.clients,
    listeners,
  });
  // what both protocol modules are given: sessions, admission, TLS, limits and the mask key
  const listenerDeps = {
    registry,
    admissions,
    targets: config.targets,
    tls,
    tlsClients: config.tls.clients,
    limits: config.limits,
    metrics,
    logger,
    audit,
    maskHashKey,
  };
  let pg: PgListener | undefined;
  if (config.listen.postgres) {
    const { host, port } = hostPort(config.listen.postgres);
    pg = await listenFailure('listen.postgres', config.listen.postgres, () => startPgListener(host, port, { ...listenerDeps, passwordOverTls: config.tls.passwordOverTls, authSecret: newAuthSecret(), catalogs, spares: pgSpares }));
    listeners.postgres = `${pg.host}:${pg.port}`;
    logger.info({ address: listeners.postgres }, 'postgres listener ready');
  }

  let mysql: MysqlListener | undefined;
  if (config.listen.mysql) {
    const { host, port } = hostPort(config.listen.mysql);
    mysql = await listenFailure('listen.mysql', config.listen.mysql, () => startMysqlListener(host, port, listenerDeps));
    listeners.mysql = `${mysql.host}:${mysql.port}`;
    logger.info({ address: listeners.mysql }, 'mysql listener ready');
  }

  const reloadRules = async () => {
    let next: RuleBinding;
    let sets: Map<string, RuleSet>;
    try {
      next = opts.configFile ? reloadBinding(config, opts.configFile, logger) : binding;
      sets = loadRules(next);
    } catch (e) {
      const message = (e as Error).message;
      logger.warn({ err: message }, 'rules reload failed; keeping the rules in force');
      return { ok: false, errors: message.split('\n') };
    }
    // rules and bindings change together, in one swap: no statement is decided by new rules under old bindings
    binding = next;
    rulesets = sets;
    guards.reload(rulesetsResolver(binding, rulesets));
    registry.takeNewRules();
    logger.info({ rulesets: [...rulesets.keys()] }, 'rules reloaded');
    return { ok: true, rulesets: [...rulesets.keys()] };
  };

  const adminAddr = hostPort(config.listen.admin);
  const admin = await listenFailure('listen.admin', config.listen.admin, () => startAdminServer({
    listen: `${adminAddr.host}:${adminAddr.port}`,
    service,
    reviews,
    sessions: {
      list: () => fanout.list(),
      kill: (id, actor) => fanout.kill(id, actor),
    },
    identities: config.identities,
    accessConfig: config,
    authenticate: createAuthenticator({ identities: config.identities, ...(config.oidc ? { oidc: createOidcVerifier(config.oidc) } : {}) }),
    metrics,
    rules: {
      check: (body: TargetCheckRequest) => checkForTarget(body, config.targets, (target) => rulesetsResolver(binding, rulesets)(target)),
      reload: reloadRules,
    },
    ready: () => {
      const reasons: string[] = [];
      if (draining) reasons.push('shutting down');
      if (!store.ready()) reasons.push(store.unavailableReason ? `grant store unavailable (${store.unavailableReason()})` : 'grant store unavailable');
      return { ok: reasons.length === 0, reasons, warnings: upstreams.problems().map(problemText) };
    },
    audit,
    logger,
    auditTrail: {
      query: (q) => queryAuditTrail(auditPath, q),
      verify: () => verifyAuditTrail(auditPath),
    },
    catalog: { targets: config.targets, policies: config.access },
    ruleSets: { list: () => [...rulesets.values()].map((r) => ({ name: r.name, description: r.description, rules: r.rules })) },
    ...(config.oidc?.console ? { consoleOidc: { issuer: config.oidc.issuer, ...config.oidc.console, scopes: [...new Set(['openid', ...config.oidc.console.scopes])] } } : {}),
    info: {
      listen: { postgres: pg ? `${pg.host}:${pg.port}` : undefined, mysql: mysql ? `${mysql.host}:${mysql.port}` : undefined },
      targets: Object.fromEntries(Object.entries(config.targets).map(([n, t]) => [n, { protocol: t.protocol, databases: t.databases }])),
    },
  }));
  logger.info({ url: admin.url }, 'admin API ready');

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    draining = true;
    for (const s of pgSpares.values()) s.close();
    // stop accepting first, then end the sessions; the audit file is closed last so every session.ended is in it
    pg?.stopAccepting();
    mysql?.stopAccepting();
    await drainSessions(registry, { graceMs: config.broker.shutdownGrace ? parseDuration(config.broker.shutdownGrace) : 0, logger });
    janitor.stop();
    await Promise.all([pg?.close(), mysql?.close(), admin.close()]);
    for (const c of catalogs.values()) c.close();
    await reviews.flush();
    await fanout.stop();
    await notifier?.close();
    await store.close();
    await audit.close();
  };
  return { config, service, reviews, registry, metrics, store, pg, mysql, admin: { url: admin.url, port: admin.port }, reloadRules, close, [Symbol.asyncDispose]: close };
}

/** `serve` / `demo` options, read as the CLI reads its own (node:util parseArgs): an unknown option is an error. */
function serverArgs<O extends ParseArgsConfig['options']>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new BrokerError(ErrorCode.CONFIG_INVALID, (e as Error).message);
  }
}

async function serve(argv: string[]): Promise<number> {
  const args = serverArgs(argv, { config: { type: 'string', default: 'dbwarden.yaml' } });
  const file = resolve(args.config as string);
  const config = loadConfig(file);
  const signals = stopSignals();
  const broker = await startBroker(config, { configFile: file });
  process.on('SIGHUP', () => void broker.reloadRules());
  await signals.until(() => broker.close());
  return 0;
}

/**
 * Listens for SIGTERM and SIGINT from the moment it is called (so a signal during startup is not the default
 * "die at once"); `until(stop)` runs `stop` (the graceful drain) once a signal has come, at once if one already
 * came while starting. A second signal while it runs exits at once (exit 1): the operator asked twice, and a hung
 * client must not hold a deploy.
 */
function stopSignals(): { until(stop: () => Promise<void>): Promise<void> } {
  let received: NodeJS.Signals | undefined;
  let run: ((signal: NodeJS.Signals) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      process.stderr.write(`dbwarden: ${signal} again: exiting now without waiting for sessions\n`);
      process.exit(1);
    }
    received = signal;
    run?.(signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    until(stop) {
      return new Promise<void>((done, fail) => {
        run = (signal) => {
          process.stderr.write(`dbwarden: ${signal}: draining sessions and stopping (send it again to exit at once)\n`);
          stop().then(done, fail);
        };
        if (received) run(received);
      });
    },
  };
}

/**
 * `dbwarden demo`: an embedded PostgreSQL (PGlite) as target `demo`, the broker with the shipped rules and the
 * embedded store, and a 1-hour write grant whose psql command is printed ready to paste.
 */
async function runDemo(argv: string[]): Promise<number> {
  const args = serverArgs(argv, {
    state: { type: 'string', default: '.dbwarden/demo' },
    listen: { type: 'string', default: '127.0.0.1:7432' },
    admin: { type: 'string', default: '127.0.0.1:7080' },
    reset: { type: 'boolean', default: false },
  });
  const stateDir = resolve(args.state as string);
  const pgListen = args.listen as string;
  const adminListen = args.admin as string;
  const signals = stopSignals();
  const existed = existsSync(join(stateDir, 'pglite'));
  if (args.reset) rmSync(stateDir, { recursive: true, force: true });
  mkdirSync(stateDir, { recursive: true });
  const target = await startPgliteTarget({ dataDir: join(stateDir, 'pglite') });
  const token = randomBytes(24).toString('base64url');
  const config = parseConfig(toYaml({
    listen: { postgres: pgListen, admin: adminListen },
    state: { dir: stateDir },
    rules: resolve(fileURLToPath(new URL('../rules', import.meta.url))),
    targets: {
      demo: {
        protocol: 'postgres', host: target.host, port: target.port, databases: ['postgres'], tls: 'disable',
        rulesets: ['safe-defaults', 'pii-masking'],
        roles: { read: { user: 'postgres' }, write: { user: 'postgres' }, admin: { user: 'postgres' } },
      },
    },
    identities: { demo: { tokenSha256: createHash('sha256').update(token).digest('hex'), groups: ['dev'] } },
    access: [{ name: 'demo-self-service', requesters: ['*'], access: ['read', 'write'], maxTtl: '8h', approvals: 0, approvers: ['demo'] }],
  }), join(stateDir, 'demo.yaml'), {});
  const broker = await startBroker(config, { logger: createLogger(process.env.DBWARDEN_LOG_LEVEL ?? 'warn') });
  const { grant } = await broker.service.createRequest({ name: 'demo', groups: ['dev'] }, { target: 'demo', access: 'write', ttl: '1h', reason: 'dbwarden demo' });
  if (!grant) throw new BrokerError(ErrorCode.INTERNAL, 'demo grant was not activated');
  const { host, port } = hostPort(pgListen);
  const pgPort = broker.pg?.port ?? port;
  // the password goes to an owner-only pgpass file, not into the printed line (shell history, process lists)
  const pgpass = join(stateDir, 'pgpass');
  writeFileSync(pgpass, `${host}:${pgPort}:postgres:${grant.login}:${grant.password}\n`, { mode: 0o600 });
  chmodSync(pgpass, 0o600);
  const out = process.stdout;
  out.write(demoBanner({
    psql: `PGPASSFILE=${pgpass} psql "postgresql://${grant.login}@${host}:${pgPort}/postgres"`,
    grant: `${grant.grantId} (write, expires ${grant.expiresAt})`,
    adminUrl: broker.admin.url, token, stateDir, reused: existed && !args.reset,
  }));
  await signals.until(async () => {
    await broker.close();
    await target.close();
  });
  return 0;
}

/** `dbwarden serve` / `dbwarden demo`; called by bin.ts, which sends every other command to the CLI. */
export async function runServerCommand(argv: string[]): Promise<number> {
  return argv[0] === 'demo' ? runDemo(argv.slice(1)) : serve(argv.slice(1));
}
