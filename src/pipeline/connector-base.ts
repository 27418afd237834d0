import type { ChannelSpec, Connector, ConnectorContext, ConnectorState, ConnectorStats, DeviceSpec } from './types.js';

/** The counters and state every connector keeps, with the bookkeeping in one place. */
export class ConnectorStatus {
  state: ConnectorState = 'stopped';
  readonly stats: ConnectorStats = { polls: 0, errors: 0, reconnects: 0, lastError: null };
  private connectedBefore = false;

  /** A connection (or a successful poll, for connectionless pollers) came up. */
  connected(): void {
    if (this.state !== 'connected' && this.connectedBefore) this.stats.reconnects++;
    this.connectedBefore = true;
    this.state = 'connected';
  }

  /** Something failed; `down` puts the connector in the error state (counted in health). */
  error(message: string, down: boolean): void {
    this.stats.errors++;
    this.stats.lastError = message;
    if (down && this.state !== 'stopped') this.state = 'error';
  }

  snapshot(): ConnectorStats {
    return { ...this.stats };
  }
}

/** Rejects after `ms` when `promise` has not settled: no library call can wedge a poller. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(Object.assign(new Error(`${what} timed out after ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

export function errorMessage(err: unknown): string {
  // Some libraries (modbus-serial's timeouts) reject with plain objects shaped like errors.
  if (err && typeof err === 'object') {
    const e = err as { message?: unknown; code?: unknown; name?: unknown };
    if (typeof e.message === 'string' && e.message) return e.message;
    if (typeof e.code === 'string') return e.code;
    if (typeof e.name === 'string') return e.name;
  }
  return String(err);
}

/** Warns at most once per interval (bad payloads can arrive thousands of times a second). */
export class ThrottledWarn {
  private lastAt = 0;
  private suppressed = 0;

  constructor(
    private readonly warn: (fields: Record<string, unknown>, message: string) => void,
    private readonly intervalMs = 10_000, // ms
  ) {}

  note(fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    if (now - this.lastAt < this.intervalMs) {
      this.suppressed++;
      return;
    }
    this.warn(this.suppressed > 0 ? { ...fields, suppressedSinceLast: this.suppressed } : fields, message);
    this.lastAt = now;
    this.suppressed = 0;
  }
}

/**
 * What every connector has in common: its id, its state and counters, and the
 * pipeline's context. A connector type adds how it reads (and writes).
 */
export abstract class BaseConnector<Config extends { id: string }> implements Connector {
  abstract readonly type: string;
  protected readonly status = new ConnectorStatus();

  constructor(
    protected readonly config: Config,
    protected readonly ctx: ConnectorContext,
  ) {}

  get id(): string {
    return this.config.id;
  }

  get state(): ConnectorState {
    return this.status.state;
  }

  stats(): ConnectorStats {
    return this.status.snapshot();
  }

  reportError(message: string): void {
    this.status.error(message, false);
  }

  abstract start(): void;
  abstract stop(): Promise<void>;
  abstract staticDevices(): DeviceSpec[];
  abstract channelsOf(device: string): ChannelSpec[] | undefined;
}
