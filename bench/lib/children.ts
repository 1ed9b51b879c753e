// Child-process bookkeeping for the benchmark: every process it starts is tracked and stopped on exit, error or Ctrl-C.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  /** send stdout to /dev/null instead of collecting it (large result sets) */
  discardStdout?: boolean;
  /** kill the command after this long */
  timeoutMs?: number;
}

/** A set of child processes that can all be stopped at once; long-lived ones (broker, pgbouncer) and short runs alike. */
export class ChildSet {
  private readonly live = new Set<ChildProcess>();

  /** Starts a long-lived process; its output is kept (last 64 KiB) for error messages. */
  start(command: string, args: string[], opts: SpawnOptions = {}): { child: ChildProcess; output: () => string } {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.track(child);
    let output = '';
    // a missing binary must fail its path (the caller sees the exit below), not the whole run
    child.once('error', (e) => {
      output += `\n${command}: ${e.message}`;
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString('utf8')).slice(-65536);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    return { child, output: () => output };
  }

  /** Runs a command to completion, collecting its output; never rejects on a non-zero exit. */
  run(command: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
    const started = process.hrtime.bigint();
    const child = spawn(command, args, {
      stdio: ['ignore', opts.discardStdout ? 'ignore' : 'pipe', 'pipe'],
      env: opts.env ?? process.env,
    });
    this.track(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    return new Promise((resolve, reject) => {
      child.once('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`${command}: ${e.message}`));
      });
      child.once('close', (code, signal) => {
        clearTimeout(timer);
        resolve({
          code,
          signal,
          stdout: Buffer.concat(out).toString('utf8'),
          stderr: Buffer.concat(err).toString('utf8'),
          ms: Number(process.hrtime.bigint() - started) / 1e6,
        });
      });
    });
  }

  /** SIGTERM to everything still running, SIGKILL to what is left after `graceMs`. */
  async stopAll(graceMs = 3000): Promise<void> {
    const running = [...this.live].filter((c) => c.exitCode === null && c.signalCode === null);
    if (running.length === 0) return;
    const exited = running.map((c) => new Promise<void>((done) => (c.exitCode !== null || c.signalCode !== null ? done() : c.once('exit', () => done()))));
    for (const c of running) c.kill('SIGTERM');
    const timer = setTimeout(() => {
      for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    }, graceMs);
    await Promise.all(exited);
    clearTimeout(timer);
  }

  /** Synchronous last resort for process 'exit', where nothing can be awaited. */
  killAllNow(): void {
    for (const c of this.live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  private track(child: ChildProcess): void {
    this.live.add(child);
    child.once('exit', () => this.live.delete(child));
  }
}
