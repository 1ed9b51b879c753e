// "host:port" listen addresses: IPv4, bracketed IPv6 ("[::1]:7432") or a hostname, and a port 0-65535 (0 = any free port).
import { isIP } from 'node:net';

export interface HostPort {
  /** IPv6 addresses without brackets, ready for net.Server.listen */
  host: string;
  port: number;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Parses "host:port"; returns a reason string instead of throwing so the schema can report it in place. */
export function parseHostPort(text: string): HostPort | string {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return 'expected [ipv6]:port';
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return `"${host}" is not an IPv6 address`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return 'expected host:port';
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return 'write IPv6 addresses in brackets, e.g. [::1]:7432';
    if (isIP(host) !== 4 && !HOSTNAME.test(host)) return `"${host}" is not an IPv4 address or hostname`;
  }
  if (!/^\d{1,5}$/.test(portText)) return `port "${portText}" is not a number`;
  const port = Number(portText);
  // Port 0 asks the OS for a free port: tests and embedded brokers rely on it.
  if (port > 65535) return `port ${port} is outside 0-65535`;
  return { host, port };
}

/** parseHostPort for callers that already validated the text (the schema did): throws on bad input. */
export function hostPort(text: string): HostPort {
  const r = parseHostPort(text);
  if (typeof r === 'string') throw new TypeError(`bad host:port ${JSON.stringify(text)}: ${r}`);
  return r;
}
