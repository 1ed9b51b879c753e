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
