// Bytes the protocol relays hold for partial client messages, counted per grant and for the whole broker.
// Security: without a shared cap, many sessions that each announce a large message and stall (a slowloris)
// pin up to maxQueryBytes each; the per-grant cap stops one grant from starving everyone, the total cap keeps
// the process alive whatever the number of grants.

export interface BufferLimits {
  /** bytes of partial messages over all sessions of one grant */
  perGrant: number;
  /** bytes of partial messages over all sessions of this broker */
  total: number;
}

export class BufferBudget {
  private readonly byGrant = new Map<string, number>();
  private used = 0;

  constructor(readonly limits: BufferLimits) {}

  /**
   * Moves a session's holding from `before` to `after` bytes. Growth beyond a cap is refused (returns the cap
   * that was hit, nothing is taken); shrinking always succeeds.
   */
  update(grantId: string, before: number, after: number): 'grant' | 'total' | null {
    const delta = after - before;
    if (delta === 0) return null;
    const g = this.byGrant.get(grantId) ?? 0;
    if (delta > 0) {
      if (g + delta > this.limits.perGrant) return 'grant';
      if (this.used + delta > this.limits.total) return 'total';
    }
    const next = g + delta;
    if (next <= 0) this.byGrant.delete(grantId);
    else this.byGrant.set(grantId, next);
    this.used = Math.max(0, this.used + delta);
    return null;
  }

  get total(): number {
    return this.used;
  }

  forGrant(grantId: string): number {
    return this.byGrant.get(grantId) ?? 0;
  }
}
