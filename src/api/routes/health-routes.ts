import type { FastifyInstance } from 'fastify';
import { healthRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** CONTRACT §4 `GET /api/health`: 200 unless unhealthy (503). */
export function registerHealthRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'health'>): void {
  app.get('/api/health', healthRouteDocs().health, async (_req, reply) => {
    const report = deps.health.report();
    return reply.status(report.status === 'unhealthy' ? 503 : 200).send(report);
  });
}
