import type { FastifyInstance } from 'fastify';
import { GatewayError } from '../../errors.js';
import { clusterRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** CONTRACT §4: /api/cluster/*, /api/tasks/status. */
export function registerClusterRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'cluster' | 'client' | 'access' | 'discovery'>): void {
  const { cluster, client, access, discovery } = deps;
  const docs = clusterRouteDocs();

  app.get('/api/cluster/members', docs.members, async () => {
    const { result } = await cluster.withPrimary((ip) => client.getMembers(ip));
    return result;
  });

  app.post('/api/cluster/refresh', docs.refresh, async () => {
    const members = await cluster.refreshMembers();
    return { success: true, message: 'Cluster members refreshed', members, primaryNode: cluster.primaryNode };
  });

  app.get<{ Querystring: { ip?: string } }>('/api/tasks/status', docs.tasks, async (req) => {
    if (req.query.ip !== undefined) return client.getTasks(access.requireNode(req.query.ip).ip);
    return (await cluster.withPrimary((ip) => client.getTasks(ip))).result;
  });

  app.post<{ Body: unknown }>('/api/cluster/event', docs.event, async (req) => {
    const body = req.body as { event?: unknown; data?: unknown } | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body)) {
      throw new GatewayError('bad_request', 'Send a JSON object {"event": "<name>", "data": <any>}.');
    }
    if (typeof body.event !== 'string' || body.event.length === 0 || body.event.length > 128) {
      throw new GatewayError('bad_request', '"event" must be a non-empty string of at most 128 characters.');
    }
    const nodes = discovery.broadcastEvent(body.event, body.data ?? null);
    return { success: true, message: `Event "${body.event}" sent to ${nodes} node(s)`, nodes };
  });
}
