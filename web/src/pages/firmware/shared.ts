import type { RolloutStatus } from '../../../../src/contract/firmware';
import type { Rollout } from '../../lib/live';

export function asList<T>(body: unknown, key: string): T[] {
  if (Array.isArray(body)) return body as T[];
  const b = body as Record<string, unknown> | null;
  const inner = b?.[key] ?? b?.items;
  return Array.isArray(inner) ? (inner as T[]) : [];
}

export const ACTIVE: RolloutStatus[] = ['pending', 'scheduled', 'running', 'paused'];
export const SETTLED_NODE = ['succeeded', 'failed', 'skipped', 'cancelled'];
export const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** "sat,sun 02:00-05:00 Europe/Berlin" → a rollout window (issue 17 §5), or a reason. */
export function parseWindowText(text: string): { window?: { days: string[]; from: string; to: string; timezone: string }; error?: string } {
  if (!text.trim()) return {};
  const m = /^\s*([a-z,]+)\s+(\d\d:\d\d)-(\d\d:\d\d)(?:\s+(\S+))?\s*$/i.exec(text);
  const days = m ? m[1]!.toLowerCase().split(',').filter(Boolean) : [];
  if (!m || days.length === 0 || !days.every((d) => WEEK.includes(d))) return { error: 'write days from-to [timezone], e.g. "sat,sun 02:00-05:00 Europe/Berlin"' };
  return { window: { days, from: m[2]!, to: m[3]!, timezone: m[4] ?? 'UTC' } };
}

/** "in 1 h 20 min" until an instant (the scheduled state's countdown). */
export function countdown(iso: string, now: number): string {
  const s = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return `in ${d} d ${h} h`;
  if (h > 0) return `in ${h} h ${m} min`;
  return m > 0 ? `in ${m} min ${s % 60} s` : `in ${s} s`;
}

/** The counts every view of a rollout shows, from its nodes: skipped nodes are not among those to update. */
export function rolloutCounts(r: Rollout): { toUpdate: number; succeeded: number; failed: number; skipped: number; text: string } {
  const nodes = r.nodes ?? [];
  const by = (s: string) => nodes.filter((n) => n.state === s).length;
  const skipped = by('skipped');
  const toUpdate = nodes.length - skipped;
  const succeeded = by('succeeded');
  const failed = by('failed');
  const cancelled = by('cancelled');
  const parts = [`${succeeded}/${toUpdate} updated`];
  if (failed) parts.push(`${failed} failed`);
  if (cancelled) parts.push(`${cancelled} cancelled`);
  if (skipped) parts.push(`${skipped} skipped`);
  return { toUpdate, succeeded, failed, skipped, text: parts.join(', ') };
}

export function summarise(r: Rollout): string {
  return rolloutCounts(r).text;
}
