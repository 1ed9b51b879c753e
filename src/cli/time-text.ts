// Human renderings of instants relative to now ("in 29m", "3m12s ago").
import { formatDuration } from '../config/duration.js';

/** The two largest units of a duration, rounded to seconds: "1d2h", "29m59s", "45s". */
export function shortDuration(ms: number): string {
  const full = formatDuration(Math.round(Math.abs(ms) / 1000) * 1000);
  const parts = full.match(/\d+[a-z]+/g) ?? [full];
  return parts.slice(0, 2).join('');
}

export function relativeTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const delta = t - now;
  if (Math.abs(delta) < 1000) return 'now';
  return delta > 0 ? `in ${shortDuration(delta)}` : `${shortDuration(delta)} ago`;
}

/** "2025-01-02 03:04:05Z (in 29m)" */
export function instantText(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return `${new Date(t).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z')} (${relativeTime(iso, now)})`;
}
