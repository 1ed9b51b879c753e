// PostgreSQL protocol 3.0 message codes, startup request codes and the BRK_* → SQLSTATE table.
// https://www.postgresql.org/docs/current/protocol-message-formats.html
import { ErrorCode } from '../errors.js';
import type { ErrorFields } from './messages.js';

export const FrontendCode = {
  Bind: 0x42, // B
  Close: 0x43, // C
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  Describe: 0x44, // D
  Execute: 0x45, // E
  Flush: 0x48, // H
  FunctionCall: 0x46, // F
  Parse: 0x50, // P
  Password: 0x70, // p (also SASLInitialResponse / SASLResponse)
  Query: 0x51, // Q
  Sync: 0x53, // S
  Terminate: 0x58, // X
} as const;

export const BackendCode = {
  Authentication: 0x52, // R
  BackendKeyData: 0x4b, // K
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  CommandComplete: 0x43, // C
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyInResponse: 0x47, // G
  CopyOutResponse: 0x48, // H
  CopyBothResponse: 0x57, // W
  DataRow: 0x44, // D
  EmptyQueryResponse: 0x49, // I
  ErrorResponse: 0x45, // E
  FunctionCallResponse: 0x56, // V
  NegotiateProtocolVersion: 0x76, // v
  NoData: 0x6e, // n
  NoticeResponse: 0x4e, // N
  NotificationResponse: 0x41, // A
  ParameterDescription: 0x74, // t
  ParameterStatus: 0x53, // S
  ParseComplete: 0x31, // 1
  PortalSuspended: 0x73, // s
  ReadyForQuery: 0x5a, // Z
  RowDescription: 0x54, // T
} as const;

export const AuthCode = {
  Ok: 0,
  CleartextPassword: 3,
  MD5Password: 5,
  SASL: 10,
  SASLContinue: 11,
  SASLFinal: 12,
} as const;

/** Codes of the untyped first message a client sends. */
export const StartupCode = {
  Protocol30: 196608, // 3.0
  Protocol32: 196610, // 3.2
  CancelRequest: 80877102,
  SSLRequest: 80877103,
  GSSENCRequest: 80877104,
} as const;

/** Transaction status byte of ReadyForQuery. */
export const TxStatus = {
  Idle: 0x49, // I
  InBlock: 0x54, // T
  Failed: 0x45, // E
} as const;

/** The SQLSTATEs the broker sends. Only this file names them: everything else goes through a BRK_* code. */
export const SqlState = {
  Warning: '01000',
  AdminShutdown: '57P01',
  InvalidPassword: '28P01',
  InvalidAuthorization: '28000',
  ConnectionFailure: '08006',
  RejectedConnection: '08004',
  ProtocolViolation: '08P01',
  InsufficientPrivilege: '42501',
  FeatureNotSupported: '0A000',
  SyntaxError: '42601',
  InvalidCatalogName: '3D000',
  ProgramLimitExceeded: '54000',
  TooManyConnections: '53300',
  InternalError: 'XX000',
} as const;

/** One table from broker error codes to SQLSTATE (ARCHITECTURE: each protocol maps them in one place). */
export const SQLSTATE_OF: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.STATEMENT_BLOCKED]: SqlState.InsufficientPrivilege,
  [ErrorCode.REVIEW_REQUIRED]: SqlState.InsufficientPrivilege,
  [ErrorCode.AUTH_FAILED]: SqlState.InvalidPassword,
  [ErrorCode.PROTOCOL_VIOLATION]: SqlState.ProtocolViolation,
  [ErrorCode.MESSAGE_TOO_LARGE]: SqlState.ProtocolViolation,
  [ErrorCode.UPSTREAM_UNAVAILABLE]: SqlState.ConnectionFailure,
  [ErrorCode.UPSTREAM_AUTH_FAILED]: SqlState.ConnectionFailure,
  [ErrorCode.DATABASE_NOT_GRANTED]: SqlState.InsufficientPrivilege,
  [ErrorCode.WRONG_LISTENER]: SqlState.RejectedConnection,
  [ErrorCode.STORE_UNAVAILABLE]: SqlState.ConnectionFailure,
  [ErrorCode.TLS_REQUIRED]: SqlState.InvalidAuthorization,
  [ErrorCode.FEATURE_NOT_SUPPORTED]: SqlState.FeatureNotSupported,
  [ErrorCode.SESSION_TERMINATED]: SqlState.AdminShutdown,
  [ErrorCode.SESSION_LIMIT]: SqlState.TooManyConnections,
  [ErrorCode.AUDIT_UNAVAILABLE]: SqlState.InsufficientPrivilege,
  [ErrorCode.SYNTAX_ERROR]: SqlState.SyntaxError,
  [ErrorCode.LOGIN_INCOMPLETE]: SqlState.InvalidAuthorization,
  [ErrorCode.PARAMETER_REFUSED]: SqlState.InsufficientPrivilege,
  [ErrorCode.ENCODING_UNSAFE]: SqlState.FeatureNotSupported,
  [ErrorCode.SESSION_UNREADABLE]: SqlState.FeatureNotSupported,
  [ErrorCode.UNKNOWN_COMMAND]: SqlState.ProtocolViolation,
  [ErrorCode.UPSTREAM_PROTOCOL_VIOLATION]: SqlState.ConnectionFailure,
  [ErrorCode.UPSTREAM_LOST]: SqlState.ConnectionFailure,
  [ErrorCode.WARNING]: SqlState.Warning,
  [ErrorCode.INTERNAL]: SqlState.InternalError,
};

/** The SQLSTATE of a BRK_* code; a code without a PostgreSQL meaning of its own is an internal error. */
export function sqlStateOf(code: ErrorCode): string {
  return SQLSTATE_OF[code] ?? SqlState.InternalError;
}

/**
 * The ErrorResponse `routine` field of the broker's own refusals. Guardrail refusals keep SQLSTATE 42501 (what a
 * missing privilege gets, so applications fail the same way), and tools tell them apart by this field (and the
 * `dbwarden:` message prefix): a genuine privilege error carries the server's routine (e.g. aclcheck_error).
 */
export const Routine = {
  guardrail: 'dbwarden_guardrail', // a rule blocked the statement or wants a review
  grantScope: 'dbwarden_grant_scope', // the grant does not cover this database
} as const;

/** The routine field a BRK_* refusal carries (none: the field is left out). */
export const ROUTINE_OF: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.STATEMENT_BLOCKED]: Routine.guardrail,
  [ErrorCode.REVIEW_REQUIRED]: Routine.guardrail,
  [ErrorCode.SYNTAX_ERROR]: Routine.guardrail,
  [ErrorCode.DATABASE_NOT_GRANTED]: Routine.grantScope,
};

/** The hint of a guardrail refusal that has no hint of its own. */
export const GUARDRAIL_HINT = 'refused by a dbwarden guardrail rule, not by a database privilege: ask for a review or a grant whose rules allow it';

/**
 * The fields of one of the broker's own ErrorResponse/NoticeResponse messages: the BRK_* code decides the
 * SQLSTATE and the routine (a statement's refusal adds the guardrail hint, pg/relay.ts refusalFields).
 */
export function brokerFields(
  severity: ErrorFields['severity'], code: ErrorCode, message: string, extra: { hint?: string; position?: number } = {},
): ErrorFields {
  const routine = ROUTINE_OF[code];
  const hint = extra.hint;
  return {
    severity, code: sqlStateOf(code), message,
    ...(hint !== undefined ? { hint } : {}),
    ...(extra.position ? { position: extra.position } : {}),
    ...(routine !== undefined ? { routine } : {}),
  };
}
