import type { FastifyInstance } from 'fastify';
import { rolloutRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** Issue 4 §3: fleet rollouts, `/api/rollouts`. */
export function registerRolloutRoutes(app: FastifyInstance, { rollouts }: Pick<RouteDeps, 'rollouts'>): void {
  const docs = rolloutRouteDocs();
  app.post<{ Body: unknown }>('/api/rollouts', docs.create, async (req, reply) => reply.status(201).send(rollouts.create(req.body)));

  app.get<{ Querystring: { status?: string } }>('/api/rollouts', docs.list, async (req) => rollouts.list(req.query.status));

  app.get<{ Params: { id: string } }>('/api/rollouts/:id', docs.get, async (req) => rollouts.get(req.params.id));

  app.post<{ Params: { id: string } }>('/api/rollouts/:id/pause', docs.pause, async (req) => rollouts.pause(req.params.id));
  app.post<{ Params: { id: string } }>('/api/rollouts/:id/resume', docs.resume, async (req) => rollouts.resume(req.params.id));
  app.post<{ Params: { id: string } }>('/api/rollouts/:id/cancel', docs.cancel, async (req) => rollouts.cancel(req.params.id));
  app.post<{ Params: { id: string } }>('/api/rollouts/:id/retry', docs.retry, async (req, reply) => reply.status(201).send(rollouts.retry(req.params.id)));
  app.post<{ Params: { id: string } }>('/api/rollouts/:id/rollback', docs.rollback, async (req, reply) => reply.status(201).send(rollouts.rollback(req.params.id)));
}
