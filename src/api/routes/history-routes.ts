import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../route-deps.js';
import { historyRouteDocs } from '../openapi/operations-route-docs.js';

/** Issue 15 §4: `GET /api/history` and the list of series. */
export function registerHistoryRoutes(app: FastifyInstance, { history }: Pick<RouteDeps, 'history'>): void {
  const docs = historyRouteDocs();
  app.get<{ Querystring: { series?: string; from?: string; to?: string; step?: string } }>('/api/history', docs.query, async (req) => history.query(req.query));
  app.get<{ Querystring: { prefix?: string } }>('/api/history/series', docs.series, async (req) => ({ series: history.list(req.query.prefix), stats: history.stats() }));
}
