/**
 * The one list of public WebSocket topics (CONTRACT §5, docs/websocket.md): where each
 * comes from, and whether the cluster on MQTT republishes it on `<prefix>/events/<topic>`.
 * `bus` topics are forwarded from the event bus under the same name by api/ws-bridge.ts;
 * `api` topics are written by the adapters in api/ (a route, the MQTT bridge, JSON-RPC).
 */
export const WS_TOPICS = [
  { topic: 'cluster/update', from: 'bus', mqttEvent: false }, // has its own retained MQTT topic
  { topic: 'node/discovery', from: 'bus', mqttEvent: true },
  { topic: 'cluster/primary', from: 'bus', mqttEvent: true },
  { topic: 'cluster/event', from: 'bus', mqttEvent: true },
  { topic: 'cluster/raw', from: 'bus', mqttEvent: true },
  { topic: 'firmware/upload', from: 'bus', mqttEvent: true },
  { topic: 'test/websocket', from: 'api', mqttEvent: false },
  { topic: 'mqtt/status', from: 'bus', mqttEvent: false },
  { topic: 'rollout/progress', from: 'bus', mqttEvent: false },
  { topic: 'telemetry/<device>', from: 'pipeline/telemetry', mqttEvent: false },
  { topic: 'mqtt/replay', from: 'api', mqttEvent: false },
  { topic: 'rpc/response', from: 'api', mqttEvent: false },
  // Issue 15: alerts (rules that notify `ui`) and the live log (admin clients on /ws?logs=1 only).
  { topic: 'alert/raised', from: 'api', mqttEvent: false },
  { topic: 'alert/resolved', from: 'api', mqttEvent: false },
  { topic: 'log/line', from: 'api', mqttEvent: false },
] as const;

type TopicEntry = (typeof WS_TOPICS)[number];

/** Bus events forwarded to WebSocket clients under the same topic name. */
export type BusWsTopic = Extract<TopicEntry, { from: 'bus' }>['topic'];
/** Bus events the cluster on MQTT publishes on `<prefix>/events/<topic>`. */
export type MqttEventTopic = Extract<TopicEntry, { mqttEvent: true }>['topic'];

export const BUS_WS_TOPICS = WS_TOPICS.filter((t): t is Extract<TopicEntry, { from: 'bus' }> => t.from === 'bus').map((t) => t.topic);
export const MQTT_EVENT_TOPICS = WS_TOPICS.filter((t): t is Extract<TopicEntry, { mqttEvent: true }> => t.mqttEvent).map((t) => t.topic);

/**
 * The wire shape of a bus payload: internal fields (`previousIp`, which helps the gateway's
 * own consumers) are stripped here and nowhere else, so the WebSocket and MQTT carry exactly
 * CONTRACT §5.
 */
export function toWirePayload(payload: object): Record<string, unknown> {
  if (!('previousIp' in payload)) return payload as Record<string, unknown>;
  const { previousIp: _previousIp, ...rest } = payload as Record<string, unknown>;
  return rest;
}
