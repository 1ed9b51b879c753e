// One session's share of the partial-message budget, and the clock on how long a partial message may stay buffered.
// Security: a client that announces a large message and then stalls (slowloris) pins that memory; the timeout
// ends such a session, the budget caps what many such sessions can hold together (see buffer-budget.ts).
import type { BufferBudget } from './buffer-budget.js';

export class PartialWatch {
  private held = 0;
  private timer: NodeJS.Timeout | null = null;
  private onViolation: ((message: string) => void) | null = null;

  constructor(
    private readonly budget: BufferBudget,
    private readonly grantId: string,
    private readonly timeoutMs: number,
  ) {}

  /** Where a violation is reported (the relay ends the session with a protocol error). */
  attach(onViolation: (message: string) => void): void {
    this.onViolation = onViolation;
  }

  /**
   * The relay's scanner now holds `bytes` of partial messages. Returns an error message when a cap is hit (the
   * caller ends the session); starts the timeout when buffering begins and stops it when the message completes.
   */
  update(bytes: number): string | null {
    const hit = this.budget.update(this.grantId, this.held, bytes);
    if (hit) {
      const cap = hit === 'grant' ? this.budget.limits.perGrant : this.budget.limits.total;
      return `dbwarden: too many bytes buffered for partial messages ${hit === 'grant' ? 'across the sessions of this grant' : 'across all sessions of this broker'} (limit ${cap}); send complete messages`;
    }
    this.held = bytes;
    if (bytes > 0 && !this.timer) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.onViolation?.(`dbwarden: a partial message stayed incomplete for more than ${this.timeoutMs} ms (limits.partialMessageTimeoutMs); closing the connection`);
      }, this.timeoutMs);
      this.timer.unref();
    } else if (bytes === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return null;
  }

  /** The session ended: its bytes go back to the budget. */
  release(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.onViolation = null;
    this.budget.update(this.grantId, this.held, 0);
    this.held = 0;
  }
}
