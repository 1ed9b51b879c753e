// MySQL/MariaDB client/server protocol constants: capability flags, commands, status flags, error numbers
// and the BRK_* → (errno, SQLSTATE) table. https://dev.mysql.com/doc/dev/mysql-server/latest/PAGE_PROTOCOL.html
import { ErrorCode } from '../errors.js';

export const Capability = {
  LongPassword: 1 << 0, // CLIENT_MYSQL in MariaDB: unset by a MariaDB peer that uses extended capabilities
  FoundRows: 1 << 1,
  LongFlag: 1 << 2,
  ConnectWithDb: 1 << 3,
  NoSchema: 1 << 4,
  Compress: 1 << 5,
  Odbc: 1 << 6,
  LocalFiles: 1 << 7,
  IgnoreSpace: 1 << 8,
  Protocol41: 1 << 9,
  Interactive: 1 << 10,
  Ssl: 1 << 11,
  IgnoreSigpipe: 1 << 12,
  Transactions: 1 << 13,
  Reserved: 1 << 14,
  SecureConnection: 1 << 15,
  MultiStatements: 1 << 16,
  MultiResults: 1 << 17,
  PsMultiResults: 1 << 18,
  PluginAuth: 1 << 19,
  ConnectAttrs: 1 << 20,
  PluginAuthLenencClientData: 1 << 21,
  CanHandleExpiredPasswords: 1 << 22,
  SessionTrack: 1 << 23,
  DeprecateEof: 1 << 24,
  OptionalResultsetMetadata: 1 << 25,
  ZstdCompression: 1 << 26,
  QueryAttributes: 1 << 27,
  MultiFactorAuthentication: 1 << 28,
  CapabilityExtension: 1 << 29,
  SslVerifyServerCert: 1 << 30,
  RememberOptions: 2 ** 31,
} as const;

/** MariaDB extended capabilities (the upper 32 bits, carried in the handshake's reserved bytes). */
export const MariadbCapability = {
  Progress: 1 << 0,
  ComMulti: 1 << 1,
  StmtBulkOperations: 1 << 2,
  ExtendedMetadata: 1 << 3,
  CacheMetadata: 1 << 4,
  BulkUnitResults: 1 << 5,
} as const;

/**
 * Capabilities the broker never lets through. Compression would hide packet boundaries from the relay;
 * LOCAL INFILE lets the server read files off the client's machine; the others change the framing of
 * COM_QUERY or result sets in ways the relay does not decode.
 */
export const STRIPPED_CAPABILITIES =
  Capability.Compress | Capability.ZstdCompression | Capability.LocalFiles | Capability.QueryAttributes |
  Capability.OptionalResultsetMetadata | Capability.MultiFactorAuthentication | Capability.CapabilityExtension |
  Capability.SslVerifyServerCert | Capability.RememberOptions;

/** Capabilities the broker offers clients (intersected with what the upstream offers). */
export const SUPPORTED_CAPABILITIES =
  Capability.LongPassword | Capability.FoundRows | Capability.LongFlag | Capability.ConnectWithDb | Capability.NoSchema |
  Capability.Odbc | Capability.IgnoreSpace | Capability.Protocol41 | Capability.Interactive | Capability.Ssl |
  Capability.IgnoreSigpipe | Capability.Transactions | Capability.Reserved | Capability.SecureConnection |
  Capability.MultiStatements | Capability.MultiResults | Capability.PsMultiResults | Capability.PluginAuth |
  Capability.ConnectAttrs | Capability.PluginAuthLenencClientData | Capability.CanHandleExpiredPasswords |
  Capability.SessionTrack | Capability.DeprecateEof;

/** Capabilities that change how packets are framed or read: client and upstream must agree on them. */
export const FRAMING_CAPABILITIES =
  Capability.Protocol41 | Capability.DeprecateEof | Capability.SessionTrack | Capability.MultiResults |
  Capability.PsMultiResults | Capability.Compress | Capability.ZstdCompression | Capability.QueryAttributes |
  Capability.OptionalResultsetMetadata;

/** MariaDB extended capabilities passed through; progress reports and metadata caching change framing. */
export const SUPPORTED_MARIADB_CAPABILITIES = MariadbCapability.StmtBulkOperations | MariadbCapability.ExtendedMetadata;

/** Used when the upstream has not been seen yet (its greeting is probed at listener start). */
export const DEFAULT_UPSTREAM_CAPABILITIES = SUPPORTED_CAPABILITIES;

export const Command = {
  Sleep: 0x00,
  Quit: 0x01,
  InitDb: 0x02,
  Query: 0x03,
  FieldList: 0x04,
  CreateDb: 0x05,
  DropDb: 0x06,
  Refresh: 0x07,
  Shutdown: 0x08,
  Statistics: 0x09,
  ProcessInfo: 0x0a,
  Connect: 0x0b,
  ProcessKill: 0x0c,
  Debug: 0x0d,
  Ping: 0x0e,
  ChangeUser: 0x11,
  BinlogDump: 0x12,
  RegisterSlave: 0x15,
  StmtPrepare: 0x16,
  StmtExecute: 0x17,
  StmtSendLongData: 0x18,
  StmtClose: 0x19,
  StmtReset: 0x1a,
  SetOption: 0x1b,
  StmtFetch: 0x1c,
  Daemon: 0x1d,
  BinlogDumpGtid: 0x1e,
  ResetConnection: 0x1f,
  StmtBulkExecute: 0xfa, // MariaDB
} as const;

export const CommandName: Record<number, string> = Object.fromEntries(
  Object.entries(Command).map(([k, v]) => [v, 'COM_' + k.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()]),
);

/** First payload byte of the generic response packets. */
export const PacketHeader = {
  Ok: 0x00,
  AuthMoreData: 0x01,
  LocalInfile: 0xfb,
  Eof: 0xfe, // also AuthSwitchRequest during authentication, and OK under CLIENT_DEPRECATE_EOF
  Err: 0xff,
} as const;

export const ServerStatus = {
  InTrans: 0x0001,
  Autocommit: 0x0002,
  MoreResultsExist: 0x0008,
  CursorExists: 0x0040,
  LastRowSent: 0x0080,
  NoBackslashEscapes: 0x0200,
  SessionStateChanged: 0x4000,
} as const;

/** caching_sha2_password AuthMoreData codes. */
export const Sha2Code = {
  RequestPublicKey: 0x02,
  FastAuthSuccess: 0x03,
  PerformFullAuthentication: 0x04,
} as const;

export const AuthPlugin = {
  Native: 'mysql_native_password',
  CachingSha2: 'caching_sha2_password',
  Clear: 'mysql_clear_password',
} as const;

/** Server error numbers the broker sends or reads, with their SQLSTATE. Only this file names them. */
export const ErrNo = {
  UnknownError: { errno: 1105, sqlState: 'HY000' }, // ER_UNKNOWN_ERROR
  ParseError: { errno: 1064, sqlState: '42000' }, // ER_PARSE_ERROR
  EmptyQuery: { errno: 1065, sqlState: '42000' }, // ER_EMPTY_QUERY
  SyntaxError: { errno: 1149, sqlState: '42000' }, // ER_SYNTAX_ERROR
  AccessDenied: { errno: 1045, sqlState: '28000' }, // ER_ACCESS_DENIED_ERROR
  DbAccessDenied: { errno: 1044, sqlState: '42000' }, // ER_DBACCESS_DENIED_ERROR
  UnknownCommand: { errno: 1047, sqlState: '08S01' }, // ER_UNKNOWN_COM_ERROR
  NoSuchThread: { errno: 1094, sqlState: 'HY000' }, // ER_NO_SUCH_THREAD
  PacketTooLarge: { errno: 1153, sqlState: '08S01' }, // ER_NET_PACKET_TOO_LARGE
  SpecificAccessDenied: { errno: 1227, sqlState: '42000' }, // ER_SPECIFIC_ACCESS_DENIED_ERROR
  NotSupportedYet: { errno: 1235, sqlState: '42000' }, // ER_NOT_SUPPORTED_YET
  ConnectionKilled: { errno: 1927, sqlState: '70100' }, // ER_CONNECTION_KILLED (MariaDB)
  MalformedPacket: { errno: 1835, sqlState: 'HY000' }, // ER_MALFORMED_PACKET
  HandshakeError: { errno: 1043, sqlState: '08S01' }, // ER_HANDSHAKE_ERROR
  SecureTransportRequired: { errno: 3159, sqlState: 'HY000' }, // ER_SECURE_TRANSPORT_REQUIRED
  // ER_CONNECT_TO_FOREIGN_DATA_SOURCE: a server error number (a client-range 2xxx number in a server's ERR makes
  // libmariadb report "2027 Received malformed packet" instead of the message)
  UpstreamUnavailable: { errno: 1429, sqlState: 'HY000' },
  NetPacketsOutOfOrder: { errno: 1156, sqlState: '08S01' }, // ER_NET_PACKETS_OUT_OF_ORDER
  TooManyUserConnections: { errno: 1203, sqlState: '42000' }, // ER_TOO_MANY_USER_CONNECTIONS
  NotAllowedCommand: { errno: 1148, sqlState: '42000' }, // ER_NOT_ALLOWED_COMMAND (LOAD DATA LOCAL disabled)
  UnknownCharacterSet: { errno: 1115, sqlState: '42000' }, // ER_UNKNOWN_CHARACTER_SET
} as const;
export type ErrSpec = (typeof ErrNo)[keyof typeof ErrNo];

/** One table from broker error codes to MySQL errors (ARCHITECTURE: each protocol maps them in one place). */
export const ERRNO_OF: Partial<Record<ErrorCode, ErrSpec>> = {
  [ErrorCode.STATEMENT_BLOCKED]: ErrNo.SpecificAccessDenied,
  [ErrorCode.REVIEW_REQUIRED]: ErrNo.SpecificAccessDenied,
  [ErrorCode.AUTH_FAILED]: ErrNo.AccessDenied,
  [ErrorCode.PROTOCOL_VIOLATION]: ErrNo.MalformedPacket,
  [ErrorCode.MESSAGE_TOO_LARGE]: ErrNo.PacketTooLarge,
  [ErrorCode.UPSTREAM_UNAVAILABLE]: ErrNo.UpstreamUnavailable,
  [ErrorCode.UPSTREAM_AUTH_FAILED]: ErrNo.UpstreamUnavailable,
  [ErrorCode.DATABASE_NOT_GRANTED]: ErrNo.DbAccessDenied,
  [ErrorCode.WRONG_LISTENER]: ErrNo.HandshakeError,
  [ErrorCode.STORE_UNAVAILABLE]: ErrNo.UpstreamUnavailable,
  [ErrorCode.TLS_REQUIRED]: ErrNo.SecureTransportRequired,
  [ErrorCode.FEATURE_NOT_SUPPORTED]: ErrNo.NotSupportedYet,
  [ErrorCode.SESSION_TERMINATED]: ErrNo.ConnectionKilled,
  [ErrorCode.SESSION_LIMIT]: ErrNo.TooManyUserConnections,
  [ErrorCode.AUDIT_UNAVAILABLE]: ErrNo.SpecificAccessDenied,
  [ErrorCode.SYNTAX_ERROR]: ErrNo.ParseError,
  [ErrorCode.LOGIN_INCOMPLETE]: ErrNo.AccessDenied,
  [ErrorCode.ENCODING_UNSAFE]: ErrNo.UnknownCharacterSet,
  [ErrorCode.SESSION_UNREADABLE]: ErrNo.NotSupportedYet,
  [ErrorCode.UNKNOWN_COMMAND]: ErrNo.UnknownCommand,
  [ErrorCode.LOCAL_FILE_REFUSED]: ErrNo.NotAllowedCommand,
  [ErrorCode.UNKNOWN_THREAD]: ErrNo.NoSuchThread,
  [ErrorCode.UPSTREAM_PROTOCOL_VIOLATION]: ErrNo.UpstreamUnavailable,
  [ErrorCode.UPSTREAM_LOST]: ErrNo.ConnectionKilled,
  [ErrorCode.INTERNAL]: ErrNo.UnknownError,
};

/** The MySQL error of a BRK_* code; a code without a MySQL meaning of its own is ER_UNKNOWN_ERROR. */
export function errOf(code: ErrorCode): ErrSpec {
  return ERRNO_OF[code] ?? ErrNo.UnknownError;
}

/** The SQLSTATE of an ERR that carries none (a pre-4.1 ERR): the general error class. */
export const GENERAL_SQLSTATE = ErrNo.UnknownError.sqlState;

/** Errors of the server's parser: a refused text the server cannot parse either gets the server's own error. */
export const PARSE_ERRNOS: ReadonlySet<number> = new Set([ErrNo.ParseError.errno, ErrNo.SyntaxError.errno, ErrNo.EmptyQuery.errno]);

/** utf8mb4_general_ci: what the broker announces until it has seen the upstream's greeting. */
export const DEFAULT_CHARSET = 45;
/** A payload of exactly this length continues in the next packet. */
export const MAX_PACKET_PAYLOAD = 0xffffff;
