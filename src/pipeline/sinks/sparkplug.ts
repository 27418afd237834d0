import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IClientOptions, MqttClient } from 'mqtt';
import { GatewayError } from '../../errors.js';
import { redactUrl } from '../../mqtt/connection.js';
import type { ChannelValue, DurableSink, PipelineRecord, QueuedRecord, SinkDefinition } from '../types.js';
import { MqttSinkBase } from './mqtt-sink-base.js';
import {
  changedMetrics,
  channelMetric,
  commandValue,
  deviceTopic,
  metricType,
  nextSequence,
  nodeBirth,
  nodeData,
  nodeDeath,
  type NodeMetrics,
  nodeTopic,
  REBIRTH_METRIC,
} from './sparkplug-codec.js';
import type { UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import { sparkplugSinkSchema, type SparkplugSinkConfig } from './sparkplug-schema.js';

interface Codec {
  encodePayload(payload: UPayload): Uint8Array;
  decodePayload(bytes: Uint8Array): UPayload;
}

/** How often devices are checked for a DDEATH (offline) and node metrics for an NDATA (changed), ms. */
const CHECK_MS = 1000;
/** A clean stop waits this long for the broker to confirm NDEATH, ms. */
const DEATH_TIMEOUT_MS = 2000;

/**
 * The `sparkplug` sink (docs/pipeline.md, Sparkplug B 3.0): the gateway is an edge node, each
 * pipeline device a Sparkplug device. Durable like the `mqtt` sink: records wait in the same
 * on-disk buffer and are encoded at delivery, when their `seq` is known. Per MQTT session:
 * CONNECT with NDEATH(bdSeq) as the will → NCMD/DCMD subscribed → NBIRTH (seq 0, the same bdSeq)
 * → a DBIRTH per device before its first DDATA → DDATA; every message after NBIRTH takes the
 * next seq, 0–255 wrapping. A new session takes the next bdSeq (kept in the data directory, so a
 * restart continues it). NCMD `Node Control/Rebirth` = true → NBIRTH and every DBIRTH again;
 * DCMD metrics → writes to the device's channels. Records queued while the link was down are
 * sent after the new births, their metrics flagged `is_historical`. The edge node's own metrics
 * (cluster nodes by status, connectors and devices online) are declared in NBIRTH and sent in an
 * NDATA when one changes; a device that goes offline gets a DDEATH.
 */
export class SparkplugSink extends MqttSinkBase<SparkplugSinkConfig> implements DurableSink {
  readonly type = 'sparkplug';
  private codec: Codec | undefined;
  /** Births sent in this session: deliveries may go. */
  private born = false;
  private stopping = false;
  private seq = 0;
  /** bdSeq of the current (or next) MQTT connection. */
  private bdSeq = 0;
  /** When this session's NBIRTH went out, ms: older records are historical. */
  private birthAtMs = 0;
  /** Devices with a DBIRTH in this session → the type of every metric it declared. */
  private readonly bornDevices = new Map<string, Map<string, string>>();
  /** Last value of every channel of every device seen, for DBIRTHs. */
  private readonly lastValues = new Map<string, Map<string, { value: ChannelValue; tsMs: number }>>();
  private checkTimer: NodeJS.Timeout | undefined;
  /** The node metrics as last declared (NBIRTH) or reported (NDATA) in this session. */
  private nodeMetrics: NodeMetrics = {};
  private readonly counters = { births: 0, rebirths: 0, deviceDeaths: 0, nodeData: 0, commands: 0, badCommands: 0 };

  get edgeNodeId(): string {
    return this.config.edgeNodeId ?? this.ctx.gatewayId;
  }

  get ready(): boolean {
    return this.born;
  }

  get up(): boolean {
    return this.born;
  }

  topicFor(record: PipelineRecord): string {
    return deviceTopic(this.config.groupId, 'DDATA', this.edgeNodeId, record.device);
  }

  async start(): Promise<void> {
    this.stopping = false;
    // protobufjs and the Tahu schema: loaded only when a sparkplug sink is configured.
    // A CommonJS module: `get` is a named export under Node, on `default` under some loaders (tsx).
    const mod = (await import('sparkplug-payload')) as unknown as { get?: (ns: string) => unknown; default?: { get?: (ns: string) => unknown } };
    const get = mod.get ?? mod.default?.get;
    if (!get) throw new Error('sparkplug-payload has no get(): an unexpected version of the library');
    this.codec = get('spBv1.0') as Codec;
    const prepared = await this.prepareClient('sparkplug');
    if (!prepared) return;
    const { options } = prepared;
    // Sparkplug 3.0: a clean session; our own buffer, not mqtt.js's, holds what is not yet sent.
    options.clean = true;
    options.queueQoSZero = false;
    options.resubscribe = false;
    this.takeBdSeq();
    options.will = this.will();
    const client = prepared.connect(this.config.url, options);
    this.client = client;
    // Every new CONNECT carries the next bdSeq in its will (the NBIRTH after it repeats it).
    client.on('reconnect', () => {
      this.takeBdSeq();
      client.options.will = this.will();
    });
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => {
      if (this.born) this.ctx.logger.warn({ sink: this.id, broker: redactUrl(this.config.url) }, 'sparkplug sink disconnected; records stay queued on disk');
      this.born = false;
      // A record in flight was encoded with this session's seq: never replay it into the next
      // session; it fails here and the forwarder sends it again after the new births.
      for (const id of Object.keys(client.outgoing)) client.removeOutgoingMessage(Number(id));
    });
    client.on('error', (err) => {
      this.lastError = err.message;
      this.ctx.logger.debug({ sink: this.id, err }, 'sparkplug sink error');
    });
    client.on('message', (topic, payload) => this.onCommand(topic, payload));
    this.checkTimer = setInterval(() => this.check(), CHECK_MS);
    this.checkTimer.unref();
  }

  deliver(row: QueuedRecord): Promise<void> {
    const client = this.client;
    if (!client || !this.born || !this.codec) return Promise.reject(new Error('sparkplug sink is not connected'));
    const record = JSON.parse(row.payload) as PipelineRecord;
    const tsMs = Date.parse(record.ts);
    const known = this.lastValues.get(record.device) ?? new Map<string, { value: ChannelValue; tsMs: number }>();
    this.lastValues.set(record.device, known);
    for (const [name, value] of Object.entries(record.values)) {
      const prev = known.get(name);
      if (!prev || prev.tsMs <= tsMs) known.set(name, { value, tsMs });
    }
    // A DBIRTH declares every metric a device sends, with its type: a new device, a new channel
    // or a changed type is (re)born first.
    const declared = this.bornDevices.get(record.device);
    if (!declared || Object.entries(record.values).some(([name, value]) => declared.get(name) !== metricType(value))) this.deviceBirth(record.device);
    const historical = tsMs < this.birthAtMs;
    const specs = this.ctx.channelsOf(record.device);
    const payload: UPayload = {
      timestamp: Date.now(),
      seq: this.takeSeq(),
      metrics: Object.entries(record.values).map(([name, value]) => channelMetric(name, value, tsMs, specs?.find((s) => s.name === name), { historical })),
    };
    return new Promise((resolve, reject) => {
      client.publish(deviceTopic(this.config.groupId, 'DDATA', this.edgeNodeId, record.device), Buffer.from(this.codec!.encodePayload(payload)), { qos: this.config.qos, retain: false }, (err) =>
        err ? reject(err) : resolve(),
      );
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.checkTimer);
    const client = this.client;
    this.client = undefined;
    const wasBorn = this.born;
    this.born = false;
    if (!client) return;
    if (wasBorn && client.connected && this.codec) {
      // A clean stop says so itself (the will is only for an abrupt loss).
      const death = Buffer.from(this.codec.encodePayload(nodeDeath(this.bdSeq, Date.now())));
      await Promise.race([client.publishAsync(nodeTopic(this.config.groupId, 'NDEATH', this.edgeNodeId), death, { qos: 1 }).catch(() => undefined), new Promise((r) => setTimeout(r, DEATH_TIMEOUT_MS).unref())]);
    }
    await client.endAsync(true);
  }

  healthDetails(): Record<string, unknown> {
    return {
      broker: redactUrl(this.config.url),
      connected: this.born,
      groupId: this.config.groupId,
      edgeNodeId: this.edgeNodeId,
      bdSeq: this.bdSeq,
      devices: this.bornDevices.size,
      ...this.counters,
      lastError: this.lastError,
    };
  }

  private onConnect(client: MqttClient): void {
    if (this.stopping) return;
    this.lastError = null;
    const group = this.config.groupId;
    // Commands first, so a host's answer to our NBIRTH (a rebirth request) is not missed.
    client.subscribe([nodeTopic(group, 'NCMD', this.edgeNodeId), `${deviceTopic(group, 'DCMD', this.edgeNodeId, '+')}`], { qos: 1 }, (err) => {
      if (err) this.ctx.logger.warn({ sink: this.id, err }, 'sparkplug sink could not subscribe to NCMD/DCMD');
    });
    this.birth();
    this.ctx.logger.info({ sink: this.id, broker: redactUrl(this.config.url), bdSeq: this.bdSeq }, 'sparkplug edge node online (NBIRTH)');
    this.born = true;
    this.announceReady();
  }

  /** NBIRTH (seq 0) and a DBIRTH for every device seen so far. */
  private birth(): void {
    const client = this.client;
    if (!client || !this.codec) return;
    const now = Date.now();
    this.seq = 0;
    this.birthAtMs = now;
    this.bornDevices.clear();
    this.counters.births++;
    this.nodeMetrics = this.ctx.nodeMetrics();
    client.publish(nodeTopic(this.config.groupId, 'NBIRTH', this.edgeNodeId), Buffer.from(this.codec.encodePayload(nodeBirth(this.bdSeq, now, this.nodeMetrics))), { qos: 0, retain: false });
    this.seq = nextSequence(0);
    for (const device of this.lastValues.keys()) if (this.ctx.deviceOnline(device)) this.deviceBirth(device);
  }

  private deviceBirth(device: string): void {
    const client = this.client;
    const values = this.lastValues.get(device);
    if (!client || !this.codec || !values) return;
    const specs = this.ctx.channelsOf(device);
    const declared = new Map<string, string>();
    const metrics = [...values].map(([name, v]) => {
      declared.set(name, metricType(v.value));
      return channelMetric(name, v.value, v.tsMs, specs?.find((s) => s.name === name), { birth: true });
    });
    client.publish(deviceTopic(this.config.groupId, 'DBIRTH', this.edgeNodeId, device), Buffer.from(this.codec.encodePayload({ timestamp: Date.now(), seq: this.takeSeq(), metrics })), { qos: 0, retain: false });
    this.bornDevices.set(device, declared);
  }

  /**
   * A born device that went offline (its connector no longer connected, or the device itself
   * failing/dead): DDEATH; its next record brings a new DBIRTH. Then the node metrics that
   * changed since NBIRTH or the last NDATA: one NDATA with just those.
   */
  private check(): void {
    const client = this.client;
    if (!client || !this.born || !this.codec) return;
    for (const device of [...this.bornDevices.keys()]) {
      if (this.ctx.deviceOnline(device)) continue;
      client.publish(deviceTopic(this.config.groupId, 'DDEATH', this.edgeNodeId, device), Buffer.from(this.codec.encodePayload({ timestamp: Date.now(), seq: this.takeSeq() })), { qos: 0, retain: false });
      this.bornDevices.delete(device);
      this.counters.deviceDeaths++;
    }
    const now = this.ctx.nodeMetrics();
    const changed = changedMetrics(this.nodeMetrics, now);
    if (Object.keys(changed).length === 0) return;
    this.nodeMetrics = now;
    client.publish(nodeTopic(this.config.groupId, 'NDATA', this.edgeNodeId), Buffer.from(this.codec.encodePayload(nodeData(this.takeSeq(), Date.now(), changed))), { qos: 0, retain: false });
    this.counters.nodeData++;
  }

  private onCommand(topic: string, bytes: Buffer): void {
    if (!this.codec || !this.born) return;
    let payload: UPayload;
    try {
      payload = this.codec.decodePayload(new Uint8Array(bytes));
    } catch (err) {
      this.counters.badCommands++;
      this.ctx.logger.warn({ sink: this.id, topic, error: (err as Error).message }, 'sparkplug: undecodable command ignored');
      return;
    }
    const parts = topic.split('/');
    const metrics = payload.metrics ?? [];
    if (parts[2] === 'NCMD') {
      this.counters.commands++;
      if (metrics.some((m) => m.name === REBIRTH_METRIC && m.value === true)) {
        this.counters.rebirths++;
        this.ctx.logger.info({ sink: this.id }, 'sparkplug: rebirth requested (NCMD)');
        this.birth();
      }
      return;
    }
    if (parts[2] === 'DCMD' && parts.length === 5) {
      this.counters.commands++;
      const device = parts[4]!;
      for (const m of metrics) {
        const value = commandValue(m.value);
        if (typeof m.name !== 'string' || value === undefined) {
          this.counters.badCommands++;
          continue;
        }
        this.ctx.write(device, m.name, value).then(
          () => this.ctx.logger.info({ sink: this.id, device, channel: m.name, value }, 'sparkplug: DCMD written'),
          (err: unknown) => {
            this.counters.badCommands++;
            const message = err instanceof GatewayError ? `${err.code}: ${err.message}` : (err as Error).message;
            this.ctx.logger.warn({ sink: this.id, device, channel: m.name, error: message }, 'sparkplug: DCMD not written');
          },
        );
      }
    }
  }

  private takeSeq(): number {
    const seq = this.seq;
    this.seq = nextSequence(seq);
    return seq;
  }

  private will(): IClientOptions['will'] {
    return {
      topic: nodeTopic(this.config.groupId, 'NDEATH', this.edgeNodeId),
      payload: Buffer.from(this.codec!.encodePayload(nodeDeath(this.bdSeq, Date.now()))),
      qos: 1,
      retain: false,
    };
  }

  /**
   * The bdSeq for the next CONNECT: the one after the last used, 0–255, kept in the data
   * directory before it is used, so a crash never reuses one.
   */
  private takeBdSeq(): void {
    const dir = join(this.ctx.dataDir, 'sparkplug');
    const file = join(dir, `${this.config.id}.json`);
    let next = 0;
    try {
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { nextBdSeq?: unknown };
      if (Number.isInteger(saved.nextBdSeq)) next = (saved.nextBdSeq as number) % 256;
    } catch {
      // first run, or an unreadable file: start at 0 as the spec says for a first connect
    }
    this.bdSeq = next;
    try {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${file}.tmp`, JSON.stringify({ nextBdSeq: nextSequence(next) }));
      renameSync(`${file}.tmp`, file);
    } catch (err) {
      this.ctx.logger.warn({ sink: this.id, err }, 'sparkplug: cannot save bdSeq; a restart may repeat it');
    }
  }
}

export const sparkplugSink: SinkDefinition<SparkplugSinkConfig> = {
  type: 'sparkplug',
  schema: sparkplugSinkSchema,
  create: (config, ctx) => new SparkplugSink(config, ctx),
};
