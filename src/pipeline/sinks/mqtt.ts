import type { MqttClient } from 'mqtt';
import { z } from 'zod';
import { hasWildcard, mqttClientOptions, mqttConnectionShape, NO_WILDCARD_IN_PUBLISH_TOPIC, qosSchema, redactUrl } from '../../mqtt/connection.js';
import { nameSchema } from '../names.js';
import { renderTemplate } from '../topic-template.js';
import type { DurableSink, PipelineRecord, QueuedRecord, SinkContext, SinkDefinition } from '../types.js';

const TOPIC_VARS = ['gateway', 'device', 'connector'];

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

export const mqttSinkSchema = z
  .object({
    id: nameSchema('sink id'),
    type: z.literal('mqtt'),
    ...mqttConnectionShape,
    /** Topic per record; {gateway}, {device} and {connector} are filled in. */
    topic: z
      .string()
      .min(1)
      .default('telemetry/{gateway}/{device}')
      .superRefine((topic, ctx) => {
        if (hasWildcard(topic)) ctx.addIssue({ code: 'custom', message: NO_WILDCARD_IN_PUBLISH_TOPIC });
        for (const m of topic.matchAll(/\{([^}]*)\}/g)) {
          if (!TOPIC_VARS.includes(m[1]!)) ctx.addIssue({ code: 'custom', message: `unknown placeholder {${m[1]}} (accepted: ${TOPIC_VARS.map((v) => `{${v}}`).join(', ')})` });
        }
      }),
    /** 1 (default): a record leaves the buffer on PUBACK. 0: as soon as it is written to the socket (may be lost). */
    qos: qosSchema.default(1),
    retain: z.boolean().default(false),
    buffer: durableBufferSchema,
  })
  .strict();

export type MqttSinkConfig = z.infer<typeof mqttSinkSchema>;

/** The `mqtt` sink: durable store-and-forward export to a broker (docs/pipeline.md). */
export class MqttSink implements DurableSink {
  readonly durable = true;
  readonly type = 'mqtt';
  readonly buffer: DurableSink['buffer'];
  private client: MqttClient | undefined;
  private connected = false;
  private lastError: string | null = null;
  private readonly readyListeners: Array<() => void> = [];

  constructor(
    private readonly config: MqttSinkConfig,
    private readonly ctx: SinkContext,
  ) {
    this.buffer = { maxMessages: config.buffer.maxMessages, maxAgeMs: config.buffer.maxAgeHours * 3_600_000, maxInflight: config.buffer.maxInflight };
  }

  get id(): string {
    return this.config.id;
  }

  get ready(): boolean {
    return this.connected;
  }

  get up(): boolean {
    return this.connected;
  }

  topicFor(record: PipelineRecord): string {
    return renderTemplate(this.config.topic, [], { gateway: record.gateway, device: record.device, connector: record.connector });
  }

  onReady(listener: () => void): void {
    this.readyListeners.push(listener);
  }

  async start(): Promise<void> {
    // mqtt.js is loaded with the first MQTT connector, sink or bridge, not at start-up (issue 16 §3).
    const { default: mqtt } = await import('mqtt');
    let options;
    try {
      options = mqttClientOptions(this.config, `spore-${this.ctx.gatewayId}-${this.config.id}`.slice(0, 128));
    } catch (err) {
      // A missing certificate: the sink stays down (health degraded) and records stay queued.
      this.lastError = (err as Error).message;
      this.ctx.logger.error({ sink: this.id, error: this.lastError }, 'mqtt sink cannot connect');
      return;
    }
    // One client for the sink's lifetime: mqtt.js reconnects it, the buffer is never rebuilt.
    const client = mqtt.connect(this.config.url, options);
    this.client = client;
    client.on('connect', () => {
      const wasConnected = this.connected;
      this.connected = true;
      this.lastError = null;
      if (!wasConnected) this.ctx.logger.info({ sink: this.id, broker: redactUrl(this.config.url) }, 'mqtt sink connected');
      for (const listener of this.readyListeners) listener();
    });
    client.on('close', () => {
      if (this.connected) this.ctx.logger.warn({ sink: this.id, broker: redactUrl(this.config.url) }, 'mqtt sink disconnected; records stay queued on disk');
      this.connected = false;
    });
    client.on('offline', () => {
      this.connected = false;
    });
    client.on('error', (err) => {
      this.lastError = err.message;
      this.ctx.logger.debug({ sink: this.id, err }, 'mqtt sink error');
    });
  }

  deliver(row: QueuedRecord): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new Error('mqtt sink is not started'));
    return new Promise((resolve, reject) => {
      client.publish(row.topic, row.payload, { qos: this.config.qos, retain: this.config.retain }, (err) => (err ? reject(err) : resolve()));
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.connected = false;
    if (client) await client.endAsync(true);
  }

  healthDetails(): Record<string, unknown> {
    return { broker: redactUrl(this.config.url), connected: this.connected, lastError: this.lastError };
  }
}

export const mqttSink: SinkDefinition<MqttSinkConfig> = {
  type: 'mqtt',
  schema: mqttSinkSchema,
  create: (config, ctx) => new MqttSink(config, ctx),
};
