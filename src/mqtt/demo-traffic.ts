import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from '../logger.js';

/**
 * Pretend sensors for `npm run demo`: a separate MQTT client that publishes
 * temperature and humidity for a few rooms, and a status per device, so a
 * newcomer sees MQTT messages arrive on the WebSocket and in the UI.
 */
const ROOMS = ['living-room', 'kitchen', 'bedroom'];

export class DemoSensorTraffic {
  private client: MqttClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly values = new Map<string, number>();
  private tick = 0;

  constructor(
    private readonly url: string,
    private readonly options: { username?: string; password?: string; intervalMs?: number },
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const opts: mqtt.IClientOptions = { clientId: `spore-demo-sensors-${process.pid}`, reconnectPeriod: 2000 };
    if (this.options.username !== undefined) opts.username = this.options.username;
    if (this.options.password !== undefined) opts.password = this.options.password;
    this.client = mqtt.connect(this.url, opts);
    this.client.on('error', (err) => this.logger.debug({ err: err.message }, 'demo sensors: MQTT error'));
    this.timer = setInterval(() => this.publish(), this.options.intervalMs ?? 2000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.client?.endAsync(true);
  }

  private walk(key: string, start: number, step: number): number {
    const next = (this.values.get(key) ?? start) + (Math.random() - 0.5) * step;
    const value = Math.round(Math.min(start + 5 * step, Math.max(start - 5 * step, next)) * 10) / 10;
    this.values.set(key, value);
    return value;
  }

  private publish(): void {
    const client = this.client;
    if (!client?.connected) return;
    const timestamp = new Date().toISOString();
    for (const room of ROOMS) {
      client.publish(`sensor/temperature/${room}`, JSON.stringify({ temperature: this.walk(`t/${room}`, 21.5, 0.6), unit: 'celsius', timestamp }));
      client.publish(`sensor/humidity/${room}`, JSON.stringify({ humidity: this.walk(`h/${room}`, 45, 2), unit: 'percent', timestamp }));
    }
    if (this.tick++ % 5 === 0) {
      client.publish('device/status/demo-weather-station', JSON.stringify({ status: 'online', uptime: Math.round(process.uptime()), battery: 87 }), { retain: true });
    }
  }
}
