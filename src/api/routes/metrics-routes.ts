import type { FastifyInstance } from 'fastify';
import { metricsRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** Prometheus text exposition at `GET /metrics` (issue 7). */
export function registerMetricsRoutes(app: FastifyInstance, { metrics }: Pick<RouteDeps, 'metrics'>): void {
  app.addHook('onResponse', async (req, reply) => {
    // The route pattern, not the URL: one series per route, whatever the IPs and ids.
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.observeHttpRequest({ method: req.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  app.get('/metrics', metricsRouteDocs().metrics, async (_req, reply) => {
    const { contentType, body } = await metrics.render();
    return reply.type(contentType).send(body);
  });
}
