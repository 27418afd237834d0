import type { FastifyInstance } from 'fastify';
import { buildNodesView } from '../../cluster/nodes-view.js';
import { discoveryRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/**
 * The node list is serialised at most once per this long; any change of
 * membership, status, labels or primary invalidates it at once, so only
 * `lastSeen` can be this stale. Keeps a UI polling 1,000 nodes cheap.
 */
const NODES_VIEW_TTL_MS = 200; // ms

/** CONTRACT §4: /api/discovery/*. */
export function registerDiscoveryRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'registry' | 'cluster' | 'discovery' | 'client' | 'bus'>): void {
  const { registry, cluster, discovery, client, bus } = deps;
  const docs = discoveryRouteDocs();
  let cached: { body: string; at: number } | null = null;
  const invalidate = (): void => {
    cached = null;
  };
  const offs = [bus.on('node/discovery', invalidate), bus.on('cluster/primary', invalidate), bus.on('node/update', invalidate)];
  app.addHook('onClose', async () => offs.forEach((off) => off()));

  app.get('/api/discovery/nodes', docs.nodes, async (_req, reply) => {
    const now = Date.now();
    if (!cached || now - cached.at > NODES_VIEW_TTL_MS) cached = { body: JSON.stringify(buildNodesView(registry, cluster, client)), at: now };
    return reply.type('application/json; charset=utf-8').send(cached.body);
  });

  app.post('/api/discovery/refresh', docs.refresh, async () => {
    discovery.probe();
    let membersRefreshed = false;
    try {
      await cluster.refreshMembers();
      membersRefreshed = true;
    } catch {
      // No primary answering is not the caller's mistake; the probe still went out.
    }
    return {
      success: true,
      message: 'Discovery probe sent and cluster refreshed',
      membersRefreshed,
      primaryNode: cluster.primaryNode,
      totalNodes: registry.size,
    };
  });

  app.post('/api/discovery/random-primary', docs.randomPrimary, async () => {
    const ip = cluster.randomPrimary();
    return { success: true, primaryNode: ip, message: `Primary node set to ${ip} (random)` };
  });

  app.post<{ Params: { ip: string } }>('/api/discovery/primary/:ip', docs.setPrimary, async (req) => {
    const { ip } = req.params;
    cluster.setPrimary(ip, 'manual');
    return { success: true, primaryNode: ip, message: `Primary node set to ${ip}` };
  });
}
