import { z } from 'zod';
import { rolloutRequestSchema } from '../../firmware/rollout-planner.js';
import type { JsonRpcServer } from '../rpc/json-rpc.js';
import {
  ClusterEventBody,
  ConnectorScanBody,
  DeviceWriteBody,
  FirmwareUploadForm,
  IdParams,
  MqttMessagesQuery,
  NodeIpParams,
  NodeUpdateForm,
  NodeUpdateQuery,
  OptionalNodeIpQuery,
  ProxyCallBody,
  RolloutListQuery,
  TestWebSocketBody,
} from './request-schemas.js';
import * as answer from './response-schemas.js';
import { checkedByService, documented } from './route-doc.js';

/**
 * The description of every REST route, one function per route file; each
 * route passes its entry to Fastify as route options (`schema` + `config`).
 * Built per server, so no Fastify instance shares a schema object with another.
 */

const NO_PRIMARY = 'No reachable primary node, even after trying failover (`no_primary`).';
const NODE_FAILED = 'The node did not answer (`node_unreachable`) or answered something that is not the expected JSON (`node_bad_response`).';
const NODE_TIMEOUT = 'The node did not answer in time (`node_timeout`).';
const BAD_IP = 'A malformed IP address (`invalid_ip`).';
const UNKNOWN_NODE = 'A node the gateway has not discovered (`node_not_found`).';
const PIPELINE_OFF = 'No data pipeline is configured (`pipeline_disabled`).';

export function healthRouteDocs() {
  return {
    health: documented({
      summary: 'Health of the gateway and its parts',
      description: 'Degraded when an optional part (MQTT, a connector, a sink) is down or no node is ACTIVE; unhealthy when the HTTP or UDP listener is down.',
      tags: ['management'],
      responses: {
        200: { description: 'Healthy or degraded.', schema: answer.HealthReport },
        503: { description: 'Unhealthy (the same report).', schema: answer.HealthReport },
      },
    }),
  };
}

export function metricsRouteDocs() {
  return {
    metrics: documented({
      summary: 'Prometheus metrics',
      description: 'Nodes by status, datagrams, WebSocket clients and drops, MQTT, sinks, rollouts and HTTP request durations by route.',
      tags: ['management'],
      responses: { 200: { description: 'The metrics.', schema: answer.PrometheusText, contentType: 'text/plain; version=0.0.4' } },
    }),
  };
}

export function discoveryRouteDocs() {
  return {
    nodes: documented({
      summary: 'The nodes the gateway has discovered',
      description: 'Every node that sent a heartbeat, with its health and labels, and the primary node.',
      tags: ['discovery'],
      responses: { 200: { description: 'The node list.', schema: answer.NodesView } },
    }),
    refresh: documented({
      summary: 'Probe for nodes and re-read the cluster',
      description: "Sends a CLUSTER_DISCOVERY datagram and re-reads the primary's member list.",
      tags: ['discovery'],
      responses: { 200: { description: 'The probe went out.', schema: answer.DiscoveryRefreshAnswer } },
    }),
    randomPrimary: documented({
      summary: 'Make a random ACTIVE node the primary',
      tags: ['discovery'],
      responses: { 200: { description: 'The new primary.', schema: answer.PrimaryAnswer }, 503: 'No node is ACTIVE (`no_active_node`).' },
    }),
    setPrimary: documented({
      summary: 'Make a node the primary',
      tags: ['discovery'],
      params: NodeIpParams,
      responses: { 200: { description: 'The new primary.', schema: answer.PrimaryAnswer }, 400: BAD_IP, 404: UNKNOWN_NODE },
    }),
  };
}

export function clusterRouteDocs() {
  return {
    members: documented({
      summary: "The primary node's member list",
      tags: ['cluster'],
      responses: { 200: { description: 'The members.', schema: answer.ClusterMembers }, 502: NODE_FAILED, 503: NO_PRIMARY, 504: NODE_TIMEOUT },
    }),
    refresh: documented({
      summary: 'Re-read the members now',
      tags: ['cluster'],
      responses: { 200: { description: 'The members.', schema: answer.ClusterRefreshAnswer }, 502: NODE_FAILED, 503: NO_PRIMARY, 504: NODE_TIMEOUT },
    }),
    tasks: documented({
      summary: "A node's task status",
      description: 'The primary\'s `/api/tasks/status`, or that of the node given with `?ip=`.',
      tags: ['cluster', 'nodes'],
      querystring: OptionalNodeIpQuery,
      responses: { 200: { description: 'The tasks.', schema: answer.TasksStatus }, 400: BAD_IP, 404: UNKNOWN_NODE, 502: NODE_FAILED, 503: NO_PRIMARY, 504: NODE_TIMEOUT },
    }),
    event: documented({
      summary: 'Send a cluster event to every node',
      description: 'A CLUSTER_EVENT datagram to every known node.',
      tags: ['cluster'],
      body: ClusterEventBody,
      responses: { 200: { description: 'Sent.', schema: answer.ClusterEventAnswer } },
    }),
    testWebSocket: documented({
      summary: 'Broadcast a test message on the WebSocket',
      description: 'Every WebSocket client gets a message with topic `test/websocket`. The body is optional.',
      tags: ['cluster'],
      body: TestWebSocketBody,
      responses: { 200: { description: 'Broadcast.', schema: answer.TestWebSocketAnswer } },
    }),
  };
}

export function nodeRouteDocs() {
  return {
    status: documented({
      summary: "The primary node's status",
      tags: ['nodes'],
      responses: { 200: { description: 'The status.', schema: answer.NodeStatus }, 502: NODE_FAILED, 503: NO_PRIMARY, 504: NODE_TIMEOUT },
    }),
    statusOf: documented({
      summary: "A node's status",
      tags: ['nodes'],
      params: NodeIpParams,
      responses: { 200: { description: 'The status.', schema: answer.NodeStatus }, 400: BAD_IP, 404: UNKNOWN_NODE, 502: NODE_FAILED, 504: NODE_TIMEOUT },
    }),
    endpoints: documented({
      summary: "A node's capability endpoints",
      description: 'The `api` list of the primary\'s (or `?ip=` node\'s) status.',
      tags: ['nodes'],
      querystring: OptionalNodeIpQuery,
      responses: { 200: { description: 'The endpoints.', schema: answer.NodeEndpoints }, 400: BAD_IP, 404: UNKNOWN_NODE, 502: NODE_FAILED, 503: NO_PRIMARY, 504: NODE_TIMEOUT },
    }),
    proxyCall: documented({
      summary: 'Call a node',
      description:
        'Calls a capability endpoint of a discovered node and answers with the node\'s status code and body. `query` params go in the query string, `body` params are sent form-urlencoded.',
      tags: ['nodes'],
      body: ProxyCallBody,
      responses: {
        200: { description: "The node's answer (any status the node sends is passed through).", schema: answer.AnyBody, contentType: '*/*' },
        400: 'A malformed IP (`invalid_ip`), uri (`invalid_uri`), method (`invalid_method`) or parameter (`bad_request`).',
        404: UNKNOWN_NODE,
        502: NODE_FAILED,
        504: NODE_TIMEOUT,
      },
    }),
    update: documented({
      summary: 'Push a firmware image to a node',
      description:
        "The file is streamed, whatever its content, to the node's `/api/node/update` (field `file`, same bytes); the answer comes as soon as the node answers. Progress, and the later check of the node's return, go out on the WebSocket (`firmware/upload`).",
      tags: ['nodes', 'firmware'],
      querystring: NodeUpdateQuery,
      body: NodeUpdateForm,
      bodyContentType: 'multipart/form-data',
      responses: {
        200: { description: 'The node answered; `success` tells whether it accepted the image.', schema: answer.NodeUpdateAnswer },
        400: 'A malformed IP (`invalid_ip`), no field `file` (`missing_file`) or a bad `bootTimeoutSec` (`bad_request`).',
        404: UNKNOWN_NODE,
        413: 'The image exceeds the upload limit (`payload_too_large`).',
        502: NODE_FAILED,
        504: NODE_TIMEOUT,
      },
    }),
  };
}

export function firmwareRouteDocs() {
  const notFound = 'No such firmware (`firmware_not_found`).';
  return {
    upload: documented({
      summary: 'Store a firmware image',
      tags: ['firmware'],
      body: FirmwareUploadForm,
      bodyContentType: 'multipart/form-data',
      responses: {
        200: { description: 'With `dryRun=true`: the image passed every check; what would be stored (nothing was).', schema: answer.FirmwareCheck },
        201: { description: 'Stored.', schema: answer.FirmwareRecord },
        400: 'No field `file` (`missing_file`), a bad name or version (`invalid_name`), not an ESP8266 image (`invalid_firmware`), a missing or bad signature (`invalid_signature`) or bad labels (`bad_request`).',
        409: 'This name and version are already stored (`conflict`).',
        413: 'The image exceeds the upload limit (`payload_too_large`).',
      },
    }),
    list: documented({
      summary: 'The stored firmware images',
      tags: ['firmware'],
      responses: { 200: { description: 'Newest first.', schema: z.array(answer.FirmwareRecord) } },
    }),
    get: documented({
      summary: 'One stored firmware image',
      tags: ['firmware'],
      params: IdParams('firmware'),
      responses: { 200: { description: 'The image record.', schema: answer.FirmwareRecord }, 404: notFound },
    }),
    download: documented({
      summary: "Download a firmware image's bytes",
      description: 'Headers: `content-disposition` with `<name>-<version>.bin`, `etag` and `x-firmware-sha256` with the sha256.',
      tags: ['firmware'],
      params: IdParams('firmware'),
      responses: { 200: { description: 'The image.', schema: answer.BinaryBody, contentType: 'application/octet-stream' }, 404: notFound },
    }),
    remove: documented({
      summary: 'Delete a firmware image',
      tags: ['firmware'],
      params: IdParams('firmware'),
      responses: { 200: { description: 'Deleted.', schema: answer.FirmwareDeleted }, 404: notFound, 409: 'A pending, running or paused rollout uses it (`conflict`).' },
    }),
  };
}

export function rolloutRouteDocs() {
  const notFound = 'No such rollout (`rollout_not_found`).';
  const control = (verb: string, state: string) =>
    documented({
      summary: `${verb} a rollout`,
      tags: ['rollouts'],
      params: IdParams('rollout'),
      responses: { 200: { description: 'The rollout.', schema: answer.RolloutView }, 404: notFound, 409: `The rollout is not ${state} (\`conflict\`).` },
    });
  return {
    create: documented({
      summary: 'Start a fleet rollout',
      description:
        'Plans the rollout (nodes matching the target, in batches, the primary last and alone) and starts it, or only answers the plan with `dryRun: true`. See docs/firmware.md.',
      tags: ['rollouts'],
      body: checkedByService(rolloutRequestSchema, 'a refused body answers 400 invalid_rollout naming every field at fault'),
      responses: {
        201: { description: 'The rollout and its plan.', schema: answer.RolloutPlan },
        400: 'A refused request, or no node matches the target (`invalid_rollout`).',
        404: 'No such firmware (`firmware_not_found`), or a target IP the gateway has not discovered (`node_not_found`).',
        409: 'A targeted node belongs to another active rollout (`conflict`).',
      },
    }),
    list: documented({
      summary: 'The rollouts',
      tags: ['rollouts'],
      querystring: RolloutListQuery,
      responses: { 200: { description: 'Newest first.', schema: z.array(answer.RolloutView) }, 400: 'An unknown status (`bad_request`).' },
    }),
    get: documented({
      summary: 'One rollout, node by node',
      tags: ['rollouts'],
      params: IdParams('rollout'),
      responses: { 200: { description: 'The rollout.', schema: answer.RolloutView }, 404: notFound },
    }),
    pause: control('Pause', 'running or scheduled'),
    resume: control('Resume', 'paused'),
    cancel: control('Cancel', 'pending, scheduled, running or paused'),
    retry: documented({
      summary: 'Retry the failed nodes of a finished rollout',
      description: 'Starts a new rollout (kind `retry`) of the same image, batching and thresholds for the nodes that failed.',
      tags: ['rollouts'],
      params: IdParams('rollout'),
      responses: {
        201: { description: 'The new rollout and its plan.', schema: answer.RolloutPlan },
        400: "The image's signing key was revoked (`invalid_signature`).",
        404: notFound,
        409: 'The rollout is still active, or no node failed (`conflict`).',
      },
    }),
    rollback: documented({
      summary: 'Roll back the nodes a rollout updated',
      description: "Starts a rollout (kind `rollback`) of each updated node's previous image, with the same batching and thresholds.",
      tags: ['rollouts'],
      params: IdParams('rollout'),
      responses: {
        201: { description: 'The rollback and its plan.', schema: answer.RolloutPlan },
        400: "A previous image's signing key was revoked (`invalid_signature`).",
        404: notFound,
        409: 'The rollout is still active, updated no node, was already rolled back, or no previous image is stored (`conflict`).',
      },
    }),
  };
}

export function mqttRouteDocs() {
  const off = 'The MQTT bridge is off (`mqtt_disabled`).';
  return {
    messages: documented({
      summary: 'Retained MQTT messages',
      description: 'The retention buffer, oldest first, each message exactly as the WebSocket carried it (docs/mqtt.md).',
      tags: ['mqtt'],
      querystring: MqttMessagesQuery,
      responses: {
        200: { description: 'The messages.', schema: answer.MqttMessages },
        400: 'An invalid topic filter (`invalid_topic_filter`) or limit (`bad_request`).',
        503: off,
      },
    }),
    stats: documented({
      summary: 'MQTT bridge statistics',
      tags: ['mqtt'],
      responses: { 200: { description: 'The statistics.', schema: answer.MqttStats }, 503: off },
    }),
  };
}

export function pipelineRouteDocs() {
  const noDevice = 'No such device (`device_not_found`).';
  return {
    devices: documented({
      summary: 'The pipeline devices',
      tags: ['pipeline'],
      responses: { 200: { description: 'Every device with its channels and latest values.', schema: answer.DeviceList }, 503: PIPELINE_OFF },
    }),
    device: documented({
      summary: 'One pipeline device',
      tags: ['pipeline'],
      params: IdParams('device'),
      responses: { 200: { description: 'The device.', schema: answer.DeviceView }, 404: noDevice, 503: PIPELINE_OFF },
    }),
    write: documented({
      summary: "Write a value to a device's channel",
      description: "The channel's transforms are inverted, then the connector writes the raw value (docs/pipeline.md).",
      tags: ['pipeline'],
      params: IdParams('device'),
      body: DeviceWriteBody,
      responses: {
        200: { description: 'Written.', schema: answer.DeviceWriteAnswer },
        400: 'A bad body (`bad_request`), a value that does not fit (`invalid_value`), a read-only channel (`channel_not_writable`) or transforms that cannot be inverted (`not_invertible`).',
        404: `${noDevice} Or no such channel (\`channel_not_found\`).`,
        502: 'The device refused or failed the write (`device_write_failed`).',
        503: `${PIPELINE_OFF} Or the device's connector is not connected (\`device_unavailable\`).`,
      },
    }),
    scan: documented({
      summary: 'Scan a field bus for devices',
      description:
        'Probes primary addresses from..to on the connector\'s line (M-Bus: SND_NKE, then REQ_UD2 on an answer; Modbus RTU: a read of holding register 0), one at a time between the regular polls; each silent address costs timeoutMs (docs/pipeline.md).',
      tags: ['pipeline'],
      params: IdParams('connector'),
      body: ConnectorScanBody,
      responses: {
        200: { description: 'The addresses that answered.', schema: answer.ConnectorScanAnswer },
        400: 'A bad range (`bad_request`) or a connector type that cannot scan.',
        404: 'No such connector (`not_found`).',
        409: 'A scan of this connector is already running (`conflict`).',
        503: `${PIPELINE_OFF} Or the connector\'s line is down (\`device_unavailable\`).`,
      },
    }),
    stats: documented({
      summary: 'Pipeline statistics',
      description: 'Per connector: state, polls, errors, reconnects; per sink: queued, sent, dropped, age of the oldest queued record.',
      tags: ['pipeline'],
      responses: { 200: { description: 'The statistics.', schema: answer.PipelineStats }, 503: PIPELINE_OFF },
    }),
  };
}

export function connectorRouteDocs() {
  const params = IdParams('connector');
  const noConnector = 'No such connector (`connector_not_found`).';
  const unsupported = 'The connector is of another type (`not_supported`).';
  const offline = `${PIPELINE_OFF} Or the connector is not connected (\`device_unavailable\`).`;
  return {
    browse: documented({
      summary: "Browse an OPC UA server's address space",
      description: 'The children of a node (hierarchical references): node id, browse name, node class, data type. Start without nodeId (the Objects folder) and follow the node ids.',
      tags: ['pipeline'],
      params,
      querystring: z.object({ nodeId: z.string().describe('The node to browse, e.g. ns=1;s=Plant (default i=85, the Objects folder).').optional() }),
      responses: {
        200: { description: 'The children.', schema: answer.BrowseAnswer },
        400: `${unsupported} Or a malformed nodeId (\`bad_request\`).`,
        404: `${noConnector} Or the server has no such node (\`not_found\`).`,
        502: 'The server failed the browse (`connector_request_failed`).',
        503: offline,
      },
    }),
    nodes: documented({
      summary: 'The nodes a Z-Wave controller knows',
      tags: ['pipeline'],
      params,
      responses: { 200: { description: 'The nodes.', schema: answer.ZwaveNodeList }, 400: unsupported, 404: noConnector, 503: offline },
    }),
    include: documented({
      summary: 'Start Z-Wave inclusion, or answer the S2 PIN prompt',
      description: 'Body {} starts inclusion (S2 when the device supports it); while a device waits for its DSK PIN, GET shows `pendingPin: true` and {"pin": "12345"} answers it; {"stop": true} stops inclusion.',
      tags: ['pipeline'],
      params,
      body: z.object({ pin: z.string().optional(), stop: z.boolean().optional(), strategy: z.enum(['default', 'insecure', 's2']).optional() }).optional(),
      responses: {
        200: { description: 'The inclusion state.', schema: answer.ZwaveInclusionAnswer },
        400: `${unsupported} Or a bad body (\`bad_request\`).`,
        404: noConnector,
        409: 'Inclusion or exclusion is already running, or no PIN was asked for (`conflict`).',
        502: 'The controller refused (`connector_request_failed`).',
        503: offline,
      },
    }),
    exclude: documented({
      summary: 'Start (or stop) Z-Wave exclusion',
      description: 'Body {} starts exclusion; {"stop": true} stops it.',
      tags: ['pipeline'],
      params,
      body: z.object({ stop: z.boolean().optional() }).optional(),
      responses: {
        200: { description: 'The exclusion state.', schema: answer.ZwaveInclusionAnswer },
        400: `${unsupported} Or a bad body (\`bad_request\`).`,
        404: noConnector,
        409: 'Inclusion or exclusion is already running (`conflict`).',
        502: 'The controller refused (`connector_request_failed`).',
        503: offline,
      },
    }),
  };
}

/** JSON-RPC 2.0 at `POST /rpc`: the request is documented from each method's own params schema. */
export function rpcRouteDocs(rpc: JsonRpcServer) {
  const methods = rpc.list();
  const id = z.union([z.string(), z.number(), z.null()]).describe('Leave it out for a notification: no answer.');
  const calls = methods.map((m) =>
    z
      .object({ jsonrpc: z.literal('2.0'), method: z.literal(m.name), params: m.params.optional(), id: id.optional() })
      .describe(`${m.name}: ${m.description}`),
  );
  const call = calls.length > 0 ? z.union(calls as unknown as [z.ZodType, ...z.ZodType[]]) : z.looseObject({ jsonrpc: z.literal('2.0'), method: z.string() });
  return {
    rpc: documented({
      summary: 'JSON-RPC 2.0',
      description: [
        'One call or a batch (at most 100) over the same services as the REST API; also over the WebSocket. Methods:',
        methods.map((m) => `- \`${m.name}\`: ${m.description}`).join('\n'),
        'Errors use the specification\'s codes (-32700, -32600, -32601, -32602, -32603), -32000 when a service refuses (its code in `data.error`), and -32001/-32003 for a missing key or a too small scope, with HTTP 401/403.',
      ].join('\n\n'),
      tags: ['management'],
      body: checkedByService(z.union([call, z.array(call).min(1).max(100)]), 'the JSON-RPC layer answers -32700, -32600, -32601 or -32602 in the JSON-RPC error shape'),
      responses: {
        200: { description: 'The answer, or one answer per call of a batch.', schema: answer.RpcAnswer },
        204: { description: 'Only notifications: nothing to answer.' },
        401: { description: 'No valid API key: a JSON-RPC error -32001.', schema: answer.RpcAnswer },
        403: { description: 'A key whose scope is too small: a JSON-RPC error -32003.', schema: answer.RpcAnswer },
      },
    }),
  };
}
