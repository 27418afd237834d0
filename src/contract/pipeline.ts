import { z } from 'zod';

/** A channel value after extraction: a JSON scalar (issue 6 §1). */
export const ChannelValue = z.union([z.number(), z.string(), z.boolean()]);
export type ChannelValue = z.infer<typeof ChannelValue>;

/**
 * One record, exactly as every sink exports it (issue 6 §1) and as the WebSocket's
 * `telemetry/<device>` carries it (CONTRACT §5, plus `topic` and `timestamp`). `seq` increases
 * by one per device for every record sent, with no gap across restarts: a gap a consumer sees
 * always means loss.
 */
export const PipelineRecord = z.object({
  gateway: z.string(),
  device: z.string(),
  connector: z.string(),
  /** RFC3339, e.g. 2024-01-15T10:30:00.123Z */
  ts: z.string(),
  seq: z.int(),
  values: z.record(z.string(), ChannelValue),
});
export type PipelineRecord = z.infer<typeof PipelineRecord>;

export const CONNECTOR_STATES = ['connected', 'connecting', 'error', 'stopped'] as const;
export type ConnectorState = (typeof CONNECTOR_STATES)[number];

/**
 * Per-device health on a shared line (field buses: Modbus, M-Bus): `failing` after a device
 * stopped answering, `ok` again at the next answer; `unknown` before the first poll.
 */
export const DeviceHealth = z.object({
  state: z.enum(['ok', 'failing', 'unknown']),
  error: z.string().nullable(),
  consecutiveFailures: z.int(),
  /** RFC3339 of the last poll the device answered, or null. */
  lastSuccess: z.string().nullable(),
});
export type DeviceHealth = z.infer<typeof DeviceHealth>;

/** `GET /api/devices/{id}` and the entries of `GET /api/devices` (the web UI's Devices page). */
export const DeviceView = z.object({
  id: z.string(),
  connector: z.string(),
  connectorType: z.string(),
  connectorState: z.enum(CONNECTOR_STATES),
  state: z.string().optional().describe("The device's own state where the protocol reports one (Z-Wave: alive, dead, asleep, awake, unknown; absent when the controller does not know the node)."),
  channels: z.array(
    z.object({
      name: z.string(),
      value: ChannelValue.nullable(),
      ts: z.string().nullable(),
      writable: z.boolean(),
      unit: z.string().nullable().describe('"Wh", "m³", "°C" … (configured, or an M-Bus VIF\'s base unit)'),
      status: z.string().optional().describe('The bad status the source reported (OPC UA, e.g. BadSensorFailure); value is then null.'),
    }),
  ),
  lastRecord: z.object({ ts: z.string(), seq: z.int() }).nullable(),
  health: DeviceHealth.nullable().describe('Per-device health on a shared field-bus line (Modbus, M-Bus); null for other connectors.'),
});
export type DeviceView = z.infer<typeof DeviceView>;

export const DeviceList = z.object({ devices: z.array(DeviceView) });

/** `GET /api/pipeline/stats` (also JSON-RPC `pipeline.stats`). */
export const PipelineStats = z.object({
  connectors: z.array(
    z.object({ id: z.string(), type: z.string(), state: z.enum(CONNECTOR_STATES), polls: z.int(), errors: z.int(), reconnects: z.int(), lastError: z.string().nullable() }),
  ),
  // oldestQueuedAgeMs: 0 when nothing is queued (never null: the server always sends a number).
  sinks: z.array(z.object({ id: z.string(), type: z.string(), queued: z.int(), sent: z.int(), dropped: z.int(), oldestQueuedAgeMs: z.number() })),
});
export type PipelineStats = z.infer<typeof PipelineStats>;

/** One child node in an OPC UA browse answer (`GET /api/connectors/{id}/browse`). */
export interface BrowseEntry {
  nodeId: string;
  browseName: string;
  displayName: string;
  /** Object, Variable, Method, ObjectType, … */
  nodeClass: string;
  /** Variables only: Double, Boolean, … (null for other node classes). */
  dataType: string | null;
}

/** One node of a Z-Wave network as the controller knows it (`GET /api/connectors/{id}/nodes`). */
export interface NetworkNode {
  id: number;
  manufacturer: string | null;
  product: string | null;
  commandClasses: string[];
  status: string;
  /** The pipeline device configured for this node, if any. */
  device: string | null;
  /** The highest security class granted (S2_AccessControl, S2_Authenticated, S2_Unauthenticated, S0_Legacy), `none`, or null (unknown, or the controller). */
  security?: string | null;
}

/** A Z-Wave connector's inclusion state (`POST …/include`, `…/exclude`, and `inclusion` of `GET …/nodes`). */
export interface InclusionState {
  state: 'idle' | 'including' | 'excluding' | string;
  /** An S2 device waits for its PIN: send `{"pin": "12345"}`. */
  pendingPin: boolean;
  /** While a PIN is awaited: the device's DSK without its first block (the PIN), "-bbbbb-ccccc-…". */
  dsk?: string;
  /** "node 5 added (S2_Authenticated)", "node 5 removed", "inclusion failed", … */
  lastResult?: string;
}
