import type { FastifyInstance } from 'fastify';
import type { LogLevelName } from '../../logs/log-buffer.js';
import type { RouteDeps } from '../route-deps.js';
import { logRouteDocs } from '../openapi/operations-route-docs.js';

/** Issue 15 §7: the last log lines (admin scope; secrets are redacted by the logger). */
export function registerLogRoutes(app: FastifyInstance, { logs }: Pick<RouteDeps, 'logs'>): void {
  const docs = logRouteDocs();
  app.get<{ Querystring: { level?: LogLevelName; since?: string; limit?: string } }>('/api/logs', docs.logs, async (req) => ({
    lines: logs.query({
      ...(req.query.level ? { level: req.query.level } : {}),
      ...(req.query.since ? { since: Number(req.query.since) } : {}),
      limit: Math.min(Number(req.query.limit ?? logs.capacity), logs.capacity),
    }),
    lastSeq: logs.lastSeq,
    capacity: logs.capacity,
  }));
}
