import { Backoff, Sleeper } from './backoff.js';
import { BaseConnector, errorMessage } from './connector-base.js';
import type { ConnectorContext, Reading } from './types.js';

/** Bounds of the reconnect backoff, ms. */
export interface BackoffBounds {
  initialMs: number;
  maxMs: number;
}

/**
 * The loop every connector that polls or reconnects shares (issue 11 §5): start() runs `run()`,
 * stop() ends it without waiting out a sleep, failures back off (×2, jittered, capped), the
 * counters live in `status`. A connector type says what one poll (`pollEvery`) or one session
 * (`sessionLoop`) is, or writes its own `run()` on top of `sleep`/`stopped`/`backoff` (the
 * field-bus line poller schedules each device itself).
 */
export abstract class PollingConnector<Config extends { id: string }> extends BaseConnector<Config> {
  protected readonly backoff: Backoff;
  private readonly sleeper = new Sleeper();
  private stopping = true;
  private loop: Promise<void> | undefined;

  constructor(config: Config, ctx: ConnectorContext, backoff: BackoffBounds) {
    super(config, ctx);
    this.backoff = new Backoff(backoff.initialMs, Math.max(backoff.initialMs, backoff.maxMs));
  }

  /** True from stop() on (and before the first start()). */
  protected get stopped(): boolean {
    return this.stopping;
  }

  start(): void {
    this.stopping = false;
    this.status.state = 'connecting';
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.interrupt();
    this.sleeper.wake();
    await this.loop;
    await this.afterStop();
    this.status.state = 'stopped';
  }

  /** The loop; it returns once `stopped` is true. */
  protected abstract run(): Promise<void>;

  /** Cuts short what the loop awaits besides a sleep (a request in flight, a session). */
  protected interrupt(): void {}

  /** After the loop ended, before the state turns `stopped` (flush, close, release). */
  protected afterStop(): void | Promise<void> {}

  /** A sleep that stop() (or `wake()`) cuts short; ms ≤ 0 returns on the next tick. */
  protected sleep(ms: number): Promise<void> {
    return this.sleeper.sleep(ms);
  }

  protected wake(): void {
    this.sleeper.wake();
  }

  /** Hands readings to the pipeline; a refusal (disk full?) is counted, the loop goes on. */
  protected async submitReadings(readings: Reading[]): Promise<void> {
    if (readings.length === 0) return;
    try {
      await this.ctx.submit(readings);
    } catch (err) {
      this.status.error(`could not store readings: ${errorMessage(err)}`, false);
    }
  }

  /**
   * Polls every `pollMs` (start to start). A poll that throws puts the connector in the error
   * state and the next try comes after the backoff; a poll that answers resets it.
   */
  protected async pollEvery(pollMs: number, pollOnce: () => Promise<Reading[]>, describe: (err: unknown) => string = errorMessage): Promise<void> {
    while (!this.stopped) {
      const startedAt = Date.now();
      let readings: Reading[];
      try {
        readings = await pollOnce();
      } catch (err) {
        if (this.stopped) break;
        this.status.error(describe(err), true);
        await this.sleep(this.backoff.next());
        continue;
      }
      this.backoff.reset();
      this.status.connected();
      this.status.stats.polls++;
      await this.submitReadings(readings);
      await this.sleep(startedAt + pollMs - Date.now());
    }
  }

  /**
   * Keeps one session up (a driver, a client with a subscription): `open` builds it and returns
   * `lost`, a promise that settles when the session is gone; `close` tears it down (also after a failed open).
   * Between two tries: the backoff. `failed` reports a failed open (state error, a log line).
   */
  protected async sessionLoop(session: {
    open: () => Promise<{ lost: Promise<void> }>;
    close: () => Promise<void>;
    failed: (err: unknown) => Promise<void> | void;
    up: () => void;
    lost: () => void;
  }): Promise<void> {
    while (!this.stopped) {
      this.status.state = 'connecting';
      let lost: Promise<void>;
      try {
        ({ lost } = await session.open());
      } catch (err) {
        await session.failed(err);
        await session.close();
        if (!this.stopped) await this.sleep(this.backoff.next());
        continue;
      }
      this.backoff.reset();
      this.status.connected();
      session.up();
      await lost;
      await session.close();
      if (this.stopped) break;
      session.lost();
      await this.sleep(this.backoff.next());
    }
    await session.close();
  }
}
