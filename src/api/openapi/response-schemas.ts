import { z } from 'zod';

/**
 * What the gateway answers, for the OpenAPI document only: Fastify is never
 * given these (a response schema would make it drop unknown fields). Shapes of
 * CONTRACT §4 and of docs/firmware.md, docs/mqtt.md, docs/pipeline.md. Objects
 * are loose: a node's or a service's answer may carry more fields.
 */

const timestamp = (what: string) => z.string().meta({ format: 'date-time' }).describe(`${what} (RFC 3339).`);
const ipv4 = (what: string) => z.string().describe(what);
const labels = z.record(z.string(), z.string()).describe('Labels, string → string.');
const nodeHealth = z.enum(['ACTIVE', 'INACTIVE', 'DEAD']);

export const NodesView = z.looseObject({
  primaryNode: ipv4('The primary node.').nullable(),
  totalNodes: z.int(),
  clientInitialized: z.boolean().describe('Whether a primary node is chosen.'),
  clientBaseUrl: z.string().nullable().describe('http://<primary ip>, or null.'),
  nodes: z.array(
    z.looseObject({
      ip: ipv4('The node address.'),
      port: z.int(),
      hostname: z.string(),
      status: nodeHealth,
      discoveredAt: timestamp('First heartbeat'),
      lastSeen: timestamp('Last heartbeat'),
      isPrimary: z.boolean(),
      labels,
    }),
  ),
});

export const DiscoveryRefreshAnswer = z.looseObject({
  success: z.literal(true),
  message: z.string(),
  membersRefreshed: z.boolean().describe('Whether the primary answered with its members.'),
  primaryNode: z.string().nullable(),
  totalNodes: z.int(),
});

export const PrimaryAnswer = z.looseObject({
  success: z.literal(true),
  primaryNode: ipv4('The new primary node.'),
  message: z.string(),
});

/** A node's JSON answer, passed through as the node sent it (CONTRACT §3). */
const passedThrough = (what: string, shape: Record<string, z.ZodType>) => z.looseObject(shape).describe(`${what}, passed through as the node sent it (CONTRACT §3).`);

export const ClusterMembers = passedThrough("The primary node's /api/cluster/members answer", {
  members: z.array(
    z.looseObject({ hostname: z.string(), ip: z.string(), lastSeen: z.unknown(), latency: z.unknown(), status: z.string(), resources: z.unknown(), api: z.unknown() }),
  ),
});

export const ClusterRefreshAnswer = z.looseObject({
  success: z.literal(true),
  message: z.string(),
  members: z.array(z.looseObject({})).describe("The primary's member list."),
  primaryNode: z.string().nullable(),
});

export const TasksStatus = passedThrough("The node's /api/tasks/status answer", {
  summary: z.looseObject({ totalTasks: z.int(), activeTasks: z.int() }),
  tasks: z.array(z.looseObject({ name: z.string(), interval: z.number(), enabled: z.boolean(), running: z.boolean(), autoStart: z.boolean() })),
  system: z.looseObject({ freeHeap: z.number(), uptime: z.number() }),
});

export const NodeStatus = passedThrough("The node's /api/node/status answer", {
  freeHeap: z.number(),
  chipId: z.number(),
  sdkVersion: z.string(),
  cpuFreqMHz: z.number(),
  flashChipSize: z.number(),
  api: z.array(z.looseObject({ uri: z.string(), method: z.string() })).describe("The node's capability endpoints."),
});

export const NodeEndpoints = z.looseObject({
  ip: ipv4('The node that answered.'),
  endpoints: z.array(z.object({ uri: z.string(), method: z.string() })),
});

export const NodeUpdateAnswer = z.looseObject({
  success: z.boolean().describe('Whether the node accepted the image.'),
  nodeIp: z.string(),
  size: z.int().describe('Bytes sent.'),
  sha256: z.string().describe('Of the bytes sent, hex.'),
  nodeResponse: z.unknown().describe("The node's answer."),
});

export const ClusterEventAnswer = z.looseObject({ success: z.literal(true), message: z.string(), nodes: z.int().describe('Nodes the datagram went to.') });

export const TestWebSocketAnswer = z.looseObject({ success: z.literal(true), message: z.string(), clients: z.int().describe('WebSocket clients reached.') });

export const HealthReport = z.looseObject({
  status: z.enum(['healthy', 'degraded', 'unhealthy']),
  timestamp: timestamp('When the report was made'),
  components: z
    .record(z.string(), z.looseObject({ status: z.enum(['up', 'down', 'disabled']) }))
    .describe('One entry per part: http, udp, nodes, websocket, firmware, mqtt, config, and each pipeline connector and sink.'),
});

export const MqttMessages = z.looseObject({
  topic: z.string().describe('The filter used.'),
  limit: z.int(),
  count: z.int(),
  messages: z
    .array(
      z.looseObject({
        topic: z.string(),
        data: z.string().describe('The payload as text, or base64 when encoding is "base64".'),
        timestamp: timestamp('When the gateway received it'),
        source: z.literal('mqtt'),
        encoding: z.literal('base64').optional(),
      }),
    )
    .describe('Oldest first, each exactly as the WebSocket carried it.'),
});

export const MqttStats = z.looseObject({ enabled: z.literal(true) }).describe('The bridge: connection state, counters, subscriptions, commands, the embedded broker (docs/mqtt.md).');

export const FirmwareRecord = z.looseObject({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  size: z.int().describe('Bytes.'),
  sha256: z.string(),
  labels,
  createdAt: timestamp('When it was stored'),
  signature: z.enum(['verified', 'unsigned']).describe('Whether a trusted key signed it.'),
  signedBy: z.string().nullable().describe('The id of the trusted key that signed it.'),
  compressed: z.boolean().describe('A gzip-compressed .bin.gz image, sent as it is.'),
  imageBytes: z.int().describe('Size once inflated, bytes: what must fit the node.'),
});

export const FirmwareDeleted = z.looseObject({ success: z.literal(true), deleted: z.unknown().describe('The removed image.') });

const rolloutStatus = z.enum(['pending', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'cancelled']);

export const RolloutView = z.looseObject({
  id: z.string(),
  status: rolloutStatus,
  firmware: z.looseObject({ id: z.string(), name: z.string(), version: z.string(), size: z.int(), sha256: z.string() }),
  nodes: z.array(
    z.looseObject({
      ip: z.string(),
      hostname: z.string(),
      state: z.enum(['pending', 'uploading', 'rebooting', 'verifying', 'succeeded', 'failed', 'skipped', 'cancelled']),
      progress: z.number().describe('Upload progress, percent 0-100.'),
      error: z.string().nullable(),
    }),
  ),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  createdAt: z.string(),
  target: z.looseObject({ labels: labels.optional(), ips: z.array(z.string()).optional() }),
  batchSize: z.int(),
  maxFailures: z.int(),
  bootTimeoutSec: z.int(),
  error: z.string().nullable().describe('Why it failed or was cancelled.'),
  startAt: z.string().nullable().describe('Not before this instant (RFC3339).'),
  window: z.looseObject({ days: z.array(z.string()), from: z.string(), to: z.string(), timezone: z.string() }).nullable().describe('Maintenance window.'),
  dynamic: z.boolean().describe('Open for late joiners until dynamicUntil.'),
  dynamicUntil: z.string().nullable(),
  autoRollback: z.boolean(),
  kind: z.enum(['rollout', 'retry', 'rollback']),
  parentId: z.string().nullable().describe('The rollout this one retries or rolls back.'),
  rollbackId: z.string().nullable().describe('The rollback of this rollout, once started.'),
  waitingFor: z.enum(['start', 'window', 'joiners']).nullable().describe('What an active rollout waits for.'),
  nextRunAt: z.string().nullable().describe('While scheduled: when it runs next.'),
});

export const RolloutPlan = RolloutView.extend({
  dryRun: z.boolean(),
  batches: z.array(z.array(z.string())).describe('Node addresses batch by batch, the primary last.'),
});

const channelValue = z.union([z.number(), z.string(), z.boolean()]);

export const DeviceView = z.looseObject({
  id: z.string(),
  connector: z.string(),
  connectorType: z.string(),
  connectorState: z.enum(['connected', 'connecting', 'error', 'stopped']),
  state: z.string().optional().describe("The device's own state where the protocol reports one (Z-Wave: alive, dead, asleep, awake)."),
  channels: z.array(
    z.looseObject({
      name: z.string(),
      value: channelValue.nullable(),
      ts: z.string().nullable(),
      writable: z.boolean(),
      unit: z.string().nullable().describe('"Wh", "m³", "°C" … (configured, or an M-Bus VIF\'s base unit)'),
      status: z.string().optional().describe('The bad status the source reported (OPC UA, e.g. BadSensorFailure); value is then null.'),
    }),
  ),
  lastRecord: z.looseObject({ ts: z.string(), seq: z.int() }).nullable(),
  health: z
    .looseObject({
      state: z.enum(['ok', 'failing', 'unknown']),
      error: z.string().nullable(),
      consecutiveFailures: z.int(),
      lastSuccess: z.string().nullable(),
    })
    .nullable()
    .describe('Per-device health on a shared field-bus line (Modbus, M-Bus); null for other connectors.'),
});

export const DeviceList = z.looseObject({ devices: z.array(DeviceView) });

export const BrowseAnswer = z.looseObject({
  nodeId: z.string(),
  children: z.array(
    z.looseObject({ nodeId: z.string(), browseName: z.string(), displayName: z.string(), nodeClass: z.string(), dataType: z.string().nullable() }),
  ),
});

export const ZwaveNodeList = z.looseObject({
  nodes: z.array(
    z.looseObject({
      id: z.int(),
      manufacturer: z.string().nullable(),
      product: z.string().nullable(),
      commandClasses: z.array(z.string()),
      status: z.string().describe('alive, dead, asleep, awake or unknown'),
      device: z.string().nullable().describe('The pipeline device configured for this node.'),
    }),
  ),
});

export const ZwaveInclusionAnswer = z.looseObject({
  state: z.string().describe('idle, including, excluding'),
  pendingPin: z.boolean(),
});

export const DeviceWriteAnswer = z.looseObject({
  success: z.literal(true),
  device: z.string(),
  channel: z.string(),
  value: channelValue,
  written: channelValue.describe("What was written to the device after inverting the channel's transforms."),
});

export const ConnectorScanAnswer = z.looseObject({
  addresses: z.array(z.int()).describe('The addresses that answered, in order.'),
});

export const PipelineStats = z.looseObject({
  connectors: z.array(
    z.looseObject({ id: z.string(), type: z.string(), state: z.string(), polls: z.int(), errors: z.int(), reconnects: z.int(), lastError: z.string().nullable() }),
  ),
  sinks: z.array(z.looseObject({ id: z.string(), type: z.string(), queued: z.int(), sent: z.int(), dropped: z.int(), oldestQueuedAgeMs: z.number() })),
});

/** Any answer a node sends back through `/api/proxy-call`: its status code and body, whatever the content type. */
export const AnyBody = z.unknown().describe("The node's body, with the node's content type.");

export const PrometheusText = z.string().describe('Prometheus text exposition format 0.0.4.');

export const BinaryBody = z.string().meta({ format: 'binary' });

export const OpenApiDocument = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) }).describe('This document.');

/** JSON-RPC 2.0 answers (https://www.jsonrpc.org/specification §5). */
const RpcResponse = z.looseObject({
  jsonrpc: z.literal('2.0'),
  id: z.union([z.string(), z.number(), z.null()]),
  result: z.unknown().optional(),
  error: z
    .looseObject({
      code: z.int().describe('-32700 parse error, -32600 invalid request, -32601 method not found, -32602 invalid params, -32603 internal, -32000 a service refused (data.error), -32001 no valid key, -32003 scope too small.'),
      message: z.string(),
      data: z.unknown().optional(),
    })
    .optional(),
});

export const RpcAnswer = z.union([RpcResponse, z.array(RpcResponse).describe('A batch: one answer per call that has an id.')]);
