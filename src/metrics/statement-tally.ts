// Per-statement metric counts kept as plain numbers and handed to prom-client when metrics are read.
//
// prom-client hashes and validates the label object on every inc(); a statement's counters (by action, and by rule
// for every matching rule) would pay that per statement. A Tally is bound once per protocol and target (looked up
// when a session starts), counts in plain fields and is flushed into the real counters by their collect hooks,
// so /metrics shows exactly the same series and values.
import type { Counter } from 'prom-client';

const ACTIONS = ['allow', 'warn', 'mask', 'review', 'block'] as const;
type Action = (typeof ACTIONS)[number];

export class Tally {
  private readonly actions: Record<Action, number> = { allow: 0, warn: 0, mask: 0, review: 0, block: 0 };
  private other: Map<string, number> | null = null;
  /** rule id + '\0' + action → matches */
  private readonly rules = new Map<string, number>();

  constructor(readonly protocol: string, readonly target: string) {}

  /** One decided statement: its action and the rules that matched. */
  count(action: string, rules: readonly { id: string; action: string }[]): void {
    if (action in this.actions) this.actions[action as Action]++;
    else (this.other ??= new Map()).set(action, (this.other.get(action) ?? 0) + 1);
    for (let i = 0; i < rules.length; i++) {
      const key = `${rules[i]!.id}\0${rules[i]!.action}`;
      this.rules.set(key, (this.rules.get(key) ?? 0) + 1);
    }
  }

  flush(statements: Counter<'protocol' | 'target' | 'action'>, ruleMatches: Counter<'rule' | 'action'>): void {
    for (const a of ACTIONS) {
      const n = this.actions[a];
      if (n > 0) {
        statements.inc({ protocol: this.protocol, target: this.target, action: a }, n);
        this.actions[a] = 0;
      }
    }
    if (this.other) {
      for (const [a, n] of this.other) statements.inc({ protocol: this.protocol, target: this.target, action: a }, n);
      this.other = null;
    }
    for (const [key, n] of this.rules) {
      const at = key.indexOf('\0');
      ruleMatches.inc({ rule: key.slice(0, at), action: key.slice(at + 1) }, n);
    }
    this.rules.clear();
  }
}

/** The tallies of one metrics registry, one per protocol and target. */
export class Tallies {
  private readonly byKey = new Map<string, Tally>();

  for(protocol: string, target: string): Tally {
    const key = `${protocol}\0${target}`;
    let t = this.byKey.get(key);
    if (!t) {
      t = new Tally(protocol, target);
      this.byKey.set(key, t);
    }
    return t;
  }

  flush(statements: Counter<'protocol' | 'target' | 'action'>, ruleMatches: Counter<'rule' | 'action'>): void {
    for (const t of this.byKey.values()) t.flush(statements, ruleMatches);
  }
}
