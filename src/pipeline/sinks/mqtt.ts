import { redactUrl } from '../../mqtt/connection.js';
import { renderTemplate } from '../topic-template.js';
import type { DurableSink, PipelineRecord, QueuedRecord, SinkDefinition } from '../types.js';
import { MqttSinkBase } from './mqtt-sink-base.js';
import { mqttSinkSchema, type MqttSinkConfig } from './mqtt-schema.js';

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
