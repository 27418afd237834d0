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

function mask(value: unknown, key?: string): unknown {
  if (Array.isArray(value)) return value.map((v) => mask(v));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mask(v, k)]));
  }
  if (typeof value === 'string') {
    if (key && SECRET_KEY.test(key) && !NOT_SECRET.test(key) && value.length > 0) return MASK;
    return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]*@/i, `$1:${MASK}@`);
  }
  return value;
}
