/**
 * MQTT topic names and filters (MQTT 3.1.1 §4.7): levels separated by "/",
 * "+" matches one whole level, "#" the rest (only as the last level). Topics
 * beginning with "$" are not matched by a filter beginning with a wildcard.
 *
 * The one topic matcher of the project: the gateway and the web UI (Events page) import this
 * module, so it uses no Node API (docs/architecture.md).
 */

const encoder = new TextEncoder();

/** Longer than MQTT's 65535 bytes of UTF-8? (A string of at most 21845 UTF-16 units never is.) */
function tooLong(text: string): boolean {
  return text.length * 3 > 65535 && encoder.encode(text).length > 65535;
}

/** Why `filter` is not a valid topic filter, or undefined when it is. */
export function topicFilterProblem(filter: string): string | undefined {
  if (filter.length === 0) return 'it is empty';
  if (tooLong(filter)) return 'it is longer than 65535 bytes';
  if (filter.includes('\u0000')) return 'it contains NUL';
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.includes('+') && level !== '+') return '"+" must be a whole level';
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return '"#" must be the last level on its own';
  }
  return undefined;
}

/** A topic name one may publish to: no wildcards, not empty. */
export function isValidTopicName(topic: string): boolean {
  return topic.length > 0 && !/[+#\u0000]/.test(topic) && !tooLong(topic);
}

/** Does `topic` (a concrete topic name) match `filter`? */
export function topicMatches(filter: string, topic: string): boolean {
  if (filter === '#') return topic[0] !== '$';
  if (filter === topic) return true;
  if ((filter[0] === '+' || filter[0] === '#') && topic[0] === '$') return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i]!;
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

/** A compiled filter, for filters checked against every message. */
export function compileFilter(filter: string): (topic: string) => boolean {
  if (filter === '#') return (topic) => topic[0] !== '$';
  if (!filter.includes('+') && !filter.includes('#')) return (topic) => topic === filter;
  // The literal part before the first wildcard lets most topics be refused with one comparison.
  // ("a/#" also matches "a", so the separator before the wildcard is not part of it.)
  const literal = filter.slice(0, Math.min(...['+', '#'].map((w) => (filter.includes(w) ? filter.indexOf(w) : filter.length)))).replace(/\/$/, '');
  return (topic) => topic.startsWith(literal) && topicMatches(filter, topic);
}
