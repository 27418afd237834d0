import { z } from 'zod';
import type { JsonRpcServer } from './json-rpc.js';
import type { PipelineService } from '../../pipeline/pipeline-service.js';
import { id, none } from './params.js';

/** JSON-RPC methods over the pipeline: the same service as the REST routes (docs/pipeline.md). */
export function registerPipelineRpcMethods(rpc: JsonRpcServer, pipeline: PipelineService): void {
  rpc.register('devices.list', {
    description: 'Every pipeline device with its channels, as GET /api/devices.',
    requires: 'admin',
    params: none,
    handler: () => ({ devices: pipeline.listDevices() }),
  });

  rpc.register('devices.read', {
    description: 'One device ({id}), as GET /api/devices/{id}.',
    requires: 'admin',
    params: z.object({ id }).strict(),
    handler: (p) => pipeline.getDevice(p.id),
  });

  rpc.register('devices.write', {
    description: 'Writes a channel ({id, channel, value}), the transforms inverted, as POST /api/devices/{id}/write.',
    requires: 'admin',
    params: z.object({ id, channel: z.string(), value: z.union([z.number(), z.string(), z.boolean()]) }).strict(),
    handler: (p) => pipeline.write(p.id, { channel: p.channel, value: p.value }),
  });

  rpc.register('connectors.list', {
    description: 'Every connector with its state, polls, errors, reconnects and last error.',
    requires: 'admin',
    params: none,
    handler: () => ({ connectors: pipeline.stats().connectors }),
  });

  rpc.register('connectors.restart', {
    description: 'Restarts one connector ({id}): a fresh connection now, not at the next backoff.',
    requires: 'admin',
    params: z.object({ id }).strict(),
    handler: (p) => pipeline.restartConnector(p.id),
  });

  rpc.register('connectors.scan', {
    description: 'Probes a field bus ({id, from, to}) for devices, as POST /api/connectors/{id}/scan: {addresses}.',
    requires: 'admin',
    params: z.object({ id, from: z.number().int(), to: z.number().int() }).strict(),
    handler: (p) => pipeline.scanConnector(p.id, { from: p.from, to: p.to }),
  });

  rpc.register('sinks.stats', {
    description: 'Per sink: queued, sent, dropped, oldest queued age.',
    requires: 'admin',
    params: none,
    handler: () => ({ sinks: pipeline.stats().sinks }),
  });

  rpc.register('pipeline.stats', {
    description: 'Per connector: state, polls, errors, reconnects; per sink: queued, sent, dropped, oldest queued age.',
    requires: 'admin',
    params: none,
    handler: () => pipeline.stats(),
  });
}
