// OIDC sign-in for the console: authorization-code flow with PKCE (S256) and state/nonce, as a public client in the browser.

export interface OidcSettings { issuer: string; authorizationEndpoint: string; tokenEndpoint: string; clientId: string; scopes: string[]; useToken: 'id_token' | 'access_token' }

const PENDING_KEY = 'dbwarden.oidc.pending';

function b64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random(n: number): string {
  return b64url(crypto.getRandomValues(new Uint8Array(n)));
}

/** The console's own URL without query or fragment: the redirect URI registered at the issuer. */
export function redirectUri(): string {
  const u = new URL(document.baseURI);
  u.search = '';
  u.hash = '';
  return u.href;
}

/** Sends the browser to the issuer. The verifier stays in sessionStorage; only its S256 hash travels. */
export async function startSignIn(s: OidcSettings): Promise<void> {
  const verifier = random(48);
  const state = random(24);
  const nonce = random(24);
  const challenge = b64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ verifier, state, nonce, at: Date.now() }));
  const u = new URL(s.authorizationEndpoint);
  u.search = new URLSearchParams({
    response_type: 'code', client_id: s.clientId, redirect_uri: redirectUri(), scope: s.scopes.join(' '),
    state, nonce, code_challenge: challenge, code_challenge_method: 'S256',
  }).toString();
  location.assign(u.href);
}

function payloadOf(jwt: string): Record<string, unknown> {
  try {
    const part = jwt.split('.')[1] ?? '';
    return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * Finishes a sign-in when the page was opened by the issuer's redirect (?code=…&state=…): checks state (defends
 * against login CSRF: a code injected from another browser's flow), exchanges the code with the verifier, checks the
 * nonce of the ID token (defends against a replayed token), and removes the code from the address bar. Returns the
 * bearer token, undefined when this is no redirect, or throws with a message for the sign-in screen.
 */
export async function finishSignIn(s: OidcSettings | null): Promise<string | undefined> {
  const params = new URLSearchParams(location.search);
  if (!params.has('code') && !params.has('error')) return undefined;
  history.replaceState(null, '', redirectUri() + location.hash);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as { verifier: string; state: string; nonce: string } | null;
  sessionStorage.removeItem(PENDING_KEY);
  if (params.has('error')) throw new Error(`sign-in refused by the issuer: ${params.get('error_description') ?? params.get('error')}`);
  if (!s) throw new Error('OIDC sign-in is not configured on this broker');
  if (!pending || params.get('state') !== pending.state) throw new Error('sign-in answer does not belong to this browser tab (state mismatch); start again');
  const res = await fetch(s.tokenEndpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: params.get('code') ?? '', redirect_uri: redirectUri(), client_id: s.clientId, code_verifier: pending.verifier }),
    credentials: 'omit',
  });
  const body = (await res.json().catch(() => ({}))) as { id_token?: string; access_token?: string; error?: string; error_description?: string };
  if (!res.ok) throw new Error(`token exchange failed: ${body.error_description ?? body.error ?? res.status}`);
  if (body.id_token && payloadOf(body.id_token).nonce !== pending.nonce) throw new Error('ID token nonce mismatch; start again');
  const token = s.useToken === 'access_token' ? body.access_token : body.id_token;
  if (!token) throw new Error(`the token response has no ${s.useToken}`);
  return token;
}
