import type { FastifyInstance } from 'fastify';
import { connectorRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/**
 * Issue 14: operations only some connector types offer — browsing an OPC UA server's address
 * space; the Z-Wave controller's nodes, inclusion and exclusion (docs/pipeline.md).
 */
export function registerConnectorRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'pipeline'>): void {
  const { pipeline } = deps;
  const docs = connectorRouteDocs();

  app.get<{ Params: { id: string }; Querystring: { nodeId?: string } }>('/api/connectors/:id/browse', docs.browse, async (req) => {
    const nodeId = req.query.nodeId;
    return { nodeId: nodeId || 'i=85', children: await pipeline.connectorFor(req.params.id, 'browse').browse(nodeId) };
  });

  app.get<{ Params: { id: string } }>('/api/connectors/:id/nodes', docs.nodes, async (req) => {
    const connector = pipeline.connectorFor(req.params.id, 'listNodes');
    return { nodes: await connector.listNodes(), ...(connector.inclusionStatus ? { inclusion: connector.inclusionStatus() } : {}) };
  });

  app.post<{ Params: { id: string }; Body: unknown }>('/api/connectors/:id/include', docs.include, async (req) => pipeline.connectorFor(req.params.id, 'include').include(req.body ?? {}));

  app.post<{ Params: { id: string }; Body: unknown }>('/api/connectors/:id/exclude', docs.exclude, async (req) => pipeline.connectorFor(req.params.id, 'exclude').exclude(req.body ?? {}));
}
