import type { FastifyInstance } from 'fastify';
import { clusterRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** CONTRACT §4 `POST /api/test/websocket`: a test message to every WebSocket client. */
export function registerWebSocketRoutes(app: FastifyInstance, { wsHub }: Pick<RouteDeps, 'wsHub'>): void {
  app.post<{ Body: unknown }>('/api/test/websocket', clusterRouteDocs().testWebSocket, async (req) => {
    const body = req.body as { message?: unknown } | undefined;
    const message = typeof body?.message === 'string' ? body.message : 'Test message from SPORE Gateway';
    const clients = wsHub.broadcast('test/websocket', { message });
    return { success: true, message: 'Test message broadcast', clients };
  });
}
