// HTTP client for the admin API: bearer token, JSON in and out, API errors as CliError.
import { CliError } from './cli-error.js';

/** An error answer from the admin API, with the API's `{error: {code, message}}` object kept for --json. */
export class ApiError extends CliError {
  constructor(readonly status: number, code: string, message: string, readonly body: unknown) {
    super(message, 1, code);
  }
}

export class ApiClient {
  private readonly base: string;

  constructor(baseUrl: string, private readonly token: string, private readonly fetchImpl: typeof fetch = fetch) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  get url(): string {
    return this.base;
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/json',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (e as Error).message;
      throw new CliError(`cannot reach the dbwarden admin API at ${this.base} (${why})`, 1, 'unreachable');
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      const code = err?.code ?? `HTTP_${res.status}`;
      const message = err?.message ?? `${method} ${path} answered HTTP ${res.status}`;
      throw new ApiError(res.status, code, message, parsed ?? { error: { code, message } });
    }
    if (parsed === undefined && text !== '') throw new CliError(`${method} ${path}: the admin API answered with something that is not JSON`);
    return parsed as T;
  }
}
