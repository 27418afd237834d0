import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload.js';
import type { ChannelSpec, ChannelValue } from '../types.js';

/**
 * Sparkplug B (Eclipse Sparkplug 3.0) topics and payload objects for the `sparkplug` sink,
 * without I/O and without the protobuf encoder (loaded by the sink only when one is configured).
 * Topic namespace: `spBv1.0/<group_id>/<message_type>/<edge_node_id>[/<device_id>]`.
 */
export const SPARKPLUG_NAMESPACE = 'spBv1.0';

export type NodeMessage = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'NCMD';
export type DeviceMessage = 'DBIRTH' | 'DDEATH' | 'DDATA' | 'DCMD';

/** The Node Control metric a host sets to true in an NCMD to ask for a rebirth (spec §6.4.x). */
export const REBIRTH_METRIC = 'Node Control/Rebirth';
/** The birth/death sequence metric of NBIRTH and NDEATH (UInt64, 0–255). */
export const BDSEQ_METRIC = 'bdSeq';

export function nodeTopic(group: string, message: NodeMessage, edge: string): string {
  return `${SPARKPLUG_NAMESPACE}/${group}/${message}/${edge}`;
}

export function deviceTopic(group: string, message: DeviceMessage, edge: string, device: string): string {
  return `${SPARKPLUG_NAMESPACE}/${group}/${message}/${edge}/${device}`;
}

/** `seq` is 0–255, then 0 again; NBIRTH is always 0 (spec: "seq … MUST be between 0 and 255"). */
export const nextSequence = (seq: number): number => (seq + 1) % 256;

/**
 * A channel value's Sparkplug data type. Numbers are Double whatever their current value, so a
 * channel's type never changes between its DBIRTH and its DDATA (21 then 21.5 stays one type).
 */
export function metricType(value: ChannelValue): 'Double' | 'Boolean' | 'String' {
  return typeof value === 'number' ? 'Double' : typeof value === 'boolean' ? 'Boolean' : 'String';
}

/** One channel as a metric: named after the channel, typed, its unit as the `engUnit` property. */
export function channelMetric(name: string, value: ChannelValue, tsMs: number, spec: ChannelSpec | undefined, opts: { birth?: boolean; historical?: boolean } = {}): UMetric {
  const metric: UMetric = { name, type: metricType(value), value, timestamp: tsMs };
  if (opts.historical) metric.isHistorical = true;
  // Units belong to the metric's definition: sent in DBIRTH, implied afterwards.
  if (opts.birth && spec?.unit) metric.properties = { engUnit: { type: 'String', value: spec.unit } };
  return metric;
}

/**
 * The edge node's own metrics (counts of the gateway's SPORE cluster and pipeline), declared in
 * NBIRTH and reported in NDATA when they change. Counts are UInt32: they never change type.
 */
export type NodeMetrics = Record<string, number>;

const nodeMetric = (name: string, value: number, tsMs: number): UMetric => ({ name, type: 'UInt32', value, timestamp: tsMs });

export function nodeBirth(bdSeq: number, nowMs: number, metrics: NodeMetrics = {}): UPayload {
  return {
    timestamp: nowMs,
    seq: 0,
    metrics: [
      { name: BDSEQ_METRIC, type: 'UInt64', value: bdSeq, timestamp: nowMs },
      { name: REBIRTH_METRIC, type: 'Boolean', value: false, timestamp: nowMs },
      { name: 'Properties/Software', type: 'String', value: 'spore-gateway', timestamp: nowMs },
      ...Object.entries(metrics).map(([name, value]) => nodeMetric(name, value, nowMs)),
    ],
  };
}

/** NDATA: the node metrics that changed since the last NBIRTH/NDATA (report by exception). */
export function nodeData(seq: number, nowMs: number, changed: NodeMetrics): UPayload {
  return { timestamp: nowMs, seq, metrics: Object.entries(changed).map(([name, value]) => nodeMetric(name, value, nowMs)) };
}

/** The metrics of `now` whose value differs from `before` (or that `before` lacks). */
export function changedMetrics(before: NodeMetrics, now: NodeMetrics): NodeMetrics {
  return Object.fromEntries(Object.entries(now).filter(([name, value]) => before[name] !== value));
}

/** NDEATH: the MQTT will, and what a clean stop publishes; no seq, the bdSeq of its NBIRTH. */
export function nodeDeath(bdSeq: number, nowMs: number): UPayload {
  return { timestamp: nowMs, metrics: [{ name: BDSEQ_METRIC, type: 'UInt64', value: bdSeq, timestamp: nowMs }] };
}

/** A decoded metric value as a channel value (Int64/UInt64 arrive as `Long`), or undefined. */
export function commandValue(value: unknown): ChannelValue | undefined {
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'string') return value;
  if (value && typeof value === 'object' && 'toNumber' in value && typeof (value as { toNumber: unknown }).toNumber === 'function') {
    return (value as { toNumber(): number }).toNumber();
  }
  return undefined;
}
