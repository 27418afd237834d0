import { withToken } from './auth';
import { defaultSocketUrl, LiveSocket } from './live-socket';
import { Store } from './store';

/** The page's one WebSocket (started in main.tsx). */
export const socket = new LiveSocket(() => withToken(defaultSocketUrl()));

/** Wall clock, ticking once a second: "last seen 3 s ago" re-renders from it. */
export const clock = new Store<number>(Date.now());
let clockTimer: ReturnType<typeof setInterval> | undefined;
export function startClock(): void {
  clearInterval(clockTimer);
  clockTimer = setInterval(() => clock.set(Date.now()), 1000);
}

/** Runs `fn` every `ms` while the page is visible, and once at once. Returns a stop function. */
export function every(ms: number, fn: () => void): () => void {
  fn();
  const timer = setInterval(() => {
    if (document.visibilityState === 'visible') fn();
  }, ms);
  return () => clearInterval(timer);
}
