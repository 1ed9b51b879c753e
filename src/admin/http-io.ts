// Reading JSON bodies and writing JSON answers and errors for the admin API.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BrokerError, ErrorCode, isBrokerError } from '../errors.js';
import type { Logger } from '../log.js';

/** Larger bodies are refused with 413: nothing the API accepts comes close. */
export const MAX_BODY_BYTES = 1024 * 1024;

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  [ErrorCode.BAD_REQUEST]: 400,
  [ErrorCode.UNAUTHENTICATED]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.WRONG_STATE]: 409,
  [ErrorCode.GONE]: 410,
  [ErrorCode.MESSAGE_TOO_LARGE]: 413,
  [ErrorCode.POLICY_LIMIT]: 422,
  [ErrorCode.RULES_INVALID]: 422,
  [ErrorCode.STORE_UNAVAILABLE]: 503,
};

export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/**
 * Reads the request body as a JSON object; an empty body is `{}`. Defends against memory exhaustion:
 * the body is refused as soon as it (or its declared length) passes `limit`, without buffering the rest.
 */
export async function readJsonBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const tooLarge = () => new BrokerError(ErrorCode.MESSAGE_TOO_LARGE, `request body exceeds ${limit} bytes`);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, `request body is not valid JSON: ${(e as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new BrokerError(ErrorCode.BAD_REQUEST, 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    // JSON is never to be sniffed into HTML or script by a browser
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store' });
  res.end(text);
}

/**
 * Answers with `{ error: { code, message } }`. Only BrokerError messages reach the caller; anything
 * else may carry internals (paths, SQL, stack) and is logged, the caller sees a generic 500.
 */
export function sendError(res: ServerResponse, err: unknown, logger: Logger): { status: number; code: ErrorCode } {
  let code: ErrorCode;
  let message: string;
  if (isBrokerError(err)) {
    code = err.code;
    message = err.message;
  } else {
    code = ErrorCode.INTERNAL;
    message = 'internal error';
  }
  const status = statusForCode(code);
  if (status === 500) logger.error({ err }, 'admin request failed');
  const headers: Record<string, string> = {};
  if (status === 401) headers['www-authenticate'] = 'Bearer realm="dbwarden"';
  // an oversized body was not read to its end; closing stops the client from streaming the rest
  if (status === 413) headers.connection = 'close';
  if (!res.headersSent) sendJson(res, status, { error: { code, message } }, headers);
  else res.destroy();
  return { status, code };
}
