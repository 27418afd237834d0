import type { WsHub } from '../api/ws-hub.js';
import type { NodeRegistry } from '../cluster/node-registry.js';
import type { UdpDiscovery } from '../cluster/udp-discovery.js';
import type { GatewayMetrics } from './gateway-metrics.js';

/** Metrics of the cluster core: nodes, datagrams, WebSocket clients. */
export function registerCoreMetrics(metrics: GatewayMetrics, deps: { registry: NodeRegistry; discovery: UdpDiscovery; wsHub: WsHub }): void {
  const { registry, discovery, wsHub } = deps;
  metrics.gauge(
    'spore_nodes',
    'Known SPORE nodes by status',
    () => Object.entries(registry.countByStatus()).map(([status, value]) => ({ labels: { status }, value })),
    ['status'],
  );
  metrics.counter(
    'spore_udp_datagrams_total',
    'UDP datagrams received, valid or junk (dropped)',
    () => [
      { labels: { result: 'valid' }, value: discovery.stats.valid },
      { labels: { result: 'junk' }, value: discovery.stats.junk },
    ],
    ['result'],
  );
  metrics.counter(
    'spore_udp_junk_datagrams_total',
    'Junk UDP datagrams by reason',
    () => Object.entries(discovery.stats.junkByReason).map(([reason, value]) => ({ labels: { reason }, value: value ?? 0 })),
    ['reason'],
  );
  metrics.gauge('spore_websocket_clients', 'Connected WebSocket clients', () => wsHub.stats().clients);
  metrics.counter('spore_websocket_messages_sent_total', 'Messages written to WebSocket clients', () => wsHub.stats().messagesSent);
  metrics.counter('spore_websocket_slow_clients_dropped_total', 'WebSocket clients closed with 1013 for falling behind', () => wsHub.stats().slowClientsDropped);
}
