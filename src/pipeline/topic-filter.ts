/**
 * MQTT topic filters with `+`/`#` wildcards, and templates with `{n}` captures: `{n}` is the
 * n-th level (0-based) of the topic a message arrived on, e.g. filter `sensors/+/reading`,
 * template `{1}` → `boiler` for topic `sensors/boiler/reading`.
 */

/** Why a topic filter is invalid, or undefined when it is valid (MQTT 3.1.1 §4.7). */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'the topic filter is empty';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return '"#" must be a whole level and the last one';
    if (level.includes('+') && level !== '+') return '"+" must be a whole level';
  }
  return undefined;
}

/** The topic's levels when it matches the filter, else null. */
export function matchTopic(filter: string, topic: string): string[] | null {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') {
      // "#" does not match topics starting with "$" at the first level (MQTT 3.1.1 §4.7.2).
      if (i === 0 && topic.startsWith('$')) return null;
      return t;
    }
    if (i >= t.length) return null;
    if (level === '+') {
      if (i === 0 && t[0]!.startsWith('$')) return null;
      continue;
    }
    if (level !== t[i]) return null;
  }
  return f.length === t.length ? t : null;
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
