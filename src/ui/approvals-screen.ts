// Approvals: pending access requests the identity may decide (never its own) and statement reviews, approve-once.
import { api, post } from './api.js';
import { errorText, POLL_MS, type Ctx } from './context.js';
import { badge, clear, fmtTime, h } from './dom.js';
import { dryRunText, matchesPrincipal, type AccessRequest, type Review } from './types.js';

function ttlText(ms: number): string {
  const m = Math.round(ms / 60000);
  return m >= 60 && m % 60 === 0 ? `${m / 60}h` : `${m}m`;
}

/** A reason box and approve/deny buttons; `act` posts the decision. Focus stays usable from the keyboard. */
function decide(label: string, act: (decision: 'approve' | 'deny', comment: string) => Promise<unknown>, ctx: Ctx, approveText = 'Approve'): HTMLElement {
  const reason = h('input', { type: 'text', 'aria-label': `Reason for ${label}`, placeholder: 'reason (optional)', maxlength: 500 });
  const go = (d: 'approve' | 'deny') => () => {
    approve.disabled = deny.disabled = true;
    act(d, reason.value).then(
      () => ctx.announce(`${label}: ${d === 'approve' ? 'approved' : 'denied'}.`, 'ok'),
      (e) => {
        approve.disabled = deny.disabled = false;
        ctx.announce(errorText(e), 'error');
      },
    );
  };
  const approve = h('button', { type: 'button', class: 'primary small', onclick: go('approve') }, approveText);
  const deny = h('button', { type: 'button', class: 'danger small', onclick: go('deny') }, 'Deny');
  return h('div', { class: 'decide' }, reason, approve, deny);
}

export function renderApprovals(ctx: Ctx): void {
  const reqs = h('div', { 'aria-live': 'polite' });
  const revs = h('div', { 'aria-live': 'polite' });
  clear(ctx.main, h('h2', { id: 'screen-h', tabindex: -1 }, 'Approvals'),
    h('h3', {}, 'Access requests'), reqs, h('h3', {}, 'Statement reviews'), revs);
  // rows are rebuilt only when the set changes, so a reason being typed is not wiped by the next poll
  let lastReqs: string | undefined;
  let lastRevs: string | undefined;
  ctx.every(POLL_MS, async () => {
    const [pending, reviews] = await Promise.all([api<AccessRequest[]>('v1/requests?status=pending'), api<Review[]>('v1/reviews?status=pending')]);
    const key = pending.map((r) => `${r.id}:${r.approvals.length}`).join();
    if (key !== lastReqs) {
      lastReqs = key;
      const rows = pending.map((r) => {
        const mine = r.requester === ctx.me.name;
        const may = !mine && matchesPrincipal(r.approvers, ctx.me) && !r.approvals.some((a) => a.by === ctx.me.name);
        return h('article', { class: 'card item', 'data-testid': `request-${r.id}`, 'aria-label': `Request ${r.id} by ${r.requester}` },
          h('div', { class: 'item-head' }, h('strong', {}, r.requester), ' asks for ', badge(r.access), ` on ${r.target}/${r.databases.join(', ')} for ${ttlText(r.ttlMs)}`),
          h('p', { class: 'reason' }, h('span', { class: 'muted' }, 'Reason: '), r.reason),
          h('p', { class: 'muted' }, `${r.id} · policy ${r.policy} · ${r.approvals.filter((a) => a.decision === 'approve').length}/${r.approvalsRequired} approvals · ${fmtTime(r.createdAt)}`),
          may ? decide(`request ${r.id}`, (d, comment) => post(`v1/requests/${encodeURIComponent(r.id)}/${d}`, comment ? { comment } : {}), ctx)
            : h('p', { class: 'muted' }, mine ? 'Your own request: someone else must approve it (you may withdraw it).' : 'Waiting for another approver.'),
          mine ? h('button', { type: 'button', class: 'small', onclick: () => void post(`v1/requests/${encodeURIComponent(r.id)}/deny`, { comment: 'withdrawn' }).then(() => ctx.announce(`Request ${r.id} withdrawn.`, 'ok'), (e) => ctx.announce(errorText(e), 'error')) }, 'Withdraw') : null,
        );
      });
      clear(reqs, rows.length ? rows : h('p', {}, 'No pending requests.'));
    }
    const rkey = reviews.map((r) => `${r.id}:${r.dryRun?.at ?? ''}`).join();
    if (rkey !== lastRevs) {
      lastRevs = rkey;
      const rows = reviews.map((r) => {
        const mine = r.identity === ctx.me.name;
        return h('article', { class: 'card item', 'data-testid': `review-${r.id}`, 'aria-label': `Review ${r.id} for ${r.identity}` },
          h('div', { class: 'item-head' }, h('strong', {}, r.identity), ` on ${r.target}, grant ${r.grantId}, rule${r.ruleIds.length > 1 ? 's' : ''} `, r.ruleIds.map((id) => badge(id, 'rule'))),
          h('pre', { class: 'sql', tabindex: 0, 'aria-label': 'Exact statement text' }, r.text),
          h('p', { class: r.dryRun?.changes ? 'dry-run' : 'dry-run muted', 'data-testid': `dry-run-${r.id}` }, dryRunText(r)),
          h('p', { class: 'muted' }, `${r.id} · ${fmtTime(r.createdAt)} · approving lets exactly this text pass once, within 15 minutes`),
          mine ? h('p', { class: 'muted' }, 'Your own statement: someone else must approve it.')
            : decide(`review ${r.id}`, (d, comment) => post(`v1/reviews/${encodeURIComponent(r.id)}/${d}`, comment ? { comment } : {}), ctx, 'Approve once'),
        );
      });
      clear(revs, rows.length ? rows : h('p', {}, 'No statements waiting for review.'));
    }
  });
}
