/**
 * Shapes of rollouts (issue 4 §3), shared by the service, the routes and the `spore` CLI. The
 * wire shapes are the contract's (contract/firmware.ts); the state groups below are the service's.
 */
import type { MaintenanceWindow, RolloutKind, RolloutNodeState, RolloutStatus, RolloutWaiting } from '../contract/firmware.js';

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

/** What issue 17 added to a rollout; stored as JSON. */
export interface RolloutOptions {
  /** RFC3339: not before this instant. */
  startAt: string | null;
  window: MaintenanceWindow | null;
  /** Label-targeted rollouts stay open for late joiners until `dynamicUntil` (issue 17 §6). */
  dynamic: boolean;
  dynamicUntil: string | null;
  /** Roll back the updated nodes when the rollout fails its threshold (issue 17 §7). */
  autoRollback: boolean;
  kind: RolloutKind;
  /** The rollout this one retries or rolls back. */
  parentId: string | null;
  /** The rollback started for this rollout (by request or autoRollback), if any. */
  rollbackId: string | null;
  /** Written by the runner: what it waits for, and when it runs next. */
  waitingFor: RolloutWaiting;
  nextRunAt: string | null;
}

export const DEFAULT_ROLLOUT_OPTIONS: RolloutOptions = {
  startAt: null,
  window: null,
  dynamic: false,
  dynamicUntil: null,
  autoRollback: false,
  kind: 'rollout',
  parentId: null,
  rollbackId: null,
  waitingFor: null,
  nextRunAt: null,
};

