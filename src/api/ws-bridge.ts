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
  // Built at most once a second however many clients connect: with a full registry the
  // greeting is megabytes, and connecting in a loop must not cost a serialisation each time.
  let greeting: { text: string; at: number } | null = null;
  hub.onConnect((client) => {
    const now = Date.now();
    if (greeting && now - greeting.at <= 1000) return client.send(greeting.text);
    const text = serialise('cluster/update', { ...cluster.snapshot() });
    // Only large greetings are reused: a small cluster's greeting is always exactly current.
    greeting = text.length > 256 * 1024 ? { text, at: now } : null;
    client.send(text);
  });
  return () => offs.forEach((off) => off());
}

/** `previousIp` helps internal consumers; the wire shape stays exactly CONTRACT §5. */
function withoutInternalFields(payload: Record<string, unknown>): Record<string, unknown> {
  if (!('previousIp' in payload)) return payload;
  const { previousIp: _previousIp, ...rest } = payload;
  return rest;
}
