import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError } from './api';
import { every } from './app-state';

export interface ApiResource<T> {
  /** The last answer (mapped), or null until the first one arrives. */
  data: T | null;
  /** The last failure (an ApiError for HTTP answers), null after a success. */
  error: Error | null;
  /** Reads the path again (after a change made on the page); keeps the shown data meanwhile. */
  reload: () => Promise<void>;
}

export interface UseApiOptions<T> {
  /** Read again when one of these changes (say the WebSocket reopened: `[conn.opens]`). */
  deps?: readonly unknown[];
  /** Shapes the answer before it is kept (a list out of its envelope). */
  map?: (body: unknown) => T;
  /** Read again this often while the page is visible, ms. */
  everyMs?: number;
  /**
   * Stop reading again once the route answers that it is absent (ApiError.notEnabled):
   * routes do not appear while the gateway runs; a change of `deps` (a reconnection) asks again.
   */
  stopWhenAbsent?: boolean;
  /** Each kept answer with its round trip (ms): feeds a store, a chart, a form's draft. */
  onData?: (data: T, roundTripMs: number) => void;
}

/**
 * `GET path` as page state, for every page that shows what a route answers: loads when the
 * component mounts and whenever `path` or `deps` change, optionally polls, keeps the last answer
 * and the last error. A new path clears the data (another node's tasks are not this node's); an
 * answer that arrives after a newer request was sent, or after the component went away, is
 * dropped. `path` null: nothing to load yet. A function path is built at each read (a time
 * window that moves: `from=now-1h`); it reloads on `deps` only and never clears the data.
 */
export function useApi<T>(path: string | (() => string) | null, options: UseApiOptions<T> = {}): ApiResource<T> {
  const { deps = [], everyMs, stopWhenAbsent = false } = options;
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const latest = useRef(0);
  const key = typeof path === 'function' ? '' : path;
  const shownKey = useRef(key);
  // The newest closures: a poll started for these deps reads with this render's path and callbacks.
  const current = useRef({ path, options });
  current.current = { path, options };

  const read = async (): Promise<Error | null> => {
    const { path: p, options: o } = current.current;
    if (p === null) return null;
    const ticket = ++latest.current;
    const t0 = performance.now();
    try {
      const raw = await api(typeof p === 'function' ? p() : p);
      const body = o.map ? o.map(raw) : (raw as T);
      if (ticket !== latest.current) return null;
      setData(body);
      setError(null);
      o.onData?.(body, performance.now() - t0);
      return null;
    } catch (err) {
      if (ticket !== latest.current) return null;
      const e = err instanceof Error ? err : new Error(String(err));
      setError(e);
      return e;
    }
  };
  const reload = async (): Promise<void> => void (await read());

  useEffect(() => {
    if (shownKey.current !== key) {
      shownKey.current = key;
      setData(null);
      setError(null);
    }
    let absent = false;
    const tick = () => {
      if (absent) return;
      void read().then((e) => {
        if (stopWhenAbsent && e instanceof ApiError && e.notEnabled) absent = true;
      });
    };
    const stop = everyMs ? every(everyMs, tick) : (tick(), undefined);
    return () => {
      stop?.();
      latest.current++; // an answer still under way belongs to the old path
    };
  }, [key, everyMs, ...deps]);

  return { data, error, reload };
}
