// Serves the web console's static files under /ui/ with CSP and the other security headers, and its public config.json.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ConsoleOidc } from './ui-ports.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
};

/** Where the built console lives: next to the compiled admin module (dist/admin → dist/ui), or dist/ui when run from src. */
export function findUiDir(): string | undefined {
  for (const rel of ['../ui/', '../../dist/ui/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html')) && existsSync(join(dir, 'app.js'))) return dir;
  }
  return undefined;
}

/**
 * Headers on every console answer. The CSP allows only this origin's files: no inline script or style, no eval, no
 * framing (clickjacking of approve/revoke buttons), no plugins, no <base> rewriting. `connect-src` adds the OIDC
 * token endpoint when the browser must exchange its authorization code there.
 */
export function consoleHeaders(oidc?: ConsoleOidc): Record<string, string> {
  const connect = ["'self'"];
  if (oidc) {
    try {
      connect.push(new URL(oidc.tokenEndpoint).origin);
    } catch {
      // the config schema already checked it is a URL
    }
  }
  return {
    'content-security-policy': [
      "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", `connect-src ${connect.join(' ')}`,
      "font-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'",
    ].join('; '),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    // the authorization code sits in the URL for a moment after the OIDC redirect: never send it elsewhere
    'referrer-policy': 'no-referrer',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'permissions-policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
    'cache-control': 'no-cache',
  };
}

export interface UiFiles {
  /** answers a GET/HEAD under /ui; false when the path is not the console's */
  handle(pathname: string, method: string, res: ServerResponse): boolean;
}

/**
 * The console's files are read once at start into a name → bytes table; only names in the table are served, so no
 * request path (with "..", encoded slashes or anything else) can reach another file.
 */
export function createUiFiles(dir: string | undefined, oidc?: ConsoleOidc): UiFiles {
  const files = new Map<string, { type: string; body: Buffer }>();
  if (dir) {
    for (const name of readdirSync(dir)) {
      const type = TYPES[extname(name)];
      if (type && !name.endsWith('.map')) files.set(name, { type, body: readFileSync(join(dir, name)) });
    }
  }
  const headers = consoleHeaders(oidc);
  const config = Buffer.from(JSON.stringify({ oidc: oidc ?? null }));
  const send = (res: ServerResponse, method: string, status: number, type: string, body: Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(status, { ...headers, 'content-type': type, 'content-length': String(body.length), ...extra });
    res.end(method === 'HEAD' ? undefined : body);
  };
  return {
    handle(pathname, method, res) {
      if (pathname !== '/ui' && !pathname.startsWith('/ui/')) return false;
      if (method !== 'GET' && method !== 'HEAD') {
        send(res, method, 405, 'text/plain; charset=utf-8', Buffer.from('method not allowed\n'), { allow: 'GET, HEAD' });
        return true;
      }
      // relative, so a reverse proxy serving the broker under a path prefix keeps it
      if (pathname === '/ui') {
        send(res, method, 301, 'text/plain; charset=utf-8', Buffer.from('moved to ui/\n'), { location: 'ui/' });
        return true;
      }
      const name = pathname === '/ui/' ? 'index.html' : pathname.slice('/ui/'.length);
      if (name === 'config.json') {
        send(res, method, 200, TYPES['.json']!, config, { 'cache-control': 'no-store' });
        return true;
      }
      const file = files.get(name);
      if (!file) {
        const msg = files.size === 0 ? 'the console is not built (run npm run build)\n' : 'not found\n';
        send(res, method, 404, 'text/plain; charset=utf-8', Buffer.from(msg));
        return true;
      }
      send(res, method, 200, file.type, file.body);
      return true;
    },
  };
}
