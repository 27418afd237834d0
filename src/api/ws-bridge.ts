import type { ClusterManager } from '../cluster/cluster-manager.js';
import type { GatewayEventBus, GatewayEvents } from '../events/gateway-events.js';
import { serialise, type WsHub } from './ws-hub.js';

/** Bus events that go to WebSocket clients under the same topic name (CONTRACT §5). */
const FORWARDED: ReadonlyArray<keyof GatewayEvents> = [
  'node/discovery',
  'cluster/update',
  'cluster/primary',
  'cluster/event',
  'cluster/raw',
  'firmware/upload',
  'mqtt/status',
  'rollout/progress',
];

/**
 * Feeds the WebSocket hub from the event bus, and greets every new client with
 * a `cluster/update` (CONTRACT §5). Returns a function that unsubscribes.
 */
export function bridgeEventsToWebSocket(bus: GatewayEventBus, hub: WsHub, cluster: ClusterManager): () => void {
  const offs = FORWARDED.map((topic) =>
    bus.on(topic, (payload) => {
      if (hub.clientCount > 0) hub.broadcast(topic, withoutInternalFields(payload as Record<string, unknown>));
    }),
  );
  hub.onConnect((client) => client.send(serialise('cluster/update', { ...cluster.snapshot() })));
  return () => offs.forEach((off) => off());
}

/** `previousIp` helps internal consumers; the wire shape stays exactly CONTRACT §5. */
function withoutInternalFields(payload: Record<string, unknown>): Record<string, unknown> {
  if (!('previousIp' in payload)) return payload;
  const { previousIp: _previousIp, ...rest } = payload;
  return rest;
}
