// Rules: the rule sets per target (read-only) and a "check this SQL" box answering as `dbwarden rules check` does.
import { api, post } from './api.js';
import { errorText, type Ctx } from './context.js';
import { badge, clear, field, h, table } from './dom.js';
import type { Decision, RuleSetView, Target } from './types.js';

function cond(c: unknown): string {
  return c ? Object.entries(c as Record<string, unknown>).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`).join('; ') : '';
}

export function renderRules(ctx: Ctx): void {
  const sql = h('textarea', { name: 'sql', rows: 4, required: true, spellcheck: 'false', class: 'mono' });
  const dialect = h('select', { name: 'dialect' }, h('option', { value: 'postgres' }, 'postgres'), h('option', { value: 'mysql' }, 'mysql'));
  const access = h('select', { name: 'access' }, ['read', 'write', 'admin'].map((a) => h('option', { value: a }, a)));
  const target = h('select', { name: 'target' });
  access.value = 'write';
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'check-result' });
  const form = h('form', { class: 'card', 'aria-labelledby': 'check-h' },
    h('h3', { id: 'check-h' }, 'Check this SQL'),
    field('SQL', sql),
    h('div', { class: 'grid' }, field('Dialect', dialect), field('Access', access), field('Target', target)),
    h('button', { type: 'submit', class: 'primary' }, 'Check'), result);
  const sets = h('div', {});
  clear(ctx.main, h('h2', { id: 'screen-h', tabindex: -1 }, 'Rules'), form, h('h3', {}, 'Rule sets per target'), sets);

  const targetNames = Object.keys(ctx.info.targets);
  clear(target, targetNames.map((t) => h('option', { value: t }, t)));
  target.addEventListener('change', () => {
    const p = ctx.info.targets[target.value]?.protocol;
    if (p) dialect.value = p;
  });
  if (targetNames[0]) dialect.value = ctx.info.targets[targetNames[0]]!.protocol;

  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    post<Decision>('v1/rules/check', { sql: sql.value, dialect: dialect.value, access: access.value, ...(target.value ? { target: target.value } : {}) })
      .then((d) => {
        clear(result,
          h('p', { class: 'decision' }, 'Decision: ', badge(d.action), d.action === 'block' ? ' — refused' : d.action === 'review' ? ' — held for review' : ''),
          d.rules.length ? table(['Rule', 'Rule set', 'Action', 'Message'], d.rules.map((r) => [h('code', {}, r.id), r.ruleset ?? '', badge(r.action), r.message ?? '']), 'Matched rules') : h('p', {}, 'No rule matched.'),
          h('details', {}, h('summary', {}, 'Statement facts'), h('pre', { class: 'sql' }, JSON.stringify(d.statements, null, 2))));
      }, (e) => clear(result, h('p', { class: 'error-text' }, errorText(e))));
  });

  void Promise.all([api<RuleSetView[]>('v1/rulesets'), api<Target[]>('v1/targets')]).then(([rs, ts]) => {
    const bySet = new Map(rs.map((s) => [s.name, s]));
    const used = new Set(ts.flatMap((t) => t.rulesets));
    const setView = (s: RuleSetView, open: boolean) => h('details', { class: 'card', open },
      h('summary', {}, h('strong', {}, s.name), ` — ${s.rules.length} rules${s.description ? ` — ${s.description}` : ''}`),
      table(['Rule', 'Action', 'When', 'Unless', 'Message'], s.rules.map((r) => [h('code', {}, r.id), badge(r.action), cond(r.when), cond(r.unless), r.message]), `Rules of ${s.name}`));
    clear(sets,
      ts.map((t) => h('section', { 'aria-label': `Target ${t.name}` },
        h('h4', {}, `Target ${t.name} (${t.protocol})`),
        t.rulesets.map((n) => bySet.get(n)).filter((s): s is RuleSetView => !!s).map((s) => setView(s, false)))),
      rs.some((s) => !used.has(s.name)) ? [h('h4', {}, 'Loaded but used by no target you may request'), rs.filter((s) => !used.has(s.name)).map((s) => setView(s, false))] : null);
  }, (e) => ctx.announce(errorText(e), 'error'));
}
