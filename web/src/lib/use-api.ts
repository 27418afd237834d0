import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from './api';

export interface ApiResource<T> {
  /** The last answer (mapped), or null until the first one arrives. */
  data: T | null;
  /** The last failure (an ApiError for HTTP answers), null after a success. */
  error: Error | null;
  /** Reads the path again (after a change made on the page); keeps the shown data meanwhile. */
  reload: () => Promise<void>;
}

/**
 * `GET path` as page state: loads when the component mounts and whenever `path` or `deps`
 * change (say the WebSocket reopened), keeps the last answer and the last error. A new path
 * clears the data (another node's tasks are not this node's); an answer that arrives after a
 * newer request was sent is dropped. `path` null: nothing to load yet.
 */
export function useApi<T>(path: string | null, deps: readonly unknown[] = [], map: (body: unknown) => T = (b) => b as T): ApiResource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const latest = useRef(0);
  const shownPath = useRef(path);

  const reload = async (): Promise<void> => {
    if (path === null) return;
    const ticket = ++latest.current;
    try {
      const body = map(await api(path));
      if (ticket !== latest.current) return;
      setData(body);
      setError(null);
    } catch (err) {
      if (ticket !== latest.current) return;
      setError(err instanceof Error ? err : new Error(String(err)));
    }
  };

  useEffect(() => {
    if (shownPath.current !== path) {
      shownPath.current = path;
      setData(null);
      setError(null);
    }
    void reload();
  }, [path, ...deps]);

  return { data, error, reload };
}
