// Tests for host:port parsing of listen addresses.
import { describe, expect, it } from 'vitest';
import { hostPort, parseHostPort } from '../../../src/config/host-port.js';

describe('parseHostPort', () => {
  it.each([
    ['127.0.0.1:7432', '127.0.0.1', 7432],
    ['0.0.0.0:0', '0.0.0.0', 0],
    ['[::1]:7306', '::1', 7306],
    ['[2001:db8::5]:80', '2001:db8::5', 80],
    ['localhost:7080', 'localhost', 7080],
    ['db-1.example.com:65535', 'db-1.example.com', 65535],
  ])('%s', (text, host, port) => {
    expect(parseHostPort(text)).toEqual({ host, port });
  });

  it.each([
    ['7432', 'expected host:port'],
    ['::1:7432', 'brackets'],
    ['[::1]7432', '[ipv6]:port'],
    ['[127.0.0.1]:80', 'not an IPv6'],
    ['host:port', 'not a number'],
    ['host:70000', 'outside'],
    ['bad_host!:80', 'not an IPv4 address or hostname'],
    [':80', 'not an IPv4 address or hostname'],
  ])('rejects %s', (text, reason) => {
    const r = parseHostPort(text);
    expect(typeof r).toBe('string');
    expect(r).toContain(reason);
  });

  it('hostPort throws on bad input', () => {
    expect(() => hostPort('nope')).toThrow(/nope/);
    expect(hostPort('[::]:1')).toEqual({ host: '::', port: 1 });
  });
});
