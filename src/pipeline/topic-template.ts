import { topicMatches } from '../mqtt/topic-filter.js';

/**
 * MQTT topic filters (matched as the bridge matches them), and templates with `{n}` captures: `{n}` is the
 * n-th level (0-based) of the topic a message arrived on, e.g. filter `sensors/+/reading`,
 * template `{1}` → `boiler` for topic `sensors/boiler/reading`.
 */

/** The topic's levels when it matches the filter, else null (the `{n}` captures). */
export function matchTopic(filter: string, topic: string): string[] | null {
  return topicMatches(filter, topic) ? topic.split('/') : null;
}

const CAPTURE = /\{(\d+)\}/g;

/** The `{n}` levels a template uses. */
export function templateCaptures(template: string): number[] {
  return [...template.matchAll(CAPTURE)].map((m) => Number(m[1]));
}

/**
 * Why a template cannot be filled from topics matching `filter` (a `{n}` beyond the
 * filter's levels when the filter has no trailing `#`), or undefined.
 */
export function templateProblem(template: string, filter: string): string | undefined {
  const levels = filter.split('/');
  const open = levels.at(-1) === '#';
  for (const n of templateCaptures(template)) {
    if (!open && n >= levels.length) {
      return `{${n}} refers to topic level ${n}, but "${filter}" has levels 0-${levels.length - 1}`;
    }
  }
  return undefined;
}

/** Fills `{n}` with topic levels (missing levels become ""), and named `{key}`s from `vars`. */
export function renderTemplate(template: string, levels: readonly string[], vars: Record<string, string> = {}): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, (whole, key: string) => {
    if (/^\d+$/.test(key)) return levels[Number(key)] ?? '';
    return vars[key] ?? whole;
  });
}
