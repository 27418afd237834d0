import type { RolloutNodeState, RolloutStatus } from '../firmware/rollout-types.js';
import type { NodeHealth } from '../protocol/types.js';
import type { ClusterSnapshot } from '../cluster/cluster-snapshot.js';
import type { PipelineRecord } from '../pipeline/types.js';
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
  /** `test/websocket`. */
  'test/websocket': { message: string };
  /** `mqtt/status` (CONTRACT §5): the MQTT bridge's connection state changed. */
  'mqtt/status': { state: 'connected' | 'disconnected' | 'reconnecting'; broker: string; error: string | null };
  /**
   * A message the MQTT bridge forwarded (emitted only while someone listens).
   * `json` is its CONTRACT §5 WebSocket form, already serialised.
   */
  'mqtt/message': { topic: string; payload: Buffer; qos: 0 | 1 | 2; retain: boolean; json: string };
  /** A pipeline record, once committed (seq assigned, on disk). */
  'pipeline/record': PipelineRecord;
}

export type GatewayEventBus = EventBus<GatewayEvents>;
