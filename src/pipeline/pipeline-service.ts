import { isAbsolute, join } from 'node:path';
import type { NodeRegistry } from '../cluster/node-registry.js';
import { GatewayError } from '../errors.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { HealthContributor } from '../health.js';
import type { Logger } from '../logger.js';
import type { PipelineConfig } from './config-schema.js';
import { CONNECTOR_TYPES } from './connectors/index.js';
import { errorMessage } from './connector-base.js';
import { Forwarder } from './forwarder.js';
import { RecordStore, type PendingRecord } from './record-store.js';
import { SINK_TYPES } from './sinks/index.js';
import { TransformChain } from './transform-chain.js';
import { TransformInversionError } from './transforms/transform.js';
import type { DeviceView, PipelineStats } from '../contract/pipeline.js';
import type { ChannelSpec, ChannelValue, Connector, DurableSink, LiveSink, PipelineRecord, Reading, Sink } from './types.js';

export interface PipelineDeps {
  config: PipelineConfig;
  gatewayId: string;
  dataDir: string;
  registry: NodeRegistry;
  bus: GatewayEventBus;
  logger: Logger;
}

export type { DeviceView, PipelineStats } from '../contract/pipeline.js';

export interface WriteResult {
  success: true;
  device: string;
  channel: string;
  value: ChannelValue;
  /** What was written to the device after inverting the channel's transforms. */
  written: ChannelValue;
}

interface DeviceState {
  connector: Connector;
  values: Map<string, { value: ChannelValue | null; ts: string; bad?: string }>;
}

interface PendingSubmit {
  connector: Connector;
  readings: readonly Reading[];
}

/** How often records past a sink's maxAgeHours are dropped, ms. */
const PRUNE_INTERVAL_MS = 60_000;

/**
 * The data pipeline (issue 6): connectors → per-channel transforms → seq → durable buffer and
 * sinks. Readings submitted in the same tick are committed in one transaction (group commit),
 * so every connector waits for the disk, yet thousands of records per second share one fsync.
 */
export class PipelineService {
  private readonly connectors = new Map<string, Connector>();
  private readonly sinks: Sink[] = [];
  private readonly forwarders: Forwarder[] = [];
  private readonly devices = new Map<string, DeviceState>();
  private readonly chains = new Map<string, TransformChain>();
  private store!: RecordStore;
  private storePath!: string;
  private pending: PendingSubmit[] = [];
  /**
   * The commit the next flush makes: every submit before it gets this same promise (issue 16 §4:
   * one promise per commit group, not one per message, so a QoS 1 backlog allocates less).
   */
  private nextCommit: { promise: Promise<void>; resolve: () => void; reject: (err: unknown) => void } | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly scanning = new Set<string>();
  /** Connectors and sinks whose stop() has not finished ("connector ua"), for a stuck shutdown's message. */
  readonly stopping = new Set<string>();

  /** Whether the connectors and sinks of the current config have been created (at start()). */
  private built = false;

  constructor(private deps: PipelineDeps) {
    this.storePath = storePathOf(deps);
  }

  /**
   * Applies a new `pipeline` section without restarting the gateway
   * (docs/configuration.md): connectors stop, what they submitted is committed,
   * and the pipeline is rebuilt on the same durable store — queued records and
   * `seq` numbers carry over, so nothing is lost or renumbered.
   */
  async reconfigure(config: PipelineConfig): Promise<void> {
    await this.stop();
    this.deps = { ...this.deps, config };
    this.built = false;
    await this.start();
  }

  /**
   * Creates the configured connectors and sinks. Their implementations are imported here, only
   * the configured types (issue 16 §3: an idle gateway without a pipeline loads none of them).
   */
  private async build(): Promise<void> {
    const { config, logger } = this.deps;
    const deps = this.deps;
    const sinkDefs = await Promise.all(config.sinks.map((s) => SINK_TYPES.get(s.type)!()));
    const connectorDefs = await Promise.all(config.connectors.map((c) => CONNECTOR_TYPES.get(c.type)!()));
    this.connectors.clear();
    this.sinks.length = 0;
    this.devices.clear();
    this.chains.clear();
    this.storePath = storePathOf(deps);
    this.store = new RecordStore(this.storePath, { synchronous: config.store.synchronous, logger: logger.child({ component: 'pipeline-store' }) });
    for (const [i, sinkConfig] of config.sinks.entries()) {
      const def = sinkDefs[i]!;
      this.sinks.push(
        def.create(sinkConfig, {
          gatewayId: deps.gatewayId,
          dataDir: deps.dataDir,
          logger: logger.child({ component: 'pipeline', sink: sinkConfig.id }),
          bus: deps.bus,
          channelsOf: (device) => {
            const owner = this.devices.get(device);
            return owner ? this.specsOf(device, owner.connector) : undefined;
          },
          deviceOnline: (device) => this.deviceOnline(device),
          nodeMetrics: () => this.nodeMetrics(),
          write: async (device, channel, value) => {
            await this.write(device, { channel, value });
          },
        }),
      );
    }
    for (const [i, connectorConfig] of config.connectors.entries()) {
      const def = connectorDefs[i]!;
      let connector: Connector;
      const ctx = {
        gatewayId: deps.gatewayId,
        dataDir: deps.dataDir,
        logger: logger.child({ component: 'pipeline', connector: connectorConfig.id }),
        submit: (readings: Reading[]) => this.submit(connector, readings),
        claimDevice: (device: string) => this.claimDevice(device, connector),
        registry: deps.registry,
      };
      connector = def.create(connectorConfig, ctx);
      this.connectors.set(connector.id, connector);
      for (const device of connector.staticDevices()) this.devices.set(device.id, { connector, values: new Map() });
    }
  }

  /**
   * Whether a device is reachable: its connector connected, and the device itself not failing
   * (on a shared field-bus line the connector may be up while one device does not answer) nor
   * dead (a Z-Wave node the controller marked dead).
   */
  private deviceOnline(device: string): boolean {
    const owner = this.devices.get(device);
    if (!owner || owner.connector.state !== 'connected') return false;
    return owner.connector.deviceHealth?.(device)?.state !== 'failing' && owner.connector.deviceState?.(device) !== 'dead';
  }

  /** The gateway's own counts, the Sparkplug edge node's metrics (docs/pipeline.md). */
  private nodeMetrics(): Record<string, number> {
    const nodes = this.deps.registry.countByStatus();
    let connected = 0;
    for (const c of this.connectors.values()) if (c.state === 'connected') connected++;
    let online = 0;
    for (const device of this.devices.keys()) if (this.deviceOnline(device)) online++;
    return {
      'Cluster/Nodes Active': nodes.ACTIVE,
      'Cluster/Nodes Inactive': nodes.INACTIVE,
      'Cluster/Nodes Dead': nodes.DEAD,
      'Pipeline/Connectors': this.connectors.size,
      'Pipeline/Connectors Connected': connected,
      'Pipeline/Devices': this.devices.size,
      'Pipeline/Devices Online': online,
    };
  }

  /** Whether anything is configured (an empty pipeline opens no database). */
  /** The SQLite file of seqs and durable buffers (the backup copies it). */
  get storeFile(): string {
    return this.storePath;
  }

  /**
   * A consistent copy of the pipeline state (seqs, durable buffers) into `path`;
   * false when there is none (no pipeline, nothing stored yet).
   */
  async backupTo(path: string): Promise<boolean> {
    if (this.running && this.store.isOpen) {
      await this.store.backupTo(path);
      return true;
    }
    return false;
  }

  get enabled(): boolean {
    return this.deps.config.connectors.length > 0 || this.deps.config.sinks.length > 0;
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (!this.built) {
      await this.build();
      this.built = true;
    }
    if (!this.enabled) return;
    const durable = this.sinks.filter((s): s is DurableSink => s.durable);
    try {
      this.store.open(durable.map((s) => ({ id: s.id, maxMessages: s.buffer.maxMessages, maxAgeMs: s.buffer.maxAgeMs, topicFor: (r: PipelineRecord) => s.topicFor(r) })));
    } catch (err) {
      // Refuse to start rather than start over with an empty buffer (docs/pipeline.md).
      throw new Error(`cannot open the pipeline store ${this.storePath}: ${errorMessage(err)}`, { cause: err });
    }
    this.running = true;
    for (const sink of this.sinks) await sink.start();
    for (const sink of durable) {
      const forwarder = new Forwarder(this.store, sink, this.deps.logger.child({ component: 'pipeline', sink: sink.id }));
      this.forwarders.push(forwarder);
      forwarder.start();
    }
    for (const connector of this.connectors.values()) connector.start();
    this.pruneTimer = setInterval(() => {
      try {
        this.store.pruneExpired();
      } catch (err) {
        this.deps.logger.error({ err }, 'pipeline: pruning expired records failed');
      }
    }, PRUNE_INTERVAL_MS);
    this.pruneTimer.unref();
    this.deps.logger.info({ connectors: this.connectors.size, sinks: this.sinks.length }, 'pipeline started');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    clearInterval(this.pruneTimer);
    const tracked = (what: string, stop: () => Promise<void>) => {
      this.stopping.add(what);
      return stop()
        .catch((err: unknown) => this.deps.logger.warn({ err }, `${what}: stop failed`))
        .finally(() => this.stopping.delete(what));
    };
    // Connectors first: no new readings; then what they submitted is committed.
    await Promise.all([...this.connectors.values()].map((c) => tracked(`connector ${c.id}`, () => c.stop())));
    this.flush();
    for (const f of this.forwarders) f.stop();
    this.forwarders.length = 0;
    await Promise.all(this.sinks.map((s) => tracked(`sink ${s.id}`, () => s.stop())));
    this.store.close();
    this.running = false;
  }

  /** Readings from a connector; resolves once their records are committed (on disk). */
  submit(connector: Connector, readings: readonly Reading[]): Promise<void> {
    if (!this.running) return Promise.reject(new Error('the pipeline is stopped'));
    this.pending.push({ connector, readings });
    if (!this.nextCommit) {
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined); // each submitter handles the failure; none is left unhandled
      this.nextCommit = { promise, resolve, reject };
      setImmediate(() => this.flush());
    }
    return this.nextCommit.promise;
  }

  listDevices(): DeviceView[] {
    this.requireEnabled();
    return [...this.devices.keys()].sort().map((id) => this.view(id));
  }

  getDevice(id: string): DeviceView {
    this.requireEnabled();
    if (!this.devices.has(id)) throw new GatewayError('device_not_found', `no device "${id}"; see GET /api/devices`);
    return this.view(id);
  }

  /** `POST /api/devices/{id}/write {channel, value}`: inverts the channel's transforms and writes. */
  async write(id: string, body: unknown): Promise<WriteResult> {
    this.requireEnabled();
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new GatewayError('bad_request', 'Send a JSON object {"channel": "<name>", "value": <number|string|boolean>}.');
    }
    const { channel, value } = body as { channel?: unknown; value?: unknown };
    if (typeof channel !== 'string' || channel === '') throw new GatewayError('bad_request', 'channel must be the name of one of the device\'s channels.');
    if (typeof value !== 'number' && typeof value !== 'string' && typeof value !== 'boolean') {
      throw new GatewayError('invalid_value', 'value must be a number, a string or a boolean.');
    }
    if (typeof value === 'number' && !Number.isFinite(value)) throw new GatewayError('invalid_value', 'value must be a finite number.');
    const device = this.devices.get(id);
    if (!device) throw new GatewayError('device_not_found', `no device "${id}"; see GET /api/devices`);
    const spec = this.specsOf(id, device.connector).find((c) => c.name === channel);
    if (!spec) throw new GatewayError('channel_not_found', `device ${id} has no channel "${channel}"; its channels: ${this.specsOf(id, device.connector).map((c) => c.name).join(', ')}`);
    if (!spec.writable || !device.connector.write) {
      throw new GatewayError('channel_not_writable', `${id}.${channel} is read-only${device.connector.write ? '; set writable: true on the channel to allow writes' : ` (${device.connector.type} devices cannot be written)`}`);
    }
    let raw: ChannelValue;
    try {
      raw = new TransformChain(spec.transform).invert(value);
    } catch (err) {
      if (err instanceof TransformInversionError) throw new GatewayError('not_invertible', `${id}.${channel}: ${err.message}`);
      throw err;
    }
    await device.connector.write(id, channel, raw);
    this.deps.logger.info({ device: id, channel, value, written: raw }, 'pipeline: wrote to device');
    return { success: true, device: id, channel, value, written: raw };
  }

  stats(): PipelineStats {
    this.requireEnabled();
    return {
      connectors: [...this.connectors.values()].map((c) => {
        const s = c.stats();
        return { id: c.id, type: c.type, state: c.state, polls: s.polls, errors: s.errors, reconnects: s.reconnects, lastError: s.lastError };
      }),
      sinks: this.sinks.map((s) => {
        if (s.durable) return { id: s.id, type: s.type, ...this.store.stats(s.id) };
        const { sent, dropped } = (s as LiveSink).counters();
        return { id: s.id, type: s.type, queued: 0, sent, dropped, oldestQueuedAgeMs: 0 };
      }),
    };
  }

  /**
   * Restarts one connector (JSON-RPC `connectors.restart`): a device that
   * stopped answering gets a fresh connection now instead of at the next backoff.
   */
  async restartConnector(id: string): Promise<PipelineStats['connectors'][number]> {
    this.requireEnabled();
    const connector = this.connectors.get(id);
    if (!connector) throw new GatewayError('not_found', `no connector "${id}"; connectors: ${[...this.connectors.keys()].join(', ')}`);
    await connector.stop();
    await connector.start();
    this.deps.logger.info({ connector: id }, 'pipeline: connector restarted');
    return this.stats().connectors.find((c) => c.id === id)!;
  }

  /**
   * `POST /api/connectors/{id}/scan {from, to}`: the addresses on a field bus that answer, in
   * order (issue 13 §2). One scan per connector at a time; the line's polls wait between probes.
   */
  async scanConnector(id: string, body: unknown): Promise<{ addresses: number[] }> {
    this.requireEnabled();
    const connector = this.connectors.get(id);
    if (!connector) throw new GatewayError('not_found', `no connector "${id}"; connectors: ${[...this.connectors.keys()].join(', ')}`);
    if (!connector.scan) throw new GatewayError('bad_request', `connector ${id} (${connector.type}) cannot scan; field buses can (mbus, mbus-tcp, modbus-rtu, modbus-rtu-tcp)`);
    const { from, to } = (body && typeof body === 'object' ? body : {}) as { from?: unknown; to?: unknown };
    const ok = (n: unknown): n is number => Number.isInteger(n) && (n as number) >= 0 && (n as number) <= 255;
    if (!ok(from) || !ok(to) || from > to) throw new GatewayError('bad_request', 'Send {"from": <first address>, "to": <last address>}: integers, from <= to (M-Bus primary addresses 0-250, Modbus unit ids 1-247).');
    if (this.scanning.has(id)) throw new GatewayError('conflict', `a scan of connector ${id} is already running`);
    this.scanning.add(id);
    try {
      const addresses = await connector.scan(from, to);
      this.deps.logger.info({ connector: id, from, to, found: addresses.length }, 'pipeline: bus scanned');
      return { addresses };
    } finally {
      this.scanning.delete(id);
    }
  }

  /** Like the MQTT bridge's `mqtt_disabled`: the UI shows "not enabled" rather than an empty page. */
  private requireEnabled(): void {
    if (!this.enabled) throw new GatewayError('pipeline_disabled');
  }

  /** One health component per connector and sink: down degrades the gateway (CONTRACT §4). */
  healthContributors(): HealthContributor[] {
    const out: HealthContributor[] = [];
    for (const c of this.connectors.values()) {
      out.push({
        name: `connector:${c.id}`,
        required: false,
        check: () => {
          const s = c.stats();
          return { status: c.state === 'connected' ? 'up' : 'down', type: c.type, state: c.state, lastError: s.lastError };
        },
      });
    }
    for (const s of this.sinks) {
      out.push({
        name: `sink:${s.id}`,
        required: false,
        check: () => ({
          status: s.up ? 'up' : 'down',
          type: s.type,
          ...(s.durable ? { queued: this.store.isOpen ? this.store.stats(s.id).queued : 0 } : {}),
          ...s.healthDetails(),
        }),
      });
    }
    return out;
  }

  /** Commits everything submitted since the last flush in one transaction. */
  private flush(): void {
    const commit = this.nextCommit;
    this.nextCommit = undefined;
    const batch = this.pending;
    this.pending = [];
    if (!commit) return;
    const records: PendingRecord[] = [];
    try {
      for (const item of batch) {
        for (const reading of item.readings) {
          const tsMs = reading.ts ?? Date.now();
          if (reading.bad) this.markBad(reading.device, reading.bad, tsMs);
          const values: Record<string, ChannelValue> = {};
          for (const [channel, raw] of Object.entries(reading.values)) {
            const chain = this.chainFor(reading.device, channel, item.connector);
            if (!chain) continue;
            const result = chain.apply(raw, tsMs);
            if ('value' in result) values[channel] = result.value;
            else if ('error' in result) item.connector.reportError?.(`${reading.device}.${channel}: ${result.error}`);
          }
          // A record whose values were all filtered out is not sent (and takes no seq).
          if (Object.keys(values).length > 0) records.push({ device: reading.device, connector: item.connector.id, tsMs, values });
        }
      }
      if (records.length === 0) {
        commit.resolve();
        return;
      }
      const committed = this.store.commit(this.deps.gatewayId, records);
      const plain = committed.map((c) => c.record);
      for (const record of plain) {
        const device = this.devices.get(record.device);
        if (device) for (const [name, value] of Object.entries(record.values)) device.values.set(name, { value, ts: record.ts });
      }
      for (const f of this.forwarders) f.kick();
      for (const sink of this.sinks) {
        if (sink.durable) continue;
        try {
          sink.write(plain);
        } catch (err) {
          this.deps.logger.error({ err, sink: sink.id }, 'pipeline: sink write failed');
        }
      }
      // History (issue 15 §4) keeps every numeric channel; one event per commit, not per record.
      if (this.deps.bus.listenerCount('pipeline/committed') > 0) this.deps.bus.emit('pipeline/committed', plain);
    } catch (err) {
      this.deps.logger.error({ err: errorMessage(err), records: records.length }, 'pipeline: could not commit records');
      commit.reject(err);
      return;
    }
    commit.resolve();
  }

  /** Bad-quality channels show their status and no value (they are no record values). */
  private markBad(id: string, bad: Record<string, string>, tsMs: number): void {
    const device = this.devices.get(id);
    if (!device) return;
    const ts = new Date(tsMs).toISOString();
    for (const [name, status] of Object.entries(bad)) device.values.set(name, { value: null, ts, bad: status });
  }

  /**
   * A connector by id for a type-specific operation (browse, Z-Wave nodes, inclusion);
   * not_supported names the types that offer it.
   */
  connectorFor<K extends 'browse' | 'listNodes' | 'include' | 'exclude'>(id: string, op: K): Connector & Required<Pick<Connector, K>> {
    this.requireEnabled();
    const connector = this.connectors.get(id);
    if (!connector) throw new GatewayError('connector_not_found', `no connector "${id}"; connectors: ${[...this.connectors.keys()].join(', ') || '(none)'}`);
    if (typeof connector[op] !== 'function') {
      const which = op === 'browse' ? 'opcua' : 'zwave';
      throw new GatewayError('not_supported', `connector ${id} is a ${connector.type} connector; ${op === 'listNodes' ? 'nodes' : op} is for ${which} connectors`);
    }
    return connector as Connector & Required<Pick<Connector, K>>;
  }

  private chainFor(device: string, channel: string, connector: Connector): TransformChain | undefined {
    const key = `${device}\u0000${channel}`;
    let chain = this.chains.get(key);
    if (!chain) {
      const spec = this.specsOf(device, connector).find((c) => c.name === channel);
      if (!spec) return undefined;
      chain = new TransformChain(spec.transform);
      this.chains.set(key, chain);
    }
    return chain;
  }

  private specsOf(device: string, connector: Connector): ChannelSpec[] {
    return connector.channelsOf(device) ?? [];
  }

  /** A connector wants a (dynamic) device name: granted unless another connector has it. */
  private claimDevice(device: string, connector: Connector): boolean {
    const owner = this.devices.get(device);
    if (owner) return owner.connector === connector;
    this.devices.set(device, { connector, values: new Map() });
    return true;
  }

  private view(id: string): DeviceView {
    const device = this.devices.get(id)!;
    const last = this.store.isOpen ? this.store.lastRecord(id) : undefined;
    const state = device.connector.deviceState?.(id);
    return {
      id,
      connector: device.connector.id,
      connectorType: device.connector.type,
      connectorState: device.connector.state,
      ...(state !== undefined ? { state } : {}),
      channels: this.specsOf(id, device.connector).map((c) => {
        const v = device.values.get(c.name);
        return { name: c.name, value: v?.value ?? null, ts: v?.ts ?? null, writable: c.writable, unit: c.unit ?? null, ...(v?.bad ? { status: v.bad } : {}) };
      }),
      lastRecord: last ? { ts: last.ts, seq: last.seq } : null,
      health: device.connector.deviceHealth?.(id) ?? null,
    };
  }
}

/** The SQLite file of seqs and durable buffers; a relative `store.path` is under the data directory. */
function storePathOf(deps: PipelineDeps): string {
  const path = deps.config.store.path;
  return isAbsolute(path) ? path : join(deps.dataDir, path);
}
