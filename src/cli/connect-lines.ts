// Ready-to-paste psql / mysql command lines for a grant's login, built from the broker's listen addresses.
import { parseHostPort } from '../config/host-port.js';
import type { ApiInfo } from './api-types.js';

const DEFAULT_LISTEN = { postgres: '127.0.0.1:7432', mysql: '127.0.0.1:7306' } as const;
const WILDCARD = new Set(['0.0.0.0', '::', '']);

export interface ConnectArgs {
  login: string;
  target: string;
  database?: string;
  /** the admin API URL: its host stands in for a wildcard listen address */
  apiUrl: string;
  info?: ApiInfo;
}

/** One line per protocol the target speaks (both when the target is unknown to us). */
export function connectLines(a: ConnectArgs): string[] {
  const target = a.info?.targets[a.target];
  const protocols: ('postgres' | 'mysql')[] = target ? [target.protocol] : ['postgres', 'mysql'];
  const database = a.database ?? target?.databases[0] ?? a.target;
  const lines: string[] = [];
  for (const protocol of protocols) {
    const listen = a.info ? a.info.listen[protocol] : DEFAULT_LISTEN[protocol];
    if (!listen) continue;
    const { host, port } = endpoint(listen, a.apiUrl);
    if (protocol === 'postgres') {
      const h = host.includes(':') ? `[${host}]` : host;
      // never the password: a URL with it ends up in shell history and process lists; psql asks for it (or PGPASSWORD)
      const url = `postgresql://${encodeURIComponent(a.login)}@${h}:${port}/${encodeURIComponent(database)}`;
      lines.push(`psql "${url}"`);
    } else {
      lines.push(`mysql -h ${host} -P ${port} -u ${a.login} -p ${database}`);
    }
  }
  return lines;
}

/** Where a client reaches the listener `listen` (a wildcard address stands for the admin API's host). */
export function endpoint(listen: string, apiUrl: string): { host: string; port: number } {
  const parsed = parseHostPort(listen);
  const apiHost = safeHostname(apiUrl);
  if (typeof parsed === 'string') return { host: apiHost, port: Number(listen.split(':').pop()) || 0 };
  // a broker listening on every interface is reached under the name the admin API was reached by
  return { host: WILDCARD.has(parsed.host) ? apiHost : parsed.host, port: parsed.port };
}

function safeHostname(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  } catch {
    return '127.0.0.1';
  }
}
