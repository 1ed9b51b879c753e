// Statement counters bound per session (metrics/statement-tally.ts) show the same series and values in /metrics.
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/metrics/metrics.js';

const value = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1] ?? Number.NaN);

describe('statement tallies', () => {
  it('are flushed into dbwarden_statements_total and dbwarden_rule_matches_total whenever metrics are read', async () => {
    const m = createMetrics();
    const t = m.tallies.for('postgres', 'app');
    expect(m.tallies.for('postgres', 'app')).toBe(t);
    for (let i = 0; i < 5; i++) t.count('allow', []);
    t.count('block', [{ id: 'no-drop', action: 'block' }, { id: 'warn-x', action: 'warn' }]);
    m.tallies.for('mysql', 'app').count('warn', [{ id: 'warn-x', action: 'warn' }]);
    let text = await m.registry.metrics();
    expect(value(text, 'dbwarden_statements_total{protocol="postgres",target="app",action="allow"}')).toBe(5);
    expect(value(text, 'dbwarden_statements_total{protocol="postgres",target="app",action="block"}')).toBe(1);
    expect(value(text, 'dbwarden_statements_total{protocol="mysql",target="app",action="warn"}')).toBe(1);
    expect(value(text, 'dbwarden_rule_matches_total{rule="warn-x",action="warn"}')).toBe(2);
    expect(value(text, 'dbwarden_rule_matches_total{rule="no-drop",action="block"}')).toBe(1);
    // counted once: a second read adds nothing, later statements add on
    t.count('allow', []);
    text = await m.registry.metrics();
    expect(value(text, 'dbwarden_statements_total{protocol="postgres",target="app",action="allow"}')).toBe(6);
    expect(value(text, 'dbwarden_rule_matches_total{rule="warn-x",action="warn"}')).toBe(2);
  });
});
