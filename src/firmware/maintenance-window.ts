import { WEEKDAYS, type MaintenanceWindow } from './rollout-types.js';

/**
 * Maintenance windows (issue 17 §5) evaluated in the window's own time zone
 * with Intl (daylight-saving changes included). A window belongs to the day it
 * opens: `{days: [sat], from: "22:00", to: "02:00"}` runs Saturday 22:00 to
 * Sunday 02:00; `from` equal to `to` is a whole day.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timezone, f);
  }
  return f;
}

/** True when `timezone` is an IANA zone Intl knows. */
export function isValidTimezone(timezone: string): boolean {
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}

/** "HH:MM" → minutes after midnight, or null. */
export function parseClock(text: string): number | null {
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** Local weekday (0 = Monday) and minute of the day at instant `ms`. */
function local(ms: number, timezone: string): { day: number; minute: number } {
  const parts = formatter(timezone).formatToParts(new Date(ms));
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEKDAYS.indexOf(get('weekday').toLowerCase().slice(0, 3) as (typeof WEEKDAYS)[number]);
  return { day, minute: Number(get('hour')) * 60 + Number(get('minute')) };
}

export function isWindowOpen(w: MaintenanceWindow, ms: number): boolean {
  const from = parseClock(w.from)!;
  const to = parseClock(w.to)!;
  const { day, minute } = local(ms, w.timezone);
  const opensOn = (d: number) => w.days.includes(WEEKDAYS[(d + 7) % 7]!);
  if (from < to) return opensOn(day) && minute >= from && minute < to;
  // Crosses midnight (or, from === to, lasts a whole day).
  return (opensOn(day) && minute >= from) || (opensOn(day - 1) && minute < to);
}

const MINUTE = 60_000; // ms

/** The first instant at or after `ms` when the window is open; null if it never opens (no days). */
export function nextWindowOpen(w: MaintenanceWindow, ms: number): number | null {
  if (isWindowOpen(w, ms)) return ms;
  // Minute steps over at most 8 days: windows are whole minutes in every time zone Intl knows.
  let t = Math.ceil(ms / MINUTE) * MINUTE;
  for (let i = 0; i < 8 * 24 * 60; i++, t += MINUTE) if (isWindowOpen(w, t)) return t;
  return null;
}

/** When a rollout may run next, at or after `ms`: after startAt, inside the window. */
export function nextRunAt(startAt: string | null, window: MaintenanceWindow | null, ms: number): number | null {
  const from = Math.max(ms, startAt ? Date.parse(startAt) : ms);
  return window ? nextWindowOpen(window, from) : from;
}
