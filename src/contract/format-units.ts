/**
 * How sizes, durations and latencies are written, for the `spore` CLI and the web UI alike
 * (issue 12 §17: one module, so "41.0 KiB" in the CLI is "41.0 KiB" on screen too).
 * Pure, no dependencies: the UI bundles it (web/src/lib/format.ts re-exports it).
 *
 * Sizes are binary (1 KiB = 1024 bytes) and always labelled KiB / MiB / GiB — never "kB",
 * which means 1000 bytes.
 */

const KIB = 1024; // bytes
const MIB = 1024 * KIB; // bytes
const GIB = 1024 * MIB; // bytes

/** What a value that is missing (null, undefined, NaN) is shown as. */
export const MISSING = '–';

const isNumber = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n);

/** Bytes as "512 B", "40.5 KiB", "1.25 MiB", "2.00 GiB" (binary units). */
export function formatBytes(n: number | null | undefined): string {
  if (!isNumber(n)) return MISSING;
  const sign = n < 0 ? '-' : '';
  const a = Math.abs(n);
  if (a < KIB) return `${sign}${Math.round(a)} B`;
  if (a < MIB) return `${sign}${(a / KIB).toFixed(1)} KiB`;
  if (a < GIB) return `${sign}${(a / MIB).toFixed(2)} MiB`;
  return `${sign}${(a / GIB).toFixed(2)} GiB`;
}

/** A duration in ms as "120 ms", "5 s", "3 min 4 s", "1 h 2 min", "2 d 3 h". */
export function formatDuration(ms: number | null | undefined): string {
  if (!isNumber(ms)) return MISSING;
  if (ms < 0) return `-${formatDuration(-ms)}`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** A round trip in ms as "12 ms" (one decimal below 10 ms: "0.4 ms"). */
export function formatLatency(ms: number | null | undefined): string {
  if (!isNumber(ms)) return MISSING;
  return ms < 10 && ms !== Math.round(ms) ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

/** "3 s ago", "4 min ago", "2 h ago", "3 d ago" from a time in ms since the epoch. */
export function formatAgo(thenMs: number | null | undefined, nowMs: number): string {
  if (!thenMs) return MISSING;
  const s = Math.max(0, Math.round((nowMs - thenMs) / 1000));
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ago`;
  return `${Math.floor(h / 24)} d ago`;
}
