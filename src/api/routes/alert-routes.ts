import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../route-deps.js';
import { alertRouteDocs } from '../openapi/operations-route-docs.js';

/** Issue 15 §2: the alert list of the UI. */
export function registerAlertRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'alerts' | 'webhookStats'>): void {
  const docs = alertRouteDocs();
  app.get('/api/alerts', docs.list, async () => ({ ...deps.alerts.list(), webhook: deps.webhookStats() }));
}
