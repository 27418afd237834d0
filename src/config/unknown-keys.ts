import { def, unwrap, type AnySchema, type Def } from './schema-walk.js';

/**
 * Unknown keys at every depth of a configuration document, each with its path
 * and the closest known key: `auth: {apikeys: […]}` must not leave the API
 * open with no word (a typo is an error, "did you mean apiKeys?").
 */


/** `pipeline.connectors[0].devices[1].type`: list indices in brackets. */
export function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}


/** Edit distance (Levenshtein), case-insensitive. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const row = Array.from({ length: y.length + 1 }, (_, i) => i);
  for (let i = 1; i <= x.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (x[i - 1] === y[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[y.length]!;
}

/** The known name closest to `given`, if it is close enough to be a typo. */
export function closest(given: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = Infinity;
  for (const k of known) {
    const d = distance(given, k);
    if (d < bestScore) {
      best = k;
      bestScore = d;
    }
  }
  return best !== undefined && bestScore <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

export function unknownKeyProblem(path: readonly PropertyKey[], key: string, known: readonly string[]): string {
  const hint = closest(key, known);
  return `${formatPath([...path, key])}: unknown key "${key}" (${hint ? `did you mean ${hint}?` : `known here: ${known.join(', ')}`})`;
}

/** The object schema options of a union that fit `value` (by its discriminator when there is one). */
function unionCandidates(d: Def, value: Record<string, unknown>): AnySchema[] {
  const objects = (d.options ?? []).map(unwrap).filter((o) => def(o).type === 'object');
  if (!d.discriminator) return objects.length === 1 ? objects : [];
  return objects.filter((o) => {
    const tag = def(o).shape?.[d.discriminator!];
    if (!tag) return false;
    const td = def(unwrap(tag));
    return (td.values ?? []).includes(value[d.discriminator!]);
  });
}

/** Every unknown key in `value`, walking `schema` as far as it describes the value. */
export function findUnknownKeys(schema: AnySchema, value: unknown, path: PropertyKey[] = []): string[] {
  const s = unwrap(schema);
  const d = def(s);
  if (d.type === 'array' && d.element && Array.isArray(value)) {
    return value.flatMap((item, i) => findUnknownKeys(d.element!, item, [...path, i]));
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const record = value as Record<string, unknown>;
  if (d.type === 'union') {
    const candidates = unionCandidates(d, record);
    return candidates.length === 1 ? findUnknownKeys(candidates[0]!, value, path) : [];
  }
  if (d.type === 'record' && d.valueType) {
    return Object.entries(record).flatMap(([k, v]) => findUnknownKeys(d.valueType!, v, [...path, k]));
  }
  if (d.type !== 'object' || !d.shape) return [];
  // An object that takes any extra key (catchall) has no unknown keys.
  if (d.catchall && def(d.catchall).type !== 'never') return [];
  const known = Object.keys(d.shape);
  const problems: string[] = [];
  for (const [key, child] of Object.entries(record)) {
    const childSchema = d.shape[key];
    if (!childSchema) problems.push(unknownKeyProblem(path, key, known));
    else problems.push(...findUnknownKeys(childSchema, child, [...path, key]));
  }
  return problems;
}
