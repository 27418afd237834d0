import type { IClientOptions, MqttClient } from 'mqtt';
import type { z } from 'zod';
import { mqttClientOptions, type MqttConnectionConfig } from '../../mqtt/connection.js';
import type { DurableSink, SinkContext } from '../types.js';
import type { durableBufferSchema } from './buffer-schema.js';

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
