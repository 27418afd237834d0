import type { RolloutNodeState, RolloutStatus } from '../firmware/rollout-types.js';
import type { NodeHealth } from '../protocol/types.js';
import type { ClusterSnapshot } from '../contract/cluster.js';
import type { PipelineRecord } from '../contract/pipeline.js';
import type { BusWsTopic } from '../contract/ws-topics.js';
import { EventBus } from './event-bus.js';

/**
 * Every event inside the gateway. The WebSocket hub, the MQTT publisher and
 * the UI all feed from this one bus. Payloads mirror the WebSocket topics of
 * CONTRACT §5 without `topic`/`timestamp`, which adapters add.
 */
export interface GatewayEvents {
  /** `node/discovery` (CONTRACT §5). */
  'node/discovery': {
    action: 'discovered' | 'status' | 'address' | 'lost';
    nodeIp: string;
    hostname: string;
    status: NodeHealth;
    previousIp?: string;
  };
  /** Membership, status or primary changed; carries the new snapshot (`cluster/update`). */
  'cluster/update': ClusterSnapshot;
  /** `cluster/primary` (CONTRACT §5). */
  'cluster/primary': {
    primaryNode: string | null;
    previous: string | null;
    reason: 'initial' | 'manual' | 'random' | 'failover';
  };
  /** `cluster/event`: from a CLUSTER_EVENT datagram. */
  'cluster/event': { event: string; data: unknown; nodeIp: string };
  /** `cluster/raw`: from a RAW datagram. */
  'cluster/raw': { nodeIp: string; data: string };
  /** A NODE_UPDATE arrived (labels, version, …) — used by OTA verification. */
  'node/update': { nodeIp: string; hostname: string; info: Record<string, unknown> };
  /** Heartbeats from a node resumed after a silence of `silentMs` (a reboot). */
  'node/resumed': { nodeIp: string; hostname: string; silentMs: number };
  /** `firmware/upload` (CONTRACT §5). */
  'firmware/upload': {
    nodeIp: string;
    status: 'started' | 'progress' | 'succeeded' | 'failed' | 'verified' | 'unverified';
    sent: number;
    total: number;
    error?: string;
    version?: string;
  };
  /**
   * `rollout/progress` (CONTRACT §5): one per transition of a rollout or of one of
   * its nodes. Node messages carry the node's `state` and upload `progress` (0-100);
   * rollout-level messages have `nodeIp` and `state` null and the share of nodes
   * finished as `progress` (docs/firmware.md).
   */
  'rollout/progress': {
    rolloutId: string;
    status: RolloutStatus;
    nodeIp: string | null;
    state: RolloutNodeState | null;
    progress: number;
    hostname?: string;
    error?: string | null;
  };
  /** `mqtt/status` (CONTRACT §5): the MQTT bridge's connection state changed. */
  'mqtt/status': { state: 'connected' | 'disconnected' | 'reconnecting'; broker: string; error: string | null };
  /** A record for the WebSocket's `telemetry/<device>` (the pipeline's websocket sink). */
  'pipeline/telemetry': PipelineRecord;
  /** Internal: the records of one commit, in order (history keeps their numeric channels, issue 15 §4). */
  'pipeline/committed': readonly PipelineRecord[];

}

/** Every bus event the WebSocket forwards (contract/ws-topics.ts) is one of the events above. */
type Missing = Exclude<BusWsTopic, keyof GatewayEvents>;
const _everyForwardedTopicIsAnEvent: Missing extends never ? true : Missing = true;
void _everyForwardedTopicIsAnEvent;

export type GatewayEventBus = EventBus<GatewayEvents>;
