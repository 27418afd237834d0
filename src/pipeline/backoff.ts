/**
 * Exponential backoff with jitter for reconnects: initial, ×2 per failure, capped, each wait
 * drawn from ±20 % so that many pollers of a restarted device do not reconnect in lockstep.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
  ) {}

  /** The next wait, ms. */
  next(): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  reset(): void {
    this.attempt = 0;
  }
}

/** A sleep that `wake()` cuts short (used so that stop() never waits out a backoff). */
export class Sleeper {
  private timer: NodeJS.Timeout | undefined;
  private resolveSleep: (() => void) | undefined;

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.resolveSleep = resolve;
      this.timer = setTimeout(() => {
        this.resolveSleep = undefined;
        resolve();
      }, Math.max(0, ms));
    });
  }

  wake(): void {
    clearTimeout(this.timer);
    const resolve = this.resolveSleep;
    this.resolveSleep = undefined;
    resolve?.();
  }
}
