import { errorMessage } from './connector-base.js';
import { PollingConnector } from './polling-connector.js';
import type { ChannelValue, ConnectorContext, DeviceHealth, Reading } from './types.js';

/**
 * A field bus: one line (a serial port, or one TCP connection to a serial device server or a
 * Modbus TCP server) shared by several devices, polled one conversation at a time (issue 13 §3).
 * Shared by the Modbus connectors (modbus-tcp, modbus-rtu, modbus-rtu-tcp) and M-Bus (mbus,
 * mbus-tcp): they add how the line opens and how one device is read.
 *
 * - Requests go out strictly one at a time, in order, with `interFrameDelayMs` of silence
 *   between the end of one exchange and the next request (slow devices, RS-485 turnaround).
 * - A device that does not answer costs one `timeoutMs`; it turns `failing` and is polled
 *   with backoff (pollMs, ×2 per failure, up to reconnect.maxMs) while the others keep pollMs.
 * - A line that fails (closed, unplugged, refused) is dropped and reopened with backoff,
 *   forever; the connector is in the `error` state (health `down`) meanwhile.
 */

export interface LinePollerConfig {
  id: string;
  pollMs: number;
  timeoutMs: number;
  reconnect: { initialMs: number; maxMs: number };
}

/** The line itself failed (closed, gone, refused): reopen it. Any other error is the device's. */
export class LineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LineError';
  }
}

export interface LineDevice {
  id: string;
  health: DeviceHealth;
  /** When the device is polled next, ms since the epoch. */
  dueAt: number;
}

export abstract class LinePoller<Config extends LinePollerConfig, Device extends LineDevice = LineDevice> extends PollingConnector<Config> {
  protected abstract readonly devices: Device[];
  private lineOpen = false;
  /** Serialises exchanges on the line (polls, writes, scans). */
  private queue: Promise<unknown> = Promise.resolve();
  private lastExchangeEnd = 0;
  private submitting: Promise<void> = Promise.resolve();

  constructor(config: Config, ctx: ConnectorContext) {
    // The backoff is the line's (reopen); a failing device has its own schedule (deviceFailed).
    super(config, ctx, config.reconnect);
  }

  /** "/dev/ttyUSB0", "10.0.0.20:4001": where the line is, for messages. */
  protected abstract get where(): string;
  /** Opens the line; must call `lineLost()` when it closes by itself later. */
  protected abstract openLine(): Promise<void>;
  protected abstract closeLine(): void;
  /** Reads one device: its raw channel values (undefined: nothing this time). Throws LineError when the line failed. */
  protected abstract pollDevice(device: Device): Promise<Record<string, ChannelValue> | undefined>;
  /** ms of silence between two exchanges on the line. */
  protected abstract get interFrameDelayMs(): number;
  /**
   * Whether an open line already counts as connected. A serial line is; a Modbus TCP server
   * that accepts connections may still hang, so modbus-tcp waits for a first answer.
   */
  protected readonly connectedOnOpen: boolean = true;

  deviceHealth(device: string): DeviceHealth | undefined {
    const d = this.devices.find((x) => x.id === device);
    return d ? { ...d.health } : undefined;
  }

  override start(): void {
    const now = Date.now();
    for (const d of this.devices) d.dueAt = now;
    super.start();
  }

  protected override async afterStop(): Promise<void> {
    await this.queue;
    await this.submitting;
    this.dropLine();
  }

  protected get isLineOpen(): boolean {
    return this.lineOpen;
  }

  /** The line closed by itself (port vanished, peer closed the socket). */
  protected lineLost(reason: string): void {
    if (!this.lineOpen) return;
    this.lineOpen = false;
    if (this.stopped) return;
    this.status.error(`${this.where}: ${reason}`, true);
    this.ctx.logger.warn({ connector: this.id, line: this.where, reason }, 'field bus line lost; reopening with backoff');
    this.closeLine();
    this.wake();
  }

  /**
   * Runs one exchange on the line, after the previous one and `interFrameDelayMs` of silence.
   * Throws LineError at once when the line is not open.
   */
  protected exchange<T>(what: string, op: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (!this.lineOpen) throw new LineError(`${this.where} is not open${this.status.stats.lastError ? ` (${this.status.stats.lastError})` : ''}`);
      const wait = this.lastExchangeEnd + this.interFrameDelayMs - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      try {
        return await op();
      } catch (err) {
        if (err instanceof LineError) throw err;
        throw Object.assign(err instanceof Error ? err : new Error(errorMessage(err)), { exchange: what });
      } finally {
        this.lastExchangeEnd = Date.now();
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** The line failed during an exchange: drop it, reopen with backoff. */
  protected lineFailed(err: unknown): void {
    const message = errorMessage(err);
    this.status.error(`${this.where}: ${message}`, true);
    this.ctx.logger.warn({ connector: this.id, line: this.where, error: message }, 'field bus line failed; reopening with backoff');
    this.dropLine();
  }

  private dropLine(): void {
    const wasOpen = this.lineOpen;
    this.lineOpen = false;
    if (wasOpen || !this.stopped) this.closeLine();
  }

  protected async run(): Promise<void> {
    while (!this.stopped) {
      if (!this.lineOpen) {
        this.status.state = 'connecting';
        try {
          await this.openLine();
        } catch (err) {
          this.closeLine();
          this.status.error(`open ${this.where}: ${errorMessage(err)}`, true);
          await this.sleep(this.backoff.next());
          continue;
        }
        if (this.stopped) break;
        this.lineOpen = true;
        this.ctx.logger.debug({ connector: this.id, line: this.where }, 'field bus line open');
        if (this.connectedOnOpen) this.lineUp();
        // Everyone is due after a reopen: the line was the problem, not the devices.
        const now = Date.now();
        for (const d of this.devices) d.dueAt = Math.min(d.dueAt, now);
      }
      const readings: Reading[] = [];
      let lineDown = false;
      for (const device of this.devices) {
        if (this.stopped || !this.lineOpen) break;
        if (device.dueAt > Date.now()) continue;
        const dueAt = device.dueAt;
        try {
          const values = await this.pollDevice(device);
          const now = Date.now();
          this.deviceSucceeded(device, now);
          // Keep the schedule (no drift), but never queue up missed polls.
          device.dueAt = Math.max(dueAt + this.config.pollMs, now);
          if (values && Object.keys(values).length > 0) readings.push({ device: device.id, values, ts: now });
        } catch (err) {
          if (err instanceof LineError || !this.lineOpen) {
            this.lineFailed(err);
            lineDown = true;
            break;
          }
          this.deviceFailed(device, err);
        }
      }
      if (readings.length > 0) {
        this.status.stats.polls++;
        // One batch on its way to disk at a time: the line keeps polling during an fsync, and a
        // disk slower than the bus slows the bus down rather than filling memory.
        await this.submitting;
        this.submitting = this.submitReadings(readings);
      }
      if (lineDown) {
        await this.sleep(this.backoff.next());
        continue;
      }
      const next = Math.min(...this.devices.map((d) => d.dueAt));
      await this.sleep(next - Date.now());
    }
  }

  private lineUp(): void {
    if (this.status.state === 'connected') return;
    this.backoff.reset();
    this.status.connected();
    this.ctx.logger.info({ connector: this.id, line: this.where, reconnects: this.status.stats.reconnects }, 'field bus line up');
  }

  protected deviceSucceeded(device: Device, now = Date.now()): void {
    if (!this.connectedOnOpen) this.lineUp();
    if (device.health.state === 'failing') this.ctx.logger.info({ connector: this.id, device: device.id }, 'field device answering again');
    device.health = { state: 'ok', error: null, consecutiveFailures: 0, lastSuccess: new Date(now).toISOString() };
  }

  protected deviceFailed(device: Device, err: unknown): void {
    const message = errorMessage(err);
    const failures = device.health.consecutiveFailures + 1;
    if (failures === 1) this.ctx.logger.warn({ connector: this.id, device: device.id, error: message }, 'field device failing; polled with backoff');
    device.health = { ...device.health, state: 'failing', error: message, consecutiveFailures: failures };
    this.status.error(`${device.id}: ${message}`, false);
    const { pollMs, reconnect } = this.config;
    const delay = Math.max(pollMs, Math.min(reconnect.maxMs, pollMs * 2 ** Math.min(failures - 1, 20)));
    device.dueAt = Date.now() + delay;
  }
}

export function initialHealth(): DeviceHealth {
  return { state: 'unknown', error: null, consecutiveFailures: 0, lastSuccess: null };
}
