import { useEffect, useReducer, useRef } from 'preact/hooks';

type Listener = () => void;

/**
 * A tiny observable value. Writers call `set`/`update`; readers subscribe
 * with `useStore`. Stores fed by the WebSocket are written at most once per
 * animation frame (see live-socket.ts), so a component re-renders at most
 * once per frame however many messages arrive.
 */
export class Store<T> {
  private listeners = new Set<Listener>();
  private current: T;
  /** Increments on every change; cheap to compare in memo dependencies. */
  version = 0;

  constructor(initial: T) {
    this.current = initial;
  }

  get(): T {
    return this.current;
  }

  set(next: T): void {
    this.current = next;
    this.changed();
  }

  update(fn: (value: T) => T): void {
    this.set(fn(this.current));
  }

  /** For stores holding a mutable structure: announce it changed in place. */
  changed(): void {
    this.version++;
    for (const listener of [...this.listeners]) listener();
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Re-renders the component when the store changes; returns its value. */
export function useStore<T>(store: Store<T>): T {
  const [, force] = useReducer((n: number) => n + 1, 0);
  const seen = useRef(store.version);
  useEffect(() => {
    const check = () => {
      if (seen.current !== store.version) {
        seen.current = store.version;
        force(0);
      }
    };
    check(); // it may have changed between render and effect
    return store.subscribe(check);
  }, [store]);
  return store.get();
}

/** Like useStore, but re-renders only when `select` returns something new (Object.is). */
export function useSelect<T, R>(store: Store<T>, select: (value: T) => R): R {
  const [, force] = useReducer((n: number) => n + 1, 0);
  const selected = select(store.get());
  const last = useRef(selected);
  last.current = selected;
  const selectRef = useRef(select);
  selectRef.current = select;
  useEffect(() => {
    const check = () => {
      if (!Object.is(selectRef.current(store.get()), last.current)) force(0);
    };
    check();
    return store.subscribe(check);
  }, [store]);
  return selected;
}
