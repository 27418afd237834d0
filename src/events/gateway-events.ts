import type { PipelineRecord } from '../contract/pipeline.js';
import type { WsPayloads } from '../contract/ws-messages.js';
import type { BusWsTopic } from '../contract/ws-topics.js';
import { EventBus } from './event-bus.js';

/**
 * Every event inside the gateway. The WebSocket hub, the MQTT publisher and
 * the UI all feed from this one bus. Payloads are the WebSocket payloads of the contract
 * (contract/ws-messages.ts, CONTRACT §5) without `topic`/`timestamp`, which adapters add.
 */
export interface GatewayEvents {
  /** `node/discovery`; `previousIp` (an address change) is internal. */
  'node/discovery': WsPayloads['node/discovery'] & { previousIp?: string };
  /** Membership, status or primary changed; carries the new snapshot (`cluster/update`). */
  'cluster/update': WsPayloads['cluster/update'];
  'cluster/primary': WsPayloads['cluster/primary'];
  'cluster/event': WsPayloads['cluster/event'];
  'cluster/raw': WsPayloads['cluster/raw'];
  /** A NODE_UPDATE arrived (labels, version, …) — used by OTA verification. */
  'node/update': { nodeIp: string; hostname: string; info: Record<string, unknown> };
  /** Heartbeats from a node resumed after a silence of `silentMs` (a reboot). */
  'node/resumed': { nodeIp: string; hostname: string; silentMs: number };
  'firmware/upload': WsPayloads['firmware/upload'];
  'rollout/progress': WsPayloads['rollout/progress'];
  /** The MQTT bridge's connection state changed. */
  'mqtt/status': WsPayloads['mqtt/status'];
  /** A record for the WebSocket's `telemetry/<device>` (the pipeline's websocket sink). */
  'pipeline/telemetry': WsPayloads['telemetry'];
  /** Internal: the records of one commit, in order (history keeps their numeric channels, issue 15 §4). */
  'pipeline/committed': readonly PipelineRecord[];
}

/** Every bus event the WebSocket forwards (contract/ws-topics.ts) is one of the events above. */
type Missing = Exclude<BusWsTopic, keyof GatewayEvents>;
const _everyForwardedTopicIsAnEvent: Missing extends never ? true : Missing = true;
void _everyForwardedTopicIsAnEvent;

export type GatewayEventBus = EventBus<GatewayEvents>;
