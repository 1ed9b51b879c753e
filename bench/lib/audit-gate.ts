// The benchmarks' audit gates: counts the statement events a run added to the broker's hash-chained trail, and
// runs `dbwarden audit verify` on the whole trail at the end (a fast path that skipped or broke the audit fails).
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { ChildSet } from './children.js';
import { brokerEntry } from './broker-process.js';
import { trailFiles } from '../../src/audit/trail-files.js';

const CHUNK = 4 << 20;
const SEQ = /^\{"seq":(\d+),/;

/** Statement lines with seq above `afterSeq` in one file, and the highest seq seen. Lines are read 4 MiB at a time. */
function countFile(path: string, afterSeq: number): { statements: number; lastSeq: number } {
  const fd = openSync(path, 'r');
  let statements = 0;
  let lastSeq = afterSeq;
  try {
    const buf = Buffer.alloc(CHUNK);
    let rest = '';
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      const text = rest + buf.toString('latin1', 0, n);
      let start = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
        const m = SEQ.exec(text.slice(start, start + 24));
        if (m) {
          const seq = Number(m[1]);
          if (seq > afterSeq) {
            lastSeq = Math.max(lastSeq, seq);
            // canonical lines: seq, ts, type come first
            if (text.startsWith('"type":"statement"', text.indexOf('"type":', start))) statements++;
          }
        }
        start = nl + 1;
      }
      rest = text.slice(start);
    }
  } finally {
    closeSync(fd);
  }
  return { statements, lastSeq };
}

/** Follows the trail from one run to the next: `take()` returns the statement events added since the last call. */
export class AuditCounter {
  private lastSeq = 0;
  constructor(readonly file: string) {}

  take(): number {
    let statements = 0;
    let top = this.lastSeq;
    for (const f of trailFiles(this.file)) {
      if (statSync(f).size === 0) continue;
      const r = countFile(f, this.lastSeq);
      statements += r.statements;
      top = Math.max(top, r.lastSeq);
    }
    this.lastSeq = top;
    return statements;
  }
}

/** `dbwarden audit verify FILE` with the built CLI: the first line of its answer and whether it passed. */
export async function verifyTrail(children: ChildSet, repoDir: string, file: string): Promise<{ ok: boolean; text: string }> {
  const r = await children.run(process.execPath, [brokerEntry(repoDir), 'audit', 'verify', file], { timeoutMs: 600_000 });
  return { ok: r.code === 0, text: `${r.stdout}${r.stderr}`.trim().split('\n').slice(0, 2).join(' / ') };
}
