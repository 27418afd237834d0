import type { FastifyInstance } from 'fastify';
import { pipelineRouteDocs } from '../openapi/route-docs.js';
import type { RouteDeps } from '../route-deps.js';

/** Issue 6: the pipeline's devices, writes and statistics (shapes in docs/pipeline.md). */
export function registerPipelineRoutes(app: FastifyInstance, deps: Pick<RouteDeps, 'pipeline'>): void {
  const { pipeline } = deps;
  const docs = pipelineRouteDocs();

  app.get('/api/devices', docs.devices, async () => ({ devices: pipeline.listDevices() }));

  app.get<{ Params: { id: string } }>('/api/devices/:id', docs.device, async (req) => pipeline.getDevice(req.params.id));

  app.post<{ Params: { id: string }; Body: unknown }>('/api/devices/:id/write', docs.write, async (req) => pipeline.write(req.params.id, req.body));

  app.post<{ Params: { id: string }; Body: unknown }>('/api/connectors/:id/scan', docs.scan, async (req) => pipeline.scanConnector(req.params.id, req.body));

  app.get('/api/pipeline/stats', docs.stats, async () => pipeline.stats());
}
