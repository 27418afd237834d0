/**
 * Shapes of rollouts (issue 4 §3), shared by the service, the routes and the `spore` CLI. The
 * wire shapes are the contract's (contract/firmware.ts); the state groups below are the service's.
 */
import type { RolloutNodeState, RolloutStatus } from '../contract/firmware.js';

export { NODE_STATES, ROLLOUT_STATUSES, WEEKDAYS } from '../contract/firmware.js';
export type {
  FirmwareSummary,
  MaintenanceWindow,
  RolloutKind,
  RolloutNodeState,
  RolloutNodeView,
  RolloutPlanView,
  RolloutStatus,
  RolloutTarget,
  RolloutView,
  RolloutWaiting,
  Weekday,
} from '../contract/firmware.js';

/** A rollout in one of these still owns its nodes and its firmware. */
export const ACTIVE_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['pending', 'scheduled', 'running', 'paused'];
export const TERMINAL_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['succeeded', 'failed', 'cancelled'];
/** A node in one of these has been touched and is not settled yet. */
export const IN_FLIGHT_STATES: readonly RolloutNodeState[] = ['uploading', 'rebooting', 'verifying'];
export const SETTLED_STATES: readonly RolloutNodeState[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

export { DEFAULT_ROLLOUT_OPTIONS, type RolloutOptions } from '../contract/rollout-defaults.js';

