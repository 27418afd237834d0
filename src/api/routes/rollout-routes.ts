import type { FastifyInstance } from 'fastify';
import type { RolloutService } from '../../firmware/rollout-service.js';

/** Issue 4 §3: fleet rollouts, `/api/rollouts`. */
export function registerRolloutRoutes(app: FastifyInstance, { rollouts }: { rollouts: RolloutService }): void {
  app.post<{ Body: unknown }>('/api/rollouts', async (req, reply) => reply.status(201).send(rollouts.create(req.body)));

  app.get<{ Querystring: { status?: string } }>('/api/rollouts', async (req) => rollouts.list(req.query.status));

  app.get<{ Params: { id: string } }>('/api/rollouts/:id', async (req) => rollouts.get(req.params.id));

  app.post<{ Params: { id: string } }>('/api/rollouts/:id/pause', async (req) => rollouts.pause(req.params.id));
  app.post<{ Params: { id: string } }>('/api/rollouts/:id/resume', async (req) => rollouts.resume(req.params.id));
  app.post<{ Params: { id: string } }>('/api/rollouts/:id/cancel', async (req) => rollouts.cancel(req.params.id));
}
