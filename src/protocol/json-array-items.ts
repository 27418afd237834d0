/**
 * Reads one large array inside a JSON object document element by element (issue 19: a
 * primary's `/api/cluster/members` answer is ~7 MB at 10,000 members, CONTRACT §3).
 *
 * `JSON.parse` of the whole answer builds every member at once — ~30 MB of objects that
 * outlive the young generation and wait in old space for the next full GC, every refresh.
 * Parsed one element at a time, each member's raw object dies young once what is kept of it
 * is taken, and the answer never becomes one 7 MB string.
 *
 * Only the structure is scanned here (strings, nesting, commas); every element is checked by
 * `JSON.parse` of its own bytes, and the rest of the document (the object without that array)
 * by `JSON.parse` too. Whatever this scan does not recognise — a byte-order mark, a second key
 * of the same name, anything not an object with that array — returns null, and the caller
 * parses the document whole: the outcome (values or error) is the same either way.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/** Index after the whitespace at `i`. */
function skipSpace(b: Buffer, i: number): number {
  while (i < b.length && isSpace(b[i]!)) i++;
  return i;
}

/** Index after the string starting at `i` (a quote), or -1 when it does not end. */
function skipString(b: Buffer, i: number): number {
  for (i++; i < b.length; i++) {
    const c = b[i]!;
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

/**
 * Index after the value starting at `i` (no leading whitespace), or -1 when the document ends
 * first. Primitives are not checked here: `JSON.parse` of the value checks them.
 */
function skipValue(b: Buffer, i: number): number {
  const c = b[i];
  if (c === QUOTE) return skipString(b, i);
  if (c === OPEN_BRACE || c === OPEN_BRACKET) {
    let depth = 0;
    for (; i < b.length; i++) {
      const d = b[i]!;
      if (d === QUOTE) {
        i = skipString(b, i);
        if (i < 0) return -1;
        i--;
      } else if (d === OPEN_BRACE || d === OPEN_BRACKET) depth++;
      else if (d === CLOSE_BRACE || d === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1;
      }
    }
    return -1;
  }
  // A number, true, false, null (or junk): up to the next structural character or space.
  while (i < b.length) {
    const d = b[i]!;
    if (d === COMMA || d === CLOSE_BRACE || d === CLOSE_BRACKET || isSpace(d)) break;
    i++;
  }
  return i;
}

export interface ArrayItems {
  /** The document as `JSON.parse` gives it, but with an empty array at `key` (in its place: the caller sets it). */
  rest: Record<string, unknown>;
  /** How many elements the array has. */
  count: number;
}

/**
 * Calls `each` with every element of the array at `doc[key]`, parsed on its own, in order,
 * and returns the rest of the document; null when the document is not a JSON object holding
 * exactly one `key` whose value is an array (the caller then parses it whole). Throws what
 * `JSON.parse` throws for a malformed element or rest.
 */
export function forEachArrayItem(doc: Uint8Array, key: string, each: (item: unknown, index: number) => void): ArrayItems | null {
  const buf = Buffer.isBuffer(doc) ? doc : Buffer.from(doc.buffer, doc.byteOffset, doc.byteLength);
  const wanted = JSON.stringify(key);
  let i = skipSpace(buf, 0);
  if (buf[i] !== OPEN_BRACE) return null;
  i = skipSpace(buf, i + 1);
  let arrayStart = -1;
  let arrayEnd = -1;
  // The object's members: "name": value, …
  while (buf[i] !== CLOSE_BRACE) {
    if (buf[i] !== QUOTE) return null;
    const nameEnd = skipString(buf, i);
    if (nameEnd < 0) return null;
    // An escaped name might spell `key` another way: left to the whole parse.
    if (buf.subarray(i, nameEnd).includes(BACKSLASH)) return null;
    const isKey = nameEnd - i === wanted.length && buf.toString('latin1', i, nameEnd) === wanted;
    i = skipSpace(buf, nameEnd);
    if (buf[i] !== COLON) return null;
    i = skipSpace(buf, i + 1);
    const valueEnd = skipValue(buf, i);
    if (valueEnd < 0) return null;
    if (isKey) {
      if (arrayStart >= 0 || buf[i] !== OPEN_BRACKET || buf[valueEnd - 1] !== CLOSE_BRACKET) return null;
      arrayStart = i;
      arrayEnd = valueEnd;
    }
    i = skipSpace(buf, valueEnd);
    if (buf[i] === COMMA) i = skipSpace(buf, i + 1);
    else if (buf[i] !== CLOSE_BRACE) return null;
  }
  if (arrayStart < 0 || skipSpace(buf, i + 1) !== buf.length) return null;
  // The rest of the document, with an empty array in the key's place: checked and parsed whole (it is small).
  const rest: unknown = JSON.parse(buf.toString('utf8', 0, arrayStart) + '[]' + buf.toString('utf8', arrayEnd));
  if (typeof rest !== 'object' || rest === null || Array.isArray(rest)) return null;
  // The elements: value, value, … between the brackets.
  let count = 0;
  i = skipSpace(buf, arrayStart + 1);
  const last = arrayEnd - 1; // the closing bracket
  while (i < last) {
    const end = skipValue(buf, i);
    if (end < 0 || end > last) return null;
    each(JSON.parse(buf.toString('utf8', i, end)) as unknown, count++);
    i = skipSpace(buf, end);
    if (buf[i] === COMMA) {
      i = skipSpace(buf, i + 1);
      if (i >= last) throw new SyntaxError('Unexpected token ] in JSON (a comma before the end of the array)');
    } else if (i !== last) throw new SyntaxError(`Unexpected token in JSON at position ${i}`);
  }
  return { rest: rest as Record<string, unknown>, count };
}
