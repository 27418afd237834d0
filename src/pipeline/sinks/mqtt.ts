import { z } from 'zod';
import { hasWildcard, mqttConnectionShape, NO_WILDCARD_IN_PUBLISH_TOPIC, qosSchema, redactUrl } from '../../mqtt/connection.js';
import { nameSchema } from '../names.js';
import { renderTemplate } from '../topic-template.js';
import type { DurableSink, PipelineRecord, QueuedRecord, SinkDefinition } from '../types.js';
import { durableBufferSchema, MqttSinkBase } from './mqtt-sink-base.js';

export { durableBufferSchema } from './mqtt-sink-base.js';

const TOPIC_VARS = ['gateway', 'device', 'connector'];

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
export class MqttSink extends MqttSinkBase<MqttSinkConfig> implements DurableSink {
  readonly type = 'mqtt';
  private connected = false;

  get ready(): boolean {
    return this.connected;
  }

  get up(): boolean {
    return this.connected;
  }

  topicFor(record: PipelineRecord): string {
    return renderTemplate(this.config.topic, [], { gateway: record.gateway, device: record.device, connector: record.connector });
  }

  async start(): Promise<void> {
    const prepared = await this.prepareClient('mqtt');
    if (!prepared) return;
    // One client for the sink's lifetime: mqtt.js reconnects it, the buffer is never rebuilt.
    const client = prepared.connect(this.config.url, prepared.options);
    this.client = client;
    client.on('connect', () => {
      const wasConnected = this.connected;
      this.connected = true;
      this.lastError = null;
      if (!wasConnected) this.ctx.logger.info({ sink: this.id, broker: redactUrl(this.config.url) }, 'mqtt sink connected');
      this.announceReady();
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
