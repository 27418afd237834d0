import { z } from 'zod';
import { adminMethod, type JsonRpcServer } from './json-rpc.js';
import type { FirmwareStore } from '../../firmware/firmware-store.js';
import type { RolloutService } from '../../firmware/rollout-service.js';
import { byId, none } from './params.js';

const ROLLOUT_CONTROLS = ['pause', 'resume', 'cancel'] as const;

/**
 * JSON-RPC methods over the firmware store and rollouts: the same services as
 * the REST routes (docs/firmware.md). Images are uploaded over HTTP
 * (multipart), never inside JSON.
 */
export function registerFirmwareRpcMethods(rpc: JsonRpcServer, store: FirmwareStore, rollouts: RolloutService): void {
  rpc.registerAll({
    'firmware.list': adminMethod('Stored firmware images, as GET /api/firmware.', none, () => ({ firmware: store.list() })),
    'firmware.get': adminMethod('One stored image ({id}), as GET /api/firmware/{id}.', byId, (p) => store.get(p.id)),
    'firmware.delete': adminMethod('Deletes a stored image ({id}); refused while a rollout uses it, as DELETE /api/firmware/{id}.', byId, async (p) => ({
      success: true,
      deleted: await store.remove(p.id),
    })),
    'rollouts.list': adminMethod('Rollouts, newest first ({status?: "running,paused"}), as GET /api/rollouts.', z.object({ status: z.string().max(100).optional() }).strict(), (p) => ({
      rollouts: rollouts.list(p.status),
    })),
    'rollouts.status': adminMethod('One rollout ({id}) with its nodes, as GET /api/rollouts/{id}.', byId, (p) => rollouts.get(p.id)),
    'rollouts.start': adminMethod(
      'Starts (or with dryRun plans) a rollout: {firmwareId, target: {labels?, ips?}, batchSize?, maxFailures?, bootTimeoutSec?, dryRun?, startAt?, window?, dynamic?, dynamicForHours?, autoRollback?}, as POST /api/rollouts.',
      // Validated by the service, with the same messages as the REST route.
      z.record(z.string(), z.unknown()),
      (p) => rollouts.create(p),
    ),
    ...Object.fromEntries(
      ROLLOUT_CONTROLS.map((action) => [
        `rollouts.${action}`,
        adminMethod(`${action[0]!.toUpperCase()}${action.slice(1)}s a rollout ({id}), as POST /api/rollouts/{id}/${action}.`, byId, (p) => rollouts[action](p.id)),
      ]),
    ),
    'rollouts.retry': adminMethod('Starts a new rollout of the same image for the nodes of a finished rollout ({id}) that failed, as POST /api/rollouts/{id}/retry.', byId, (p) =>
      rollouts.retry(p.id),
    ),
    'rollouts.rollback': adminMethod('Rolls back the nodes a finished rollout ({id}) updated to their previous images, as POST /api/rollouts/{id}/rollback.', byId, (p) =>
      rollouts.rollback(p.id),
    ),
  });
}
