// The console's API client: relative URLs (works under a reverse-proxy path prefix), bearer token from sessionStorage, JSON errors.

const TOKEN_KEY = 'dbwarden.token';

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/**
 * The token lives in sessionStorage: gone when the tab closes, never in a cookie (so no CSRF: a forged cross-site
 * request carries no credential) and never in a URL (so never in logs, history or Referer).
 */
export const auth = {
  token(): string | null {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  set(token: string): void {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear(): void {
    sessionStorage.removeItem(TOKEN_KEY);
  },
};

let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(f: () => void): void {
  onUnauthorized = f;
}

/** `path` is relative to the API root, e.g. "v1/grants"; the console lives at <root>/ui/. */
export async function api<T = unknown>(path: string, init: { method?: 'GET' | 'POST'; body?: unknown; token?: string } = {}): Promise<T> {
  const token = init.token ?? auth.token();
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(new URL(`../${path}`, document.baseURI), {
    method: init.method ?? 'GET',
    headers,
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    credentials: 'omit',
    cache: 'no-store',
    redirect: 'error',
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (!res.ok) {
    const err = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
    if (res.status === 401 && !init.token) onUnauthorized();
    throw new ApiError(res.status, err?.code ?? `HTTP_${res.status}`, err?.message ?? `${res.status} ${res.statusText}`);
  }
  return body as T;
}

export const post = <T = unknown>(path: string, body: unknown = {}) => api<T>(path, { method: 'POST', body });

/** Same-origin config: whether OIDC sign-in is offered (public settings only). */
export async function consoleConfig(): Promise<{ oidc: null | { issuer: string; authorizationEndpoint: string; tokenEndpoint: string; clientId: string; scopes: string[]; useToken: 'id_token' | 'access_token' } }> {
  const res = await fetch(new URL('config.json', document.baseURI), { credentials: 'omit', cache: 'no-store' });
  return res.ok ? res.json() : { oidc: null };
}
