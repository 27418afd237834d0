import type { IClientOptions, MqttClient } from 'mqtt';
import { GatewayError } from '../../errors.js';
import { compileChannels, extractChannels, parseTimestamp, type PathChannel } from '../channel-paths.js';
import { DeferredAcks } from './mqtt-deferred-acks.js';
import { BaseConnector, errorMessage, ThrottledWarn, withTimeout } from '../connector-base.js';
import { compileJsonPath, type JsonPath } from '../json-path.js';
import { mqttClientOptions, redactUrl, type QoS } from '../../mqtt/connection.js';
import { isValidName, NAME_RULE } from '../names.js';
import { matchTopic, renderTemplate } from '../topic-template.js';
import type { ChannelSpec, ChannelValue, ConnectorContext, ConnectorDefinition, DeviceSpec, Reading } from '../types.js';
import { mqttConnectorSchema, type MqttConnectorConfig } from './mqtt-schema.js';

interface Subscription {
  filter: string;
  qos: QoS;
  device: string;
  text: boolean;
  channels: PathChannel[];
  ts: JsonPath | undefined;
  write: MqttConnectorConfig['subscribe'][number]['write'];
}

/**
 * The `mqtt` connector (a listener): subscribes to topic filters on one broker (add one
 * connector per broker), names devices from topic levels, extracts channels with JSON paths.
 * A QoS 1 message is acknowledged to the broker only once its record is on disk; messages that
 * arrive together share one commit (group commit).
 */
/** A message without readings has nothing to wait for: its acknowledgement goes out at once. */
const NOTHING_TO_COMMIT: Promise<void> = Promise.resolve();

export class MqttConnector extends BaseConnector<MqttConnectorConfig> {
  readonly type = 'mqtt';
  private readonly subs: Subscription[];
  /** Devices seen, with the subscriptions that produce them. */
  private readonly devices = new Map<string, Set<Subscription>>();
  private readonly fixedDevices = new Set<string>();
  private client: MqttClient | undefined;
  private readonly warn: ThrottledWarn;
  /** The commit promise last handed out by the pipeline (its failure is reported once). */
  private lastSubmit: Promise<void> | undefined;

  constructor(config: MqttConnectorConfig, ctx: ConnectorContext) {
    super(config, ctx);
    this.subs = config.subscribe.map((s) => ({
      filter: s.topic,
      qos: s.qos,
      device: s.device,
      text: s.payload === 'text',
      channels: compileChannels(s.channels),
      ts: s.ts ? compileJsonPath(s.ts) : undefined,
      write: s.write,
    }));
    // Devices with a fixed name exist before their first message.
    for (const s of this.subs) {
      if (/\{\d+\}/.test(s.device)) continue;
      this.devices.set(s.device, new Set([...(this.devices.get(s.device) ?? []), s]));
      this.fixedDevices.add(s.device);
    }
    this.warn = new ThrottledWarn((fields, message) => ctx.logger.warn({ connector: config.id, ...fields }, message));
  }

  staticDevices(): DeviceSpec[] {
    return [...this.fixedDevices].map((id) => ({ id, channels: this.channelsOf(id)! }));
  }

  channelsOf(device: string): ChannelSpec[] | undefined {
    const subs = this.devices.get(device);
    if (!subs) return undefined;
    const out = new Map<string, ChannelSpec>();
    for (const s of subs) {
      for (const c of s.channels) {
        if (!out.has(c.name)) out.set(c.name, { name: c.name, transform: c.transform, writable: s.write !== undefined && c.writable !== false, unit: c.unit });
      }
    }
    return [...out.values()];
  }

  start(): void {
    this.status.state = 'connecting';
    let options;
    try {
      options = mqttClientOptions(this.config, `spore-${this.ctx.gatewayId}-${this.config.id}`.slice(0, 128));
    } catch (err) {
      this.status.error(errorMessage(err), true);
      this.ctx.logger.error({ connector: this.id, error: errorMessage(err) }, 'mqtt connector cannot connect');
      return;
    }
    this.connect({ ...options, clean: this.config.cleanSession }).catch((err: unknown) => {
      this.status.error(errorMessage(err), true);
      this.ctx.logger.error({ connector: this.id, error: errorMessage(err) }, 'mqtt connector cannot connect');
    });
  }

  private async connect(options: IClientOptions): Promise<void> {
    // mqtt.js is loaded with the first MQTT connector, sink or bridge, not at start-up (issue 16 §3).
    const { default: mqtt } = await import('mqtt');
    if (this.status.state === 'stopped') return;
    const client = mqtt.connect(this.config.url, options);
    this.client = client;
    // Record first, acknowledge after: a QoS 1 message's PUBACK goes out only once its record
    // is committed. The PUBACKs are held (DeferredAcks) so that mqtt.js reads on meanwhile and
    // the messages that arrive before a commit share it (group commit, issue 16 §4).
    // QoS 0 has no acknowledgement to hold: it is let go at once and committed in batches.
    const acks = new DeferredAcks(client);
    const grouped = acks.install();
    client.handleMessage = (packet, callback) => {
      if (packet.qos === 0) {
        callback();
        this.onMessage(packet.topic, packet.payload as Buffer).catch(() => undefined);
        return;
      }
      // Parsed at once: nothing of the packet (topic, payload, parsed JSON) is kept until the
      // commit, only the readings and the commit's promise, shared by the whole group (issue 16 §4).
      const committed = this.onMessage(packet.topic, packet.payload as Buffer);
      if (grouped && packet.qos === 1 && packet.messageId !== undefined) {
        acks.hold(packet.messageId, committed);
        callback();
        return;
      }
      // QoS 2 (PUBCOMP), or an mqtt.js without the hook: one message at a time. If the record
      // cannot be stored, no acknowledgement.
      committed.then(
        () => callback(),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    };
    client.on('connect', () => {
      this.ctx.logger.info({ connector: this.id, broker: redactUrl(this.config.url) }, 'mqtt connector connected');
      // Connected at CONNACK: a resumed session may deliver queued messages before the SUBACK.
      this.status.connected();
      const topics = Object.fromEntries(this.subs.map((s) => [s.filter, { qos: s.qos }]));
      client.subscribe(topics, (err, granted) => {
        if (err) {
          this.status.error(`subscribe: ${err.message}`, true);
          return;
        }
        const refused = (granted ?? []).filter((g) => g.qos === 128).map((g) => g.topic);
        if (refused.length > 0) this.status.error(`the broker refused the subscription to ${refused.join(', ')}`, true);
      });
    });
    client.on('close', () => {
      if (this.status.state === 'connected') {
        this.status.error(`connection to ${redactUrl(this.config.url)} lost`, true);
        this.ctx.logger.warn({ connector: this.id }, 'mqtt connector disconnected; reconnecting');
      }
    });
    client.on('reconnect', () => {
      if (this.status.state !== 'stopped') this.status.state = 'connecting';
    });
    client.on('error', (err) => {
      this.status.error(err.message, true);
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.status.state = 'stopped';
    if (client) await client.endAsync(true);
  }

  async write(device: string, channel: string, value: ChannelValue): Promise<void> {
    const sub = [...(this.devices.get(device) ?? [])].find((s) => s.write && s.channels.some((c) => c.name === channel));
    if (!sub?.write) throw new GatewayError('channel_not_writable', `${device}.${channel} has no write topic`);
    const client = this.client;
    if (!client || this.status.state !== 'connected') {
      throw new GatewayError('device_unavailable', `connector ${this.id} is not connected to ${redactUrl(this.config.url)}`);
    }
    const topic = renderTemplate(sub.write.topic, [], { device, channel });
    const payload = sub.write.format === 'json' ? JSON.stringify({ [channel]: value }) : String(value);
    try {
      await withTimeout(client.publishAsync(topic, payload, { qos: sub.write.qos, retain: sub.write.retain }), this.config.connectTimeoutMs, 'publish');
    } catch (err) {
      throw new GatewayError('device_write_failed', `publish to ${topic}: ${errorMessage(err)}`);
    }
  }

  /** Resolves once the message's readings are committed (at once if it has none). */
  private onMessage(topic: string, payload: Buffer): Promise<void> {
    const readings = this.readingsOf(topic, payload);
    if (readings.length === 0) return NOTHING_TO_COMMIT;
    const committed = this.ctx.submit(readings);
    // One handler per commit group: the pipeline gives its messages the same promise.
    if (committed !== this.lastSubmit) {
      this.lastSubmit = committed;
      committed.catch((err: unknown) => this.status.error(`could not store readings: ${errorMessage(err)}`, false));
    }
    return committed;
  }

  private readingsOf(topic: string, payload: Buffer): Reading[] {
    const readings: Reading[] = [];
    for (const s of this.subs) {
      const levels = matchTopic(s.filter, topic);
      if (!levels) continue;
      this.status.stats.polls++;
      const device = renderTemplate(s.device, levels);
      if (!isValidName(device)) {
        this.reject(`topic ${topic}: device name "${device}" is not ${NAME_RULE}`);
        continue;
      }
      if (!this.devices.get(device)?.has(s)) {
        if (!this.ctx.claimDevice(device)) {
          this.reject(`topic ${topic}: device "${device}" belongs to another connector`);
          continue;
        }
        this.devices.set(device, new Set([...(this.devices.get(device) ?? []), s]));
      }
      let document: unknown;
      const text = payload.toString('utf8');
      if (s.text) {
        const n = Number(text);
        document = text.trim() !== '' && Number.isFinite(n) ? n : text;
      } else {
        try {
          document = JSON.parse(text);
        } catch {
          this.reject(`topic ${topic}: the payload is not JSON`);
          continue;
        }
      }
      const { values, problems } = extractChannels(document, s.channels);
      for (const p of problems) this.reject(`topic ${topic}: ${p}`);
      if (Object.keys(values).length === 0) continue;
      readings.push({ device, values, ts: (s.ts && parseTimestamp(s.ts(document))) || Date.now() });
    }
    return readings;
  }

  private reject(message: string): void {
    this.status.error(message, false);
    this.warn.note({ error: message }, 'mqtt message skipped');
  }
}

export const mqttConnector: ConnectorDefinition<MqttConnectorConfig> = {
  type: 'mqtt',
  schema: mqttConnectorSchema,
  create: (config, ctx) => new MqttConnector(config, ctx),
};
