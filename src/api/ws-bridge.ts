import type { ClusterManager } from '../cluster/cluster-manager.js';
import { BUS_WS_TOPICS, toWirePayload } from '../contract/ws-topics.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import { serialise, type WsHub } from './ws-hub.js';

/**
 * Feeds the WebSocket hub from the event bus (the `bus` topics of contract/ws-topics.ts, and
 * pipeline records as `telemetry/<device>`), and greets every new client with a
 * `cluster/update` (CONTRACT §5). Returns a function that unsubscribes.
 */
export function bridgeEventsToWebSocket(bus: GatewayEventBus, hub: WsHub, cluster: Pick<ClusterManager, 'snapshot'>): () => void {
  const offs = BUS_WS_TOPICS.map((topic) =>
    bus.on(topic, (payload) => {
      if (hub.clientCount > 0) hub.broadcast(topic, toWirePayload(payload));
    }),
  );
  offs.push(
    bus.on('pipeline/telemetry', (record) => {
      if (hub.clientCount > 0) hub.broadcast(`telemetry/${record.device}`, { ...record });
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
