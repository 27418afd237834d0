import { z } from 'zod';
import type { JsonRpcServer } from './json-rpc.js';
import type { FirmwareStore } from '../../firmware/firmware-store.js';
import type { RolloutService } from '../../firmware/rollout-service.js';
import { id, none } from './params.js';

/**
 * JSON-RPC methods over the firmware store and rollouts: the same services as
 * the REST routes (docs/firmware.md). Images are uploaded over HTTP
 * (multipart), never inside JSON.
 */
export function registerFirmwareRpcMethods(rpc: JsonRpcServer, store: FirmwareStore, rollouts: RolloutService): void {
  rpc.register('firmware.list', {
    description: 'Stored firmware images, as GET /api/firmware.',
    requires: 'admin',
    params: none,
    handler: () => ({ firmware: store.list() }),
  });

  rpc.register('firmware.get', {
    description: 'One stored image ({id}), as GET /api/firmware/{id}.',
    requires: 'admin',
    params: z.object({ id }).strict(),
    handler: (p) => store.get(p.id),
  });

  rpc.register('firmware.delete', {
    description: 'Deletes a stored image ({id}); refused while a rollout uses it, as DELETE /api/firmware/{id}.',
    requires: 'admin',
    params: z.object({ id }).strict(),
    handler: async (p) => ({ success: true, deleted: await store.remove(p.id) }),
  });

  rpc.register('rollouts.list', {
    description: 'Rollouts, newest first ({status?: "running,paused"}), as GET /api/rollouts.',
    requires: 'admin',
    params: z.object({ status: z.string().max(100).optional() }).strict(),
    handler: (p) => ({ rollouts: rollouts.list(p.status) }),
  });

  rpc.register('rollouts.status', {
    description: 'One rollout ({id}) with its nodes, as GET /api/rollouts/{id}.',
    requires: 'admin',
    params: z.object({ id }).strict(),
    handler: (p) => rollouts.get(p.id),
  });

  rpc.register('rollouts.start', {
    description:
      'Starts (or with dryRun plans) a rollout: {firmwareId, target: {labels?, ips?}, batchSize?, maxFailures?, bootTimeoutSec?, dryRun?, startAt?, window?, dynamic?, dynamicForHours?, autoRollback?}, as POST /api/rollouts.',
    requires: 'admin',
    // Validated by the service, with the same messages as the REST route.
    params: z.record(z.string(), z.unknown()),
    handler: (p) => rollouts.create(p),
  });

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    rpc.register(`rollouts.${action}`, {
      description: `${action[0]!.toUpperCase()}${action.slice(1)}s a rollout ({id}), as POST /api/rollouts/{id}/${action}.`,
      requires: 'admin',
      params: z.object({ id }).strict(),
      handler: (p) => rollouts[action](p.id),
    });
  }

  rpc.register('rollouts.retry', {
    description: 'Starts a new rollout of the same image for the nodes of a finished rollout ({id}) that failed, as POST /api/rollouts/{id}/retry.',
    requires: 'admin',
    params: z.object({ id }).strict(),
    handler: (p) => rollouts.retry(p.id),
  });

  rpc.register('rollouts.rollback', {
    description: "Rolls back the nodes a finished rollout ({id}) updated to their previous images, as POST /api/rollouts/{id}/rollback.",
    requires: 'admin',
    params: z.object({ id }).strict(),
    handler: (p) => rollouts.rollback(p.id),
  });
}
