/**
 * The rollout options' defaults (issue 17), without zod: the web UI imports this value (a
 * placeholder rollout for a `rollout/status` message that arrives before the list) and the
 * service fills stored rows with it, so both agree on what an absent option means.
 */
import type { MaintenanceWindow, RolloutKind, RolloutWaiting } from './firmware.js';

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
