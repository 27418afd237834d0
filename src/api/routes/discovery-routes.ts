import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import { isValidIpv4 } from '../../protocol/ip.js';
import type { RouteDeps } from '../route-deps.js';

/** CONTRACT §4: /api/discovery/*. */
export function registerDiscoveryRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, cluster, discovery, client } = deps;

  app.get('/api/discovery/nodes', async () => {
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
  });

  app.post('/api/discovery/refresh', async () => {
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

  app.post('/api/discovery/random-primary', async () => {
    const ip = cluster.randomPrimary();
    return { success: true, primaryNode: ip, message: `Primary node set to ${ip} (random)` };
  });

  app.post<{ Params: { ip: string } }>('/api/discovery/primary/:ip', async (req) => {
    const { ip } = req.params;
    if (!isValidIpv4(ip)) throw new GatewayError('invalid_ip', `"${ip.slice(0, 64)}" is not an IPv4 address`);
    cluster.setPrimary(ip, 'manual');
    return { success: true, primaryNode: ip, message: `Primary node set to ${ip}` };
  });
}
