// What every console screen gets: who is signed in, broker facts, where to draw, and how to announce results.
import type { Info, Me } from './types.js';

export interface Ctx {
  me: Me;
  info: Info;
  main: HTMLElement;
  /** polite live-region message (screen readers) and the visible status line */
  announce(message: string, kind?: 'ok' | 'error'): void;
  /** runs `f` now and every `ms` while the screen is shown; returns nothing, stopped on navigation */
  every(ms: number, f: () => Promise<void> | void): void;
}

/** Live updates are polled (every 1.5 s on the live screens): EventSource cannot send a bearer header. */
export const POLL_MS = 1500;

export function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
