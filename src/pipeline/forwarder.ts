import type { Logger } from '../logger.js';
import type { RecordStore } from './record-store.js';
import type { DurableSink } from './types.js';

/**
 * Delivers one durable sink's buffer: reads the oldest queued records and hands them to the
 * sink in id order (so order per device holds), at most `maxInflight` unconfirmed at a time,
 * only while the sink is ready; a record leaves the buffer once the sink confirms it (PUBACK).
 * Unconfirmed records at a disconnect are re-sent by the MQTT client's session before anything
 * newer (mqtt.js replays its outgoing store before emitting `connect`); after a restart, by us.
 */
export class Forwarder {
  private cursor = 0;
  private inflight = 0;
  private stopped = false;
  private scheduled = false;

  constructor(
    private readonly store: RecordStore,
    private readonly sink: DurableSink,
    private readonly logger: Logger,
  ) {}

  start(): void {
    this.sink.onReady(() => this.kick());
    this.kick();
  }

  stop(): void {
    this.stopped = true;
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** New records were committed, or the sink became ready: deliver soon (coalesced). */
  kick(): void {
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const max = this.sink.buffer.maxInflight;
    while (!this.stopped && this.store.isOpen && this.sink.ready && this.inflight < max) {
      const rows = this.store.next(this.sink.id, this.cursor, max - this.inflight);
      if (rows.length === 0) return;
      for (const row of rows) {
        this.cursor = row.id;
        this.inflight++;
        this.store.setDispatched(this.sink.id, row.id);
        this.sink.deliver(row).then(
          () => {
            this.inflight--;
            if (this.store.isOpen) this.store.acknowledge(this.sink.id, row.id);
            this.kick();
          },
          (err: unknown) => {
            this.inflight--;
            if (this.stopped) return; // the rows stay on disk for the next start
            // Not delivered and not in the client's session: send it (and what follows) again.
            this.logger.warn({ err, sink: this.sink.id, id: row.id }, 'delivery failed; the record stays queued and is sent again');
            this.cursor = Math.min(this.cursor, row.id - 1);
            this.kick();
          },
        );
      }
    }
  }
}
