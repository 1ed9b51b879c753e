// Failed-login slowdown shared by both listeners: a guesser gains nothing by switching protocol.

/**
 * Slows down repeated failed logins from one address: each failure doubles the delay before the error is
 * sent, up to a cap. Defends against online password guessing (passwords are random, but this also keeps
 * a guesser from loading the broker).
 */
export class AuthFailureTracker {
  private readonly failures = new Map<string, { count: number; last: number }>();
  constructor(private readonly baseDelayMs: number, private readonly maxDelayMs = 5000) {}

  delayFor(address: string): number {
    const f = this.failures.get(address);
    if (!f || Date.now() - f.last > 15 * 60_000) return 0;
    return Math.min(this.baseDelayMs * 2 ** (f.count - 1), this.maxDelayMs);
  }

  fail(address: string): number {
    const f = this.failures.get(address);
    const count = f && Date.now() - f.last < 15 * 60_000 ? f.count + 1 : 1;
    this.failures.set(address, { count, last: Date.now() });
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
    return Math.min(this.baseDelayMs * 2 ** (count - 1), this.maxDelayMs);
  }

  succeed(address: string): void {
    this.failures.delete(address);
  }
}
