// Root pino logger. Redaction paths keep secrets (passwords, tokens, upstream credentials) out of logs.
import { pino, type Logger } from 'pino';

export const REDACT_PATHS = [
  'password', '*.password', '*.*.password', 'token', '*.token', 'authorization', '*.authorization',
  'headers.authorization', 'roles.*.password', '*.roles.*.password', 'verifiers', '*.verifiers',
];

export type { Logger };

export function createLogger(level: string = process.env.DBWARDEN_LOG_LEVEL ?? 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name: 'dbwarden',
      level,
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything: default for library use and tests. */
export const silentLogger: Logger = pino({ level: 'silent' });
