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
