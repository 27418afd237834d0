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

/** Header names whose values are credentials. */
const SECRET_HEADER = /^(authorization|proxy-authorization|x-api-key|cookie|set-cookie|x-auth-token)$/i;
/** Query parameters and `name=value` pairs in free text whose values are credentials. */
const SECRET_PAIR = /\b(token|key|api[-_]?key|access[-_]?token|password|secret)=([^&\s"'#]+)/gi;

/** Free text (a log message, an error's message or stack): URLs and `token=…` pairs redacted. */
export function redactText(text: string): string {
  if (!/[=@]/.test(text)) return text; // the common case costs one scan
  return redactUrlsIn(text).replace(SECRET_PAIR, (_m, name: string) => `${name}=${MASK}`);
}

/**
 * The one redaction point of every log line (logger.ts calls it on each
 * object logged): secret keys masked, credential headers masked, the query
 * values of `url`/`path` fields and any URL or `token=` inside a string
 * masked — so `?token=<key>`, `x-api-key`, `authorization` and URL
 * credentials never reach a log at any level (docs/security.md).
 */
export function redactForLog(value: unknown, key?: string, depth = 0): unknown {
  if (typeof value === 'string') {
    if (key && ((SECRET_KEY.test(key) && !NOT_SECRET.test(key)) || SECRET_HEADER.test(key)) && value.length > 0) return MASK;
    if (key && /^(url|path|uri|originalUrl)$/i.test(key)) return redactText(redactPathQuery(value));
    return redactText(value);
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactForLog(v, undefined, depth + 1));
  if (value instanceof Error) {
    const copy: Record<string, unknown> = { type: value.name, message: redactText(value.message), ...(value.stack ? { stack: redactText(value.stack) } : {}) };
    for (const [k, v] of Object.entries(value)) copy[k] = redactForLog(v, k, depth + 1);
    return copy;
  }
  if (Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactForLog(v, k, depth + 1);
  return out;
}
