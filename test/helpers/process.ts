// Test helpers for child processes: free ports, waiting for output, RSS sampling.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
export { freePort } from '../../bench/lib/free-port.js';

export interface Spawned {
  child: ChildProcess;
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** `detached`: the child leads a process group of its own, so `process.kill(-pid, sig)` reaches it and its children, as Ctrl-C in a terminal does. */
export function spawnLogged(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; detached?: boolean } = {}): Spawned {
  const child = spawn(cmd, args, { env: { ...process.env, ...opts.env }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const l of listeners) l();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(re);
          if (m) {
            listeners.delete(check);
            clearTimeout(t);
            resolve(m);
          }
        };
        const t = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`timed out waiting for ${re} in output:\n${out}`));
        }, timeoutMs);
        listeners.add(check);
        child.once('exit', () => setTimeout(check, 10));
        check();
      });
    },
  };
}

/** Resident set size of a process in bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Waits until a broker process's admin listener answers /readyz with 200 (up to tries × 100 ms). */
export async function untilReady(adminUrl: string, tries = 300): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await fetch(`${adminUrl}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${adminUrl}/readyz did not answer 200`);
}

/** Requests an auto-approved grant over a broker process's admin API and returns its credentials. */
export async function requestGrant(adminUrl: string, token: string, body: { target: string; access: string; databases: string[]; reason: string; ttl?: string }): Promise<{ login: string; password: string }> {
  const res = await fetch(`${adminUrl}/v1/requests`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ttl: '10m', ...body }),
  });
  if (res.status !== 201) throw new Error(`grant request answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { grant: { login: string; password: string } }).grant;
}
