import { z } from 'zod';
import { ipv4, timestamp } from '../../contract/common.js';
import { ChannelValue as channelValue } from '../../contract/pipeline.js';

/**
 * What the gateway answers, for the OpenAPI document only: Fastify is never
 * given these (a response schema would make it drop unknown fields). Shapes of
 * CONTRACT §4 and of docs/firmware.md, docs/mqtt.md, docs/pipeline.md. The
 * gateway's own shapes are the wire contract's (src/contract/), exact; the
 * answers passed through from nodes, and the small acknowledgements, are here
 * and loose: they may carry more fields.
 */
export { NodesView } from '../../contract/nodes.js';
export { FirmwareCheck, FirmwareRecord, RolloutView, RolloutPlan } from '../../contract/firmware.js';
export { HealthReport } from '../../contract/health.js';
export { DeviceView, DeviceList, PipelineStats } from '../../contract/pipeline.js';

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

export const FirmwareDeleted = z.looseObject({ success: z.literal(true), deleted: z.unknown().describe('The removed image.') });


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
      security: z.string().nullable().optional().describe('The highest security class granted: S2_AccessControl, S2_Authenticated, S2_Unauthenticated, S0_Legacy or none; null while unknown and for the controller.'),
    }),
  ),
  inclusion: z.lazy(() => ZwaveInclusionAnswer).optional().describe('The inclusion state, as POST …/include answers it.'),
});

export const ZwaveInclusionAnswer = z.looseObject({
  state: z.string().describe('idle, including, excluding'),
  pendingPin: z.boolean().describe('An S2 device waits for its PIN: send {"pin": "12345"}.'),
  dsk: z.string().optional().describe('While a PIN is awaited: the device DSK without its first block (the PIN), "-bbbbb-ccccc-…".'),
  lastResult: z.string().optional().describe('"node 5 added (S2_Authenticated)", "node 5 removed", "inclusion failed", …'),
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
