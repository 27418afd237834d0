import type { ClusterSnapshot } from './cluster.js';
import type { RolloutNodeState, RolloutStatus } from './firmware.js';
import type { PipelineRecord } from './pipeline.js';
import type { NodeHealth } from '../protocol/types.js';

/**
 * Every WebSocket payload, keyed by topic (CONTRACT §5, docs/websocket.md). Each message
 * is its payload plus `topic` and an RFC 3339 `timestamp` (see WsMessage). The event bus
 * carries the same payloads (events/gateway-events.ts), sometimes with internal fields
 * that contract/ws-topics.ts `toWirePayload` strips.
 */
export interface WsPayloads {
  'node/discovery': {
    action: 'discovered' | 'status' | 'address' | 'lost';
    nodeIp: string;
    hostname: string;
    status: NodeHealth;
  };
  /** Membership, status or primary changed; the new snapshot. */
  'cluster/update': ClusterSnapshot;
  'cluster/primary': {
    primaryNode: string | null;
    previous: string | null;
    reason: 'initial' | 'manual' | 'random' | 'failover';
  };
  /** From a CLUSTER_EVENT datagram. */
  'cluster/event': { event: string; data: unknown; nodeIp: string };
  /** From a RAW datagram. */
  'cluster/raw': { nodeIp: string; data: string };
  'firmware/upload': {
    nodeIp: string;
    status: 'started' | 'progress' | 'succeeded' | 'failed' | 'verified' | 'unverified';
    sent: number;
    total: number;
    error?: string;
    version?: string;
  };
  /**
   * One per transition of a rollout or of one of its nodes. Node messages carry the node's
   * `state` and upload `progress` (0-100); rollout-level messages have `nodeIp` and `state`
   * null and the share of nodes finished as `progress` (docs/firmware.md).
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
  /** The MQTT bridge's connection state changed. */
  'mqtt/status': { state: 'connected' | 'disconnected' | 'reconnecting'; broker: string; error: string | null };
  /** The end of a replay asked for with `/ws?replay=<filter>`; or why it was refused. */
  'mqtt/replay': { filter: string; count: number } | { filter: string; error: string; message: string };
  'test/websocket': { message: string };
  /** `telemetry/<device>`: one pipeline record. */
  telemetry: PipelineRecord;
  /** An alert fired (issue 15 §2, docs/configuration.md "Alerts"); rules that notify `ui`. */
  'alert/raised': AlertWsPayload;
  /** An alert's condition cleared. */
  'alert/resolved': AlertWsPayload;
  /** One log line, to admin clients that connected with `/ws?logs=1` (issue 15 §7). */
  'log/line': { seq: number; time: string; level: string; msg: string; component: string | null; fields: Record<string, unknown> };
}

/** What `alert/raised` and `alert/resolved` carry: the same body as the webhook's. */
export interface AlertWsPayload {
  event: 'raised' | 'resolved';
  gateway: string;
  alert: {
    id: string;
    rule: string;
    when: string;
    subject: string;
    state: 'pending' | 'firing' | 'resolved';
    message: string;
    since: string;
    firedAt: string | null;
    resolvedAt: string | null;
  };
}

/** A WebSocket message of one topic, as a client receives it. */
export type WsMessage<T extends keyof WsPayloads> = WsPayloads[T] & { topic: string; timestamp: string };

/** A bridged MQTT message (CONTRACT §5): its topic is the MQTT topic. */
export interface MqttWsMessage {
  topic: string;
  data: string;
  timestamp: string;
  source: 'mqtt';
  encoding?: 'base64';
  replay?: true;
}
