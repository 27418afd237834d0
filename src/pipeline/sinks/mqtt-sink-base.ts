import type { IClientOptions, MqttClient } from 'mqtt';
import { z } from 'zod';
import { mqttClientOptions, type MqttConnectionConfig } from '../../mqtt/connection.js';
import type { DurableSink, SinkContext } from '../types.js';

/** The durable buffer's bounds (docs/pipeline.md), shared by the `mqtt` and `sparkplug` sinks. */
export const durableBufferSchema = z
  .object({
    /** Records kept at most; beyond, the oldest are dropped (counted and logged). */
    maxMessages: z.number().int().min(1).default(1_000_000),
    /** Records older than this are dropped (counted and logged), hours. */
    maxAgeHours: z.number().positive().default(168),
    /**
     * Records published and not yet confirmed at a time. Large enough to keep a local broker
     * busy at tens of thousands of records/s; lower it to a cloud broker's limit (e.g. 100).
     */
    maxInflight: z.number().int().min(1).max(65535).default(2048),
  })
  .strict()
  .prefault({});

/** What both MQTT-based sinks are configured with: a sink id, a broker connection, the buffer. */
export interface MqttSinkBaseConfig extends MqttConnectionConfig {
  id: string;
  buffer: z.infer<typeof durableBufferSchema>;
}

/**
 * The part the `mqtt` and `sparkplug` sinks share: the durable buffer's bounds, the id, ready
 * listeners, the last error, one mqtt.js client (loaded with the first MQTT part configured, not
 * at start-up: issue 16 §3) and its options. Each sink keeps its own session rules.
 */
export abstract class MqttSinkBase<Config extends MqttSinkBaseConfig> implements Pick<DurableSink, 'durable' | 'buffer' | 'id' | 'onReady'> {
  readonly durable = true;
  readonly buffer: DurableSink['buffer'];
  protected client: MqttClient | undefined;
  protected lastError: string | null = null;
  private readonly readyListeners: Array<() => void> = [];

  constructor(
    protected readonly config: Config,
    protected readonly ctx: SinkContext,
  ) {
    this.buffer = { maxMessages: config.buffer.maxMessages, maxAgeMs: config.buffer.maxAgeHours * 3_600_000, maxInflight: config.buffer.maxInflight };
  }

  get id(): string {
    return this.config.id;
  }

  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  /** Tells the forwarder it may deliver (a connection, a new session's births). */
  protected announceReady(): void {
    for (const listener of this.readyListeners) listener();
  }

  /**
   * mqtt.js and this sink's client options; null when they cannot be built (a missing
   * certificate): the sink stays down (health degraded), records stay queued, the error is kept.
   */
  protected async prepareClient(kind: string): Promise<{ connect: (typeof import('mqtt'))['default']['connect']; options: IClientOptions } | null> {
    const { default: mqtt } = await import('mqtt');
    try {
      return { connect: mqtt.connect, options: mqttClientOptions(this.config, `spore-${this.ctx.gatewayId}-${this.config.id}`.slice(0, 128)) };
    } catch (err) {
      this.lastError = (err as Error).message;
      this.ctx.logger.error({ sink: this.id, error: this.lastError }, `${kind} sink cannot connect`);
      return null;
    }
  }
}
