// A raw PostgreSQL wire client for tests: startup (trust or SCRAM via node-postgres' own SASL code), then arbitrary
// bytes written in one go (pipelines, NULs, bytes in any client encoding) and the server's messages read back.
import { spawn } from 'node:child_process';
import { createConnection, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import { parse as parseProtocol } from 'pg-protocol';

const require = createRequire(import.meta.url);
const sasl = require('pg/lib/crypto/sasl.js') as {
  startSession(mechanisms: string[]): { mechanism: string; clientNonce: string; response: string; message: string };
  continueSession(session: object, password: string, serverData: string): Promise<void>;
  finalizeSession(session: object, serverData: string): void;
};

export interface BackendMessage {
  name: string;
  [k: string]: unknown;
}

export class RawPg {
  readonly messages: BackendMessage[] = [];
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(readonly sock: Socket) {
    void parseProtocol(sock, (m) => {
      this.messages.push(m as unknown as BackendMessage);
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('error', () => undefined);
  }

  static async connect(o: { port: number; user: string; password?: string; database: string; params?: Record<string, string> }): Promise<RawPg> {
    const sock = createConnection({ host: '127.0.0.1', port: o.port });
    await new Promise<void>((res, rej) => sock.once('connect', res).once('error', rej));
    const c = new RawPg(sock);
    const params: Record<string, string> = { user: o.user, database: o.database, ...(o.params ?? {}) };
    const body = Buffer.concat([int32(196608), ...Object.entries(params).flatMap(([k, v]) => [cstr(k), cstr(v)]), Buffer.from([0])]);
    sock.write(Buffer.concat([int32(body.length + 4), body]));
    let session: ReturnType<typeof sasl.startSession> | undefined;
    for (;;) {
      const m = await c.next();
      if (m.name === 'error') throw Object.assign(new Error(String(m.message)), m);
      if (m.name === 'authenticationSASL') {
        session = sasl.startSession(m.mechanisms as string[]);
        const first = Buffer.from(session.response);
        sock.write(typed('p', Buffer.concat([cstr(session.mechanism), int32(first.length), first])));
      } else if (m.name === 'authenticationSASLContinue') {
        await sasl.continueSession(session!, o.password ?? '', m.data as string);
        sock.write(typed('p', Buffer.from(session!.response)));
      } else if (m.name === 'authenticationSASLFinal') {
        sasl.finalizeSession(session!, m.data as string);
      } else if (m.name === 'readyForQuery') {
        return c;
      }
    }
  }

  private cursor = 0;

  /** The next message not yet consumed (waits for it). */
  async next(timeoutMs = 10_000): Promise<BackendMessage> {
    const deadline = Date.now() + timeoutMs;
    while (this.cursor >= this.messages.length) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > deadline) throw new Error('timed out waiting for a message');
      await new Promise<void>((res) => {
        this.waiters.push(res);
        setTimeout(res, 200);
      });
    }
    return this.messages[this.cursor++]!;
  }

  /** Messages up to and including the n-th ReadyForQuery from here. */
  async untilReady(n = 1): Promise<BackendMessage[]> {
    const out: BackendMessage[] = [];
    while (n > 0) {
      const m = await this.next();
      out.push(m);
      if (m.name === 'readyForQuery') n--;
      if (m.name === 'error' && (m as { severity?: string }).severity === 'FATAL') break;
    }
    return out;
  }

  write(buf: Buffer): void {
    this.sock.write(buf);
  }

  end(): void {
    this.sock.end(typed('X', Buffer.alloc(0)));
  }
}

export function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

export function cstr(s: string | Buffer): Buffer {
  return Buffer.concat([typeof s === 'string' ? Buffer.from(s) : s, Buffer.from([0])]);
}

export function typed(code: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(code), int32(body.length + 4), body]);
}

/** A simple-protocol Query message with exactly these text bytes. */
export function query(text: string | Buffer): Buffer {
  return typed('Q', cstr(text));
}

/** Parse (unnamed) + Bind + Execute, no Sync. */
export function extended(text: string | Buffer): Buffer {
  return Buffer.concat([
    typed('P', Buffer.concat([cstr(''), cstr(text), Buffer.from([0, 0])])),
    typed('B', Buffer.concat([cstr(''), cstr(''), Buffer.from([0, 0, 0, 0, 0, 0])])),
    typed('E', Buffer.concat([cstr(''), int32(0)])),
  ]);
}

export const SYNC = typed('S', Buffer.alloc(0));

export const errorsOf = (ms: BackendMessage[]): { code: string; message: string; position?: string }[] =>
  ms.filter((m) => m.name === 'error').map((m) => m as unknown as { code: string; message: string; position?: string });

/** Runs a client program without blocking the event loop (an in-process broker must keep answering it). */
export function run(cmd: string, args: string[], input: Buffer | string = '', env: NodeJS.ProcessEnv = process.env): Promise<{ status: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, out });
    });
    child.stdin.end(input);
  });
}
