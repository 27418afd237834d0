import type { NodeClient } from '../node-client/node-client.js';
import type { NodesView } from '../contract/nodes.js';
import type { ClusterManager } from './cluster-manager.js';
import type { NodeRegistry } from './node-registry.js';

/** CONTRACT §4 `GET /api/discovery/nodes` (also JSON-RPC `cluster.nodes`): the contract's NodesView. */
export function buildNodesView(registry: NodeRegistry, cluster: ClusterManager, client: NodeClient): NodesView {
  const primary = cluster.primaryNode;
  return {
    primaryNode: primary,
    totalNodes: registry.size,
    clientInitialized: primary !== null,
    clientBaseUrl: primary ? client.baseUrl(primary) : null,
    nodes: registry.list().map((n) => ({
      ip: n.ip,
      port: n.port,
      hostname: n.hostname,
      status: n.status,
      discoveredAt: new Date(n.discoveredAt).toISOString(),
      lastSeen: new Date(n.lastSeen).toISOString(),
      isPrimary: n.ip === primary,
      labels: n.labels,
    })),
  };
}
