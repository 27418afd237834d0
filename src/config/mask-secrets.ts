/**
 * Keys whose values are secrets wherever they appear in the configuration,
 * HTTP header names among them (an HTTP connector's `Authorization`).
 */
const SECRET_KEY = /^key$|password|passphrase|secret|token|api-?key|authorization|cookie|private-?key/i;
/** Names of environment variables, not secrets themselves. */
const NOT_SECRET = /Env$/;
export const MASK = '********';

/**
 * A copy of the configuration fit to print or log: secret values replaced by
 * a mask, and passwords inside URLs (`mqtt://user:pass@host`) too.
 */
export function maskSecrets<T>(value: T): T {
  return mask(value) as T;
}

/**
 * A URL fit to show anywhere (health, logs, errors, -print-config): the
 * user-info (`user:pass@`) and every query value masked — a token in
 * `?token=` is as secret as a password. Text that is not a URL is returned
 * with any `scheme://user:pass@` inside it masked.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return redactUrlsIn(text);
  }
  if (url.username) url.username = MASK;
  if (url.password) url.password = MASK;
  if (url.search) {
    const masked = [...url.searchParams.keys()].map((k) => `${encodeURIComponent(k)}=${MASK}`).join('&');
    url.search = masked;
  }
  return url.toString().replace(/%2A/g, '*');
}

/** A path with its query (`/ws?token=…`, a request line): every query value masked. */
export function redactPathQuery(path: string): string {
  const q = path.indexOf('?');
  if (q < 0) return path;
  const query = path
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0 ? pair : `${pair.slice(0, eq)}=${MASK}`;
    })
    .join('&');
  return `${path.slice(0, q)}?${query}`;
}

/** Every `scheme://user:pass@host/…?q=v` inside a longer text, redacted. */
export function redactUrlsIn(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi, (m) => {
    try {
      new URL(m);
    } catch {
      return m.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/i, `$1${MASK}@`);
    }
    return redactUrl(m);
  });
}

function mask(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => mask(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
  }
  if (typeof value === 'string') {
    if (key && SECRET_KEY.test(key) && !NOT_SECRET.test(key) && value.length > 0) return MASK;
    return redactUrlsIn(value);
  }
  return value;
}
