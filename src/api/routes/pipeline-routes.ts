import type { FastifyInstance } from 'fastify';
import type { RouteDeps } from '../route-deps.js';

/** Issue 6: the pipeline's devices, writes and statistics (shapes in docs/pipeline.md). */
export function registerPipelineRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { pipeline } = deps;

  app.get('/api/devices', async () => ({ devices: pipeline.listDevices() }));

  app.get<{ Params: { id: string } }>('/api/devices/:id', async (req) => pipeline.getDevice(req.params.id));

  app.post<{ Params: { id: string }; Body: unknown }>('/api/devices/:id/write', async (req) => pipeline.write(req.params.id, req.body));

  app.get('/api/pipeline/stats', async () => pipeline.stats());
}
