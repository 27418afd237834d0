/**
 * The small JSONPath subset channel extraction needs: `$` (the whole payload), `.name`,
 * `['name']` / `["name"]` and `[index]`, e.g. `$.main.temp`, `$.sensors[0].value`,
 * `$['odd key']`. No wildcards or filters: one path yields at most one value.
 */
export type JsonPath = (document: unknown) => unknown;

type Step = { key: string } | { index: number };

/** Compiles a path; throws an Error whose message says what is wrong and where. */
export function compileJsonPath(path: string): JsonPath {
  const steps = parseJsonPath(path);
  return (document) => {
    let current: unknown = document;
    for (const step of steps) {
      if (current === null || typeof current !== 'object') return undefined;
      if ('index' in step) {
        if (!Array.isArray(current)) return undefined;
        current = current[step.index];
      } else {
        if (Array.isArray(current) || !Object.prototype.hasOwnProperty.call(current, step.key)) return undefined;
        current = (current as Record<string, unknown>)[step.key];
      }
    }
    return current;
  };
}

export function parseJsonPath(path: string): Step[] {
  if (!path.startsWith('$')) throw new Error(`JSON path ${JSON.stringify(path)} must start with "$" (e.g. "$.a.b[0]")`);
  const steps: Step[] = [];
  let i = 1;
  const fail = (what: string): never => {
    throw new Error(`JSON path ${JSON.stringify(path)}: ${what} at character ${i + 1} (use $.name, $['name'] or $[0])`);
  };
  while (i < path.length) {
    const c = path[i];
    if (c === '.') {
      const m = /^[A-Za-z0-9_$@-]+/.exec(path.slice(i + 1));
      if (!m) fail('a name must follow "."');
      steps.push({ key: m![0] });
      i += 1 + m![0].length;
    } else if (c === '[') {
      const rest = path.slice(i + 1);
      const index = /^(\d+)\]/.exec(rest);
      const quoted = /^'((?:[^'\\]|\\.)*)'\]|^"((?:[^"\\]|\\.)*)"\]/.exec(rest);
      if (index) {
        steps.push({ index: Number(index[1]) });
        i += 1 + index[0].length;
      } else if (quoted) {
        steps.push({ key: (quoted[1] ?? quoted[2])!.replace(/\\(.)/g, '$1') });
        i += 1 + quoted[0].length;
      } else {
        fail('expected [index] or [\'name\']');
      }
    } else {
      fail(`unexpected ${JSON.stringify(c)}`);
    }
  }
  return steps;
}
