// Encoders for the backend messages the broker writes itself, and decoders for the few frontend/backend
// messages it inspects. https://www.postgresql.org/docs/current/protocol-message-formats.html
import { ByteCursor } from '../wire/cursor.js';
import { BackendCode, FrontendCode, TxStatus } from './codes.js';

/** Builds one typed message: code, int32 length, body. */
function typed(code: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = code;
  out.writeInt32BE(4 + body.length, 1);
  body.copy(out, 5);
  return out;
}

function cstr(s: string): Buffer {
  return Buffer.from(s + '\0', 'utf8');
}

function int32(n: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(n, 0);
  return b;
}

export interface ErrorFields {
  severity: 'ERROR' | 'FATAL' | 'PANIC' | 'WARNING' | 'NOTICE' | 'INFO' | 'LOG' | 'DEBUG';
  code: string;
  message: string;
  detail?: string;
  hint?: string;
  /** 'R': PostgreSQL names the C function that raised the error; the broker names its own check (dbwarden_*) */
  routine?: string;
  /** 1-based character position in the statement text (syntax errors) */
  position?: number;
}

function fieldsBody(f: ErrorFields): Buffer {
  const parts: Buffer[] = [
    cstr('S' + f.severity),
    cstr('V' + f.severity),
    cstr('C' + f.code),
    cstr('M' + f.message),
  ];
  if (f.detail) parts.push(cstr('D' + f.detail));
  if (f.hint) parts.push(cstr('H' + f.hint));
  if (f.routine) parts.push(cstr('R' + f.routine));
  if (f.position !== undefined) parts.push(cstr('P' + f.position));
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeErrorResponse(f: ErrorFields): Buffer {
  return typed(BackendCode.ErrorResponse, fieldsBody(f));
}

export function encodeNoticeResponse(f: ErrorFields): Buffer {
  return typed(BackendCode.NoticeResponse, fieldsBody(f));
}

export function encodeAuthentication(code: number, data?: Buffer): Buffer {
  return typed(BackendCode.Authentication, data ? Buffer.concat([int32(code), data]) : int32(code));
}

export function encodeAuthenticationSASL(mechanisms: string[]): Buffer {
  return encodeAuthentication(10, Buffer.concat([...mechanisms.map(cstr), Buffer.from([0])]));
}

export function encodeBackendKeyData(pid: number, secret: number): Buffer {
  return typed(BackendCode.BackendKeyData, Buffer.concat([int32(pid), int32(secret)]));
}

export function encodeParameterStatus(name: string, value: string): Buffer {
  return typed(BackendCode.ParameterStatus, Buffer.concat([cstr(name), cstr(value)]));
}

export function encodeReadyForQuery(status: number = TxStatus.Idle): Buffer {
  return typed(BackendCode.ReadyForQuery, Buffer.from([status]));
}

/** NegotiateProtocolVersion: newest minor version we support and the protocol options we did not recognise. */
export function encodeNegotiateProtocolVersion(minor: number, unrecognised: string[]): Buffer {
  return typed(BackendCode.NegotiateProtocolVersion, Buffer.concat([int32(minor), int32(unrecognised.length), ...unrecognised.map(cstr)]));
}

export function encodeQuery(text: string): Buffer {
  return typed(FrontendCode.Query, cstr(text));
}

/** Parse with no parameter types; used to send a marker statement in place of a blocked one. */
export function encodeParse(name: string, text: string): Buffer {
  return typed(FrontendCode.Parse, Buffer.concat([cstr(name), cstr(text), Buffer.from([0, 0])]));
}

export class DecodeError extends Error {}

/** A cursor over a message body whose reads fail with DecodeError (wire/cursor.ts). */
export function cursor(buf: Buffer, off = 0): ByteCursor {
  return new ByteCursor(buf, off, (m) => new DecodeError(m));
}

/** Reads a NUL-terminated UTF-8 string at `offset`; returns it and the offset after the NUL. */
export function readCString(buf: Buffer, offset: number): [string, number] {
  const end = buf.indexOf(0, offset);
  if (end < 0) throw new DecodeError('string not terminated');
  return [buf.toString('utf8', offset, end), end + 1];
}

/** Startup message parameters (after the protocol version). */
export function decodeStartupParams(body: Buffer): Map<string, string> {
  const params = new Map<string, string>();
  let off = 0;
  while (off < body.length) {
    if (body[off] === 0) return params;
    const [k, o1] = readCString(body, off);
    const [v, o2] = readCString(body, o1);
    params.set(k, v);
    off = o2;
  }
  throw new DecodeError('startup packet not terminated');
}

export function decodeQuery(body: Buffer): string {
  return readCString(body, 0)[0];
}

/**
 * Where a Query / Parse body's statement text lies, without decoding it: the relay decodes the text once, the way
 * the server does (its client encoding), so a large text is not also decoded as UTF-8 here. Throws DecodeError
 * exactly when decodeQuery / decodeParse would.
 */
export function queryTextBounds(body: Buffer): { start: number; end: number } {
  const end = body.indexOf(0);
  if (end < 0) throw new DecodeError('string not terminated');
  return { start: 0, end };
}

export function parseTextBounds(body: Buffer): { name: string; start: number; end: number } {
  const [name, start] = readCString(body, 0);
  const end = body.indexOf(0, start);
  if (end < 0) throw new DecodeError('string not terminated');
  return { name, start, end };
}

export function decodeParse(body: Buffer): { name: string; text: string } {
  const [name, o1] = readCString(body, 0);
  const [text] = readCString(body, o1);
  return { name, text };
}

/** Fields of an ErrorResponse/NoticeResponse body, keyed by their one-letter codes. */
export function decodeFields(body: Buffer): Map<string, string> {
  const fields = new Map<string, string>();
  let off = 0;
  while (off < body.length && body[off] !== 0) {
    const code = String.fromCharCode(body[off]!);
    const [v, next] = readCString(body, off + 1);
    fields.set(code, v);
    off = next;
  }
  return fields;
}
