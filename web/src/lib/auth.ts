import { Store } from './store';

/**
 * The API key the UI presents when the gateway has keys configured
 * (docs/security.md): `Authorization: Bearer <key>` on REST calls,
 * `?token=<key>` where a browser cannot set headers (the WebSocket, download
 * links). Kept in this browser's localStorage until cleared.
 */
export interface AuthState {
  key: string | null;
  /** The gateway answered 401: a key is needed (or the one given is wrong). */
  needed: boolean;
  /** The gateway answered 403: the key lacks the scope of the last call. */
  forbidden: string | null;
}

const STORAGE_KEY = 'spore-gateway.apiKey';

function readStored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export const auth = new Store<AuthState>({ key: readStored(), needed: false, forbidden: null });

export function setApiKey(key: string | null): void {
  const clean = key?.trim() || null;
  try {
    if (clean) localStorage.setItem(STORAGE_KEY, clean);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // storage unavailable (private mode): keep it for this page only
  }
  auth.set({ key: clean, needed: false, forbidden: null });
}

export function authHeaders(): Record<string, string> {
  const key = auth.get().key;
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** `url` with `token=<key>` added, for what cannot carry a header. */
export function withToken(url: string): string {
  const key = auth.get().key;
  if (!key) return url;
  return `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(key)}`;
}

/** Called with every API answer's status. */
export function noteAuthStatus(status: number, message?: string): void {
  const st = auth.get();
  if (status === 401 && !st.needed) auth.set({ ...st, needed: true });
  else if (status === 403) auth.set({ ...st, forbidden: message ?? 'This API key does not have the scope this call needs.' });
}
