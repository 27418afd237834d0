import mqtt, { type MqttClient } from 'mqtt';

/** An MQTT client that keeps every message it receives. */
export class Subscriber {
  readonly messages: Array<{ topic: string; payload: string }> = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => this.messages.push({ topic, payload: payload.toString() }));
  }

  /** Subscribes with QoS 1 on a persistent session, so a broker restart loses nothing for us either. */
  static async connect(url: string, filter: string, clientId = `test-sub-${Math.random().toString(16).slice(2)}`): Promise<Subscriber> {
    const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 200 });
    const sub = new Subscriber(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filter, { qos: 1 });
    return sub;
  }

  json(): any[] {
    return this.messages.map((m) => JSON.parse(m.payload));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export async function publish(url: string, messages: Array<{ topic: string; payload: string; qos?: 0 | 1 }>): Promise<void> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    for (const m of messages) await client.publishAsync(m.topic, m.payload, { qos: m.qos ?? 1 });
  } finally {
    await client.endAsync();
  }
}
