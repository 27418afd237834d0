import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { waitFor } from '../../helpers/net.js';

export interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/** An independent mqtt.js client that records what it receives. */
export class MqttRecorder {
  readonly messages: Received[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => this.messages.push({ topic, payload: Buffer.from(payload), packet }));
  }

  static async connect(url: string, options: IClientOptions = {}): Promise<MqttRecorder> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
    return new MqttRecorder(client);
  }

  async subscribe(filter: string, qos: 0 | 1 | 2 = 0, properties?: Record<string, unknown>): Promise<void> {
    await this.client.subscribeAsync(filter, { qos, ...(properties ?? {}) });
  }

  async publish(topic: string, payload: string | Buffer, opts: Parameters<MqttClient['publishAsync']>[2] = {}): Promise<void> {
    await this.client.publishAsync(topic, payload, opts);
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async waitFor(predicate: (m: Received) => boolean, what: string, timeoutMs = 10_000): Promise<Received> {
    return waitFor(() => this.messages.find(predicate), what, timeoutMs);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
