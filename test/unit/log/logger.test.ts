// createLogger: JSON lines to a pipe, pino-pretty on a terminal, secrets redacted either way.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log.js';

const run = promisify(execFile);
const SCRIPT = `import('./src/log.ts').then(({ createLogger }) => {
  const log = createLogger('info');
  log.info({ password: 'pw-should-not-show', token: 'tok-should-not-show', n: 7 }, 'hello from dbwarden');
  setTimeout(() => process.exit(0), 300);
});`;

describe('createLogger', () => {
  it('writes JSON lines with secrets redacted to a given destination', () => {
    let out = '';
    const log = createLogger('debug', { write: (s: string) => void (out += s) });
    log.debug({ password: 'p1', roles: { read: { password: 'p2' } }, authorization: 'Bearer x', user: 'u' }, 'msg');
    const line = JSON.parse(out) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 20, msg: 'msg', name: 'dbwarden', password: '[redacted]', roles: { read: { password: '[redacted]' } }, authorization: '[redacted]', user: 'u' });
  });

  it('prints JSON when stdout is a pipe', async () => {
    const { stdout } = await run('node', ['--import', 'tsx', '-e', SCRIPT]);
    const line = JSON.parse(stdout.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'hello from dbwarden', password: '[redacted]', token: '[redacted]', n: 7 });
  });

  it('prints pino-pretty lines when stdout is a terminal (run under script(1) for a pty)', async () => {
    const cmd = `node --import tsx -e "${SCRIPT.replaceAll('"', '\\"')}"`;
    const { stdout } = await run('script', ['-qec', cmd, '/dev/null'], { env: { ...process.env, FORCE_COLOR: '1' } });
    const text = stdout.replace(/\u001b\[[0-9;]*m/g, '');
    expect(text).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO \(dbwarden\): hello from dbwarden/);
    expect(text).not.toContain('{"level"');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('should-not-show');
  });
});
