import { z } from 'zod';
import { adminMethod, type JsonRpcServer } from './json-rpc.js';
import type { PipelineService } from '../../pipeline/pipeline-service.js';
import { byId, id, none } from './params.js';

/** JSON-RPC methods over the pipeline: the same service as the REST routes (docs/pipeline.md). */
export function registerPipelineRpcMethods(rpc: JsonRpcServer, pipeline: PipelineService): void {
  rpc.registerAll({
    'devices.list': adminMethod('Every pipeline device with its channels, as GET /api/devices.', none, () => ({ devices: pipeline.listDevices() })),
    'devices.read': adminMethod('One device ({id}), as GET /api/devices/{id}.', byId, (p) => pipeline.getDevice(p.id)),
    'devices.write': adminMethod(
      'Writes a channel ({id, channel, value}), the transforms inverted, as POST /api/devices/{id}/write.',
      z.object({ id, channel: z.string(), value: z.union([z.number(), z.string(), z.boolean()]) }).strict(),
      (p) => pipeline.write(p.id, { channel: p.channel, value: p.value }),
    ),
    'connectors.list': adminMethod('Every connector with its state, polls, errors, reconnects and last error.', none, () => ({ connectors: pipeline.stats().connectors })),
    'connectors.restart': adminMethod('Restarts one connector ({id}): a fresh connection now, not at the next backoff.', byId, (p) => pipeline.restartConnector(p.id)),
    'connectors.scan': adminMethod(
      'Probes a field bus ({id, from, to}) for devices, as POST /api/connectors/{id}/scan: {addresses}.',
      z.object({ id, from: z.number().int(), to: z.number().int() }).strict(),
      (p) => pipeline.scanConnector(p.id, { from: p.from, to: p.to }),
    ),
    'sinks.stats': adminMethod('Per sink: queued, sent, dropped, oldest queued age.', none, () => ({ sinks: pipeline.stats().sinks })),
    'pipeline.stats': adminMethod('Per connector: state, polls, errors, reconnects; per sink: queued, sent, dropped, oldest queued age.', none, () => pipeline.stats()),
  });
}
