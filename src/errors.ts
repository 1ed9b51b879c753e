// BrokerError: the one error type that may reach a client or an API caller; everything else is logged only.

export const ErrorCode = {
  CONFIG_INVALID: 'BRK_CONFIG_INVALID',
  RULES_INVALID: 'BRK_RULES_INVALID',
  STATEMENT_BLOCKED: 'BRK_STATEMENT_BLOCKED',
  REVIEW_REQUIRED: 'BRK_REVIEW_REQUIRED',
  AUTH_FAILED: 'BRK_AUTH_FAILED',
  PROTOCOL_VIOLATION: 'BRK_PROTOCOL_VIOLATION',
  MESSAGE_TOO_LARGE: 'BRK_MESSAGE_TOO_LARGE',
  UPSTREAM_UNAVAILABLE: 'BRK_UPSTREAM_UNAVAILABLE',
  UPSTREAM_AUTH_FAILED: 'BRK_UPSTREAM_AUTH_FAILED',
  DATABASE_NOT_GRANTED: 'BRK_DATABASE_NOT_GRANTED',
  /** the grant's target speaks the other wire protocol: the client came to the wrong listener */
  WRONG_LISTENER: 'BRK_WRONG_LISTENER',
  TLS_REQUIRED: 'BRK_TLS_REQUIRED',
  FEATURE_NOT_SUPPORTED: 'BRK_FEATURE_NOT_SUPPORTED',
  SESSION_TERMINATED: 'BRK_SESSION_TERMINATED',
  SESSION_LIMIT: 'BRK_SESSION_LIMIT',
  AUDIT_UNAVAILABLE: 'BRK_AUDIT_UNAVAILABLE',
  /** text the server's own parser rejects: the client sees a syntax error, as without the broker */
  SYNTAX_ERROR: 'BRK_SYNTAX_ERROR',
  /** a login without a user name */
  LOGIN_INCOMPLETE: 'BRK_LOGIN_INCOMPLETE',
  /** a startup parameter or option the broker does not pass to the server */
  PARAMETER_REFUSED: 'BRK_PARAMETER_REFUSED',
  /** a client character set whose multibyte characters can hide ASCII bytes, refused at login */
  ENCODING_UNSAFE: 'BRK_ENCODING_UNSAFE',
  /** the session's reading settings changed through a door the broker did not see: it can no longer read it */
  SESSION_UNREADABLE: 'BRK_SESSION_UNREADABLE',
  /** a protocol command the broker does not relay */
  UNKNOWN_COMMAND: 'BRK_UNKNOWN_COMMAND',
  /** LOAD DATA LOCAL INFILE: the server would read a file off the client's machine */
  LOCAL_FILE_REFUSED: 'BRK_LOCAL_FILE_REFUSED',
  /** KILL of a thread that is not a live session of the same grant (answered as the server answers an unknown id) */
  UNKNOWN_THREAD: 'BRK_UNKNOWN_THREAD',
  /** the upstream sent bytes the broker cannot frame: the session ends */
  UPSTREAM_PROTOCOL_VIOLATION: 'BRK_UPSTREAM_PROTOCOL_VIOLATION',
  /** the upstream connection closed under a live session */
  UPSTREAM_LOST: 'BRK_UPSTREAM_LOST',
  /** a warning sent alongside a result (a warn rule, a grant about to expire); not a refusal */
  WARNING: 'BRK_WARNING',
  // admin API
  BAD_REQUEST: 'BRK_BAD_REQUEST',
  UNAUTHENTICATED: 'BRK_UNAUTHENTICATED',
  FORBIDDEN: 'BRK_FORBIDDEN',
  NOT_FOUND: 'BRK_NOT_FOUND',
  WRONG_STATE: 'BRK_WRONG_STATE',
  GONE: 'BRK_GONE',
  POLICY_LIMIT: 'BRK_POLICY_LIMIT',
  STORE_UNAVAILABLE: 'BRK_STORE_UNAVAILABLE',
  INTERNAL: 'BRK_INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class BrokerError extends Error {
  override readonly name = 'BrokerError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail: { hint?: string; cause?: unknown; [k: string]: unknown } = {},
  ) {
    super(message);
  }
}

export function isBrokerError(e: unknown): e is BrokerError {
  return e instanceof BrokerError;
}
