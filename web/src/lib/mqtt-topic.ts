import { topicFilterProblem, topicMatches } from '../../../src/mqtt/topic-filter.js';

/**
 * MQTT topic filters, matched exactly as the gateway matches them: the matcher is the
 * server's own module (src/mqtt/topic-filter.ts), not a copy.
 */
export { topicMatches };

export function isValidFilter(filter: string): boolean {
  return topicFilterProblem(filter) === undefined;
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
