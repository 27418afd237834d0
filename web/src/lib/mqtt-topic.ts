/**
 * MQTT topic filters (MQTT 3.1.1 §4.7): `+` matches exactly one level, `#`
 * (last level only) matches that level and everything below it, including the
 * parent itself (`a/#` matches `a`). Topics beginning with `$` are not matched
 * by filters starting with a wildcard. Pure: used by the Events page and its
 * unit test.
 */
export function isValidFilter(filter: string): boolean {
  if (filter.length === 0) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return false;
    if (level.includes('+') && level !== '+') return false;
  }
  return true;
}

export function topicMatches(filter: string, topic: string): boolean {
  if (filter === topic) return true;
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return i === f.length - 1;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * A compiled filter for a search box: several filters separated by spaces or
 * commas, any of which may match. A filter without wildcards and without a
 * slash also matches as a plain substring, so typing "temp" finds
 * `sensors/kitchen/temperature` — and, given the event's `text` (its
 * hostname and payload), any event whose text contains it, ignoring case
 * (issue 15 §6). An empty box matches everything.
 */
export function compileTopicFilter(text: string): { test: (topic: string, text?: string) => boolean; error: string | null } {
  const parts = text
    .split(/[\s,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) return { test: () => true, error: null };
  const bad = parts.find((p) => !isValidFilter(p));
  if (bad) {
    return { test: () => false, error: `"${bad}" is not a valid MQTT filter: "+" and "#" must fill a whole level, "#" only as the last` };
  }
  const tests = parts.map((p) => {
    if (/[+#]/.test(p)) return (topic: string) => topicMatches(p, topic);
    const lower = p.toLowerCase();
    if (!p.includes('/')) return (topic: string, text?: string) => topic.includes(p) || (text !== undefined && text.toLowerCase().includes(lower));
    return (topic: string, text?: string) => topic === p || topic.startsWith(p.endsWith('/') ? p : `${p}/`) || topic.includes(p) || (text !== undefined && text.toLowerCase().includes(lower));
  });
  return { test: (topic, text) => tests.some((t) => t(topic, text)), error: null };
}
