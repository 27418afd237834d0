import type { FastifyInstance } from 'fastify';
import type { AlertEngine } from '../../alerts/alert-engine.js';
import type { WebhookStats } from '../../alerts/webhook-notifier.js';
import { alertRouteDocs } from '../openapi/operations-route-docs.js';

/** Issue 15 §2: the alert list of the UI. */
export function registerAlertRoutes(app: FastifyInstance, deps: { alerts: AlertEngine; webhook: () => WebhookStats | null }): void {
  const docs = alertRouteDocs();
  app.get('/api/alerts', docs.list, async () => ({ ...deps.alerts.list(), webhook: deps.webhook() }));
}
