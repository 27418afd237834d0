import { readFileSync } from 'node:fs';

/** Now, ms since the epoch. */
export type Clock = () => number;

export const systemClock: Clock = () => Date.now();

/**
 * A clock read from a file (RFC3339 or epoch ms), for tests of scheduled
 * rollouts against a real gateway process (`SPORE_CLOCK_FILE`, docs/firmware.md):
 * the test moves time by rewriting the file. Unreadable or empty: system time.
 * Only rollout schedules, windows and late-joiner deadlines read it.
 */
export function fileClock(path: string): Clock {
  return () => {
    try {
      const text = readFileSync(path, 'utf8').trim();
      const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
      return Number.isFinite(ms) ? ms : Date.now();
    } catch {
      return Date.now();
    }
  };
}
