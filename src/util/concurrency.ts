/** Runs `worker` over `items` with at most `limit` in flight; never rejects (errors go to the worker). */
export async function forEachLimit<T>(items: readonly T[], limit: number, worker: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++]!;
      try {
        await worker(item);
      } catch {
        // The worker owns its error handling; one failure must not stop the others.
      }
    }
  });
  await Promise.all(lanes);
}

/** A repeating task that never overlaps itself and stops cleanly. */
export class Interval {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;

  constructor(
    /** ms between the end of one run and the start of the next; a function is asked again before each wait. */
    private readonly periodMs: number | (() => number),
    private readonly task: () => Promise<void> | void,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(runNow = false): void {
    this.stopped = false;
    if (runNow) void this.tick();
    else this.schedule();
  }

  /** Runs the task now (if not already running) and resets the period. */
  async runNow(): Promise<void> {
    clearTimeout(this.timer);
    await this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.tick(), typeof this.periodMs === 'function' ? this.periodMs() : this.periodMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.running) return this.running;
    this.running = (async () => {
      try {
        await this.task();
      } catch (err) {
        this.onError(err);
      } finally {
        this.running = undefined;
        this.schedule();
      }
    })();
    return this.running;
  }
}

/** Calls `fn` at most once per `waitMs`, trailing edge: bursts of calls collapse into one. */
export function debounce(fn: () => void, waitMs: number): { (): void; cancel(): void; flush(): void } {
  let timer: NodeJS.Timeout | undefined;
  const call = (): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, waitMs);
    timer.unref();
  };
  call.cancel = (): void => {
    clearTimeout(timer);
    timer = undefined;
  };
  call.flush = (): void => {
    if (!timer) return;
    call.cancel();
    fn();
  };
  return call;
}

/** Waits `ms`, or less when `signal` aborts first; never rejects (a stop is not an error). */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    if (signal.aborted) return done();
    signal.addEventListener('abort', done, { once: true });
  });
}
