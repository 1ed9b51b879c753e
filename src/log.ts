// Root pino logger. Redaction paths keep secrets (passwords, tokens, upstream credentials) out of logs.
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'roles.*.password', '*.roles.*.password', 'verifiers', '*.verifiers',
];

export type { Logger };

export interface LoggerOptions {
  /** pino-pretty output; default: only when stdout is a terminal (machines reading a pipe get JSON lines) */
  pretty?: boolean;
}

export function createLogger(
  level: string = process.env.DBWARDEN_LOG_LEVEL ?? 'info',
  destination?: pino.DestinationStream,
  opts: LoggerOptions = {},
): Logger {
  const options: pino.LoggerOptions = {
    name: 'dbwarden',
    level,
    base: { pid: process.pid },
    // redaction runs before any transport, so pretty output is censored as well
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
  };
  const pretty = opts.pretty ?? (destination === undefined && process.stdout.isTTY === true);
  if (pretty && destination === undefined) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { destination: 1, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } },
    });
  }
  return pino(options, destination ?? pino.destination({ fd: 1, sync: false }));
}

/** A logger that drops everything: default for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

const LEVEL_METHODS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal']);
const noop = () => undefined;

/**
 * A child logger that is only made when something is logged at an enabled level. Per connection and per session a
 * child costs more than the rest of a login's bookkeeping, and at the usual levels most are never written to; below
 * the level pino's methods do nothing, so the lazy child drops exactly what a real one would.
 */
export function lazyChild(parent: Logger, bindings: () => Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const real = () => (child ??= parent.child(bindings()));
  return new Proxy({} as Logger, {
    get(_, prop) {
      if (child === undefined && typeof prop === 'string' && LEVEL_METHODS.has(prop) && !parent.isLevelEnabled(prop)) return noop;
      const c = real();
      const v = Reflect.get(c, prop, c) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(c) : v;
    },
  });
}
