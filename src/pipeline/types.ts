import type { z } from 'zod';
import type { NodeRegistry } from '../cluster/node-registry.js';
import type { ChannelValue, DeviceHealth, PipelineRecord } from '../contract/pipeline.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';

/**
 * Shapes shared by the pipeline and its plugins (docs/pipeline.md).
 * Connectors produce readings, transforms turn them into records, sinks export records.
 */

/** Records and channel values are wire shapes (the WebSocket's `telemetry/<device>`): they live in the contract. */
export type { ChannelValue, PipelineRecord } from '../contract/pipeline.js';

/** What a connector hands to the pipeline: raw channel values of one device at one moment. */
export interface Reading {
  device: string;
  values: Record<string, ChannelValue>;
  /** When the values were read, ms since the epoch; defaults to now. */
  ts?: number;
  /**
   * Channels whose source reported a bad quality (an OPC UA status other than Good), with the
   * status: the channel shows no value and this status until a good value arrives; not a record value.
   */
  bad?: Record<string, string>;
}

export type { ConnectorState } from '../contract/pipeline.js';
import type { ConnectorState } from '../contract/pipeline.js';
import type { BrowseEntry, NetworkNode } from '../contract/pipeline.js';

export type { BrowseEntry, NetworkNode };

export interface ConnectorStats {
  /** Polls completed (pollers) or messages handled (listeners). */
  polls: number;
  errors: number;
  /** Connections re-established after a failure. */
  reconnects: number;
  lastError: string | null;
}

/** One transform step as configured: an object with exactly one key (see transforms/index.ts). */
export type TransformSpec = Record<string, unknown>;

export interface ChannelSpec {
  name: string;
  transform: TransformSpec[];
  writable: boolean;
  /** Engineering unit ("Wh", "°C", "m³/h"), when configured or known to the connector (M-Bus VIFs). */
  unit?: string | undefined;
}

/**
 * The health of one device on a shared line (issue 13 §3): `failing` once a poll got no
 * answer, `ok` again at the next answer; `unknown` before the first poll.
 */
export type { DeviceHealth } from '../contract/pipeline.js';

export interface DeviceSpec {
  id: string;
  channels: ChannelSpec[];
}

/** A connector: a poller or a listener behind one interface (seed 004: "two kinds"). */
export interface Connector {
  readonly id: string;
  readonly type: string;
  readonly state: ConnectorState;
  /** Starts connecting/polling in the background; an unreachable device never makes this throw. */
  start(): void;
  stop(): Promise<void>;
  stats(): ConnectorStats;
  /** Devices known from the configuration alone (shown before their first record). */
  staticDevices(): DeviceSpec[];
  /** The configured channels of a device this connector produces (also dynamic ones), or undefined. */
  channelsOf(device: string): ChannelSpec[] | undefined;
  /**
   * Writes a raw (already inverse-transformed) value to a device's channel.
   * Throws GatewayError: invalid_value, device_unavailable, device_write_failed.
   */
  write?(device: string, channel: string, value: ChannelValue): Promise<void>;
  /** Counts a problem found downstream (a transform refused a value) against this connector. */
  reportError?(message: string): void;
  /** Per-device health, for connectors that poll several devices on one line. */
  deviceHealth?(device: string): DeviceHealth | undefined;
  /**
   * Probes the bus for devices answering at primary addresses `from`..`to` (M-Bus, Modbus RTU),
   * between the regular polls. Throws GatewayError device_unavailable when the line is down.
   */
  scan?(from: number, to: number): Promise<number[]>;
  /** A device's own state when the protocol knows it (Z-Wave: alive, dead, asleep, awake, unknown, absent). */
  deviceState?(device: string): string | undefined;
  /** `GET /api/connectors/{id}/browse` (OPC UA): the children of a node of the server's address space. */
  browse?(nodeId: string | undefined): Promise<BrowseEntry[]>;
  /** `GET /api/connectors/{id}/nodes` (Z-Wave): the nodes the controller knows. */
  listNodes?(): Promise<NetworkNode[]>;
  /** `POST /api/connectors/{id}/include` (Z-Wave); `body` as sent (strategy, S2 PIN). */
  include?(body: unknown): Promise<Record<string, unknown>>;
  /** `POST /api/connectors/{id}/exclude` (Z-Wave). */
  exclude?(body: unknown): Promise<Record<string, unknown>>;
  /** Z-Wave: the inclusion state as `include` answers it, shown with the nodes list. */
  inclusionStatus?(): Record<string, unknown>;
}


export interface ConnectorContext {
  gatewayId: string;
  /** The gateway's data directory (OPC UA certificates, the Z-Wave network cache live under it). */
  dataDir: string;
  logger: Logger;
  /** Hands readings to the pipeline; resolves once the resulting records are on disk. */
  submit(readings: Reading[]): Promise<void>;
  /** Whether a device id is free for this connector (dynamic devices must not steal another connector's). */
  claimDevice(device: string): boolean;
  registry: NodeRegistry;
}

/** A connector type: its config schema (one member of the `type` union) and its factory. */
export interface ConnectorDefinition<C extends { id: string; type: string } = { id: string; type: string }> {
  type: C['type'];
  schema: z.ZodType<C>;
  create(config: C, ctx: ConnectorContext): Connector;
}

/** A row of the durable buffer, ready to deliver. */
export interface QueuedRecord {
  id: number;
  device: string;
  topic: string;
  payload: string;
}

export interface SinkStats {
  queued: number;
  sent: number;
  dropped: number;
  /** Age of the oldest record still queued, ms; 0 when nothing is queued. */
  oldestQueuedAgeMs: number;
}

interface SinkBase {
  readonly id: string;
  readonly type: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
  /** up: exporting; down: cannot export right now (degrades health). */
  readonly up: boolean;
  /** Extra health details (broker URL, last error). */
  healthDetails(): Record<string, unknown>;
}

/** Receives every record right after it is committed (websocket, file). */
export interface LiveSink extends SinkBase {
  readonly durable: false;
  write(records: readonly PipelineRecord[]): void;
  counters(): { sent: number; dropped: number };
}

/**
 * Exports from the durable buffer: every record is queued on disk in the same transaction
 * that assigns its seq, and leaves the buffer only once `deliver` resolves (PUBACK).
 */
export interface DurableSink extends SinkBase {
  readonly durable: true;
  readonly buffer: { maxMessages: number; maxAgeMs: number; maxInflight: number };
  /** Where a record goes (an MQTT topic). */
  topicFor(record: PipelineRecord): string;
  /** Ready to deliver (connected). */
  readonly ready: boolean;
  /** Called whenever `ready` becomes true. */
  onReady(listener: () => void): void;
  /** Resolves once the peer has the record (PUBACK for QoS 1); rejects if it could not be sent. */
  deliver(record: QueuedRecord): Promise<void>;
}

export type Sink = LiveSink | DurableSink;

export interface SinkContext {
  gatewayId: string;
  dataDir: string;
  logger: Logger;
  /** The gateway's bus: the websocket sink emits `pipeline/telemetry` on it (the WebSocket adapter forwards it). */
  bus: GatewayEventBus;
  /** The configured channels of a device (names, units, writability), or undefined for an unknown device. */
  channelsOf(device: string): ChannelSpec[] | undefined;
  /** Whether the device's connector is connected (a Sparkplug DDEATH when it is not). */
  deviceOnline(device: string): boolean;
  /** The gateway's own counts (SPORE cluster nodes by status, connectors, devices online): Sparkplug node metrics. */
  nodeMetrics(): Record<string, number>;
  /** A write to a device's channel, as POST /api/devices/{id}/write does (transforms inverted); throws GatewayError. */
  write(device: string, channel: string, value: ChannelValue): Promise<void>;
}

export interface SinkDefinition<C extends { id: string; type: string } = { id: string; type: string }> {
  type: C['type'];
  schema: z.ZodType<C>;
  create(config: C, ctx: SinkContext): Sink;
}
