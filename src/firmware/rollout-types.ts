/** Shapes of rollouts (issue 4 §3), shared by the service, the routes and the `spore` CLI. */

/** `scheduled`: waiting for its `startAt` or for its maintenance window to open (issue 17 §5). */
export const ROLLOUT_STATUSES = ['pending', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** `cancelled`: the rollout was cancelled while the node was being updated (issue 17 §4). */
export const NODE_STATES = ['pending', 'uploading', 'rebooting', 'verifying', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type RolloutNodeState = (typeof NODE_STATES)[number];

/** A rollout in one of these still owns its nodes and its firmware. */
export const ACTIVE_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['pending', 'scheduled', 'running', 'paused'];
export const TERMINAL_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['succeeded', 'failed', 'cancelled'];
/** A node in one of these has been touched and is not settled yet. */
export const IN_FLIGHT_STATES: readonly RolloutNodeState[] = ['uploading', 'rebooting', 'verifying'];
export const SETTLED_STATES: readonly RolloutNodeState[] = ['succeeded', 'failed', 'skipped', 'cancelled'];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A maintenance window (issue 17 §5): on these days (the day the window opens), from → to local time. */
export interface MaintenanceWindow {
  days: Weekday[];
  /** "HH:MM", 24 h. */
  from: string;
  /** "HH:MM"; earlier than `from` means the window ends the next day. */
  to: string;
  /** IANA time zone, e.g. "Europe/Berlin" (default "UTC"). */
  timezone: string;
}

export type RolloutKind = 'rollout' | 'retry' | 'rollback';

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

/** Why an active rollout is not updating nodes right now. */
export type RolloutWaiting = 'start' | 'window' | 'joiners' | null;

export interface RolloutTarget {
  /** Every label must match (k = v). */
  labels?: Record<string, string>;
  /** Only these addresses. Both given: nodes matching both. Neither: every known node. */
  ips?: string[];
}

export interface FirmwareSummary {
  id: string;
  name: string;
  version: string;
  size: number;
  sha256: string;
}

/** One targeted node as the API shows it (issue 4 §3: exactly these fields). */
export interface RolloutNodeView {
  ip: string;
  hostname: string;
  state: RolloutNodeState;
  /** Upload progress, percent 0-100 (100 once the node accepted the image). */
  progress: number;
  error: string | null;
}

/** `GET /api/rollouts/{id}`. */
export interface RolloutView {
  id: string;
  status: RolloutStatus;
  firmware: FirmwareSummary;
  nodes: RolloutNodeView[];
  startedAt: string | null;
  finishedAt: string | null;
  createdAt: string;
  target: RolloutTarget;
  batchSize: number;
  maxFailures: number;
  bootTimeoutSec: number;
  /** Why the rollout failed or was cancelled, when it did. */
  error: string | null;
  /** Issue 17: schedule, window, late joiners, rollback. */
  startAt: string | null;
  window: MaintenanceWindow | null;
  dynamic: boolean;
  dynamicUntil: string | null;
  autoRollback: boolean;
  kind: RolloutKind;
  parentId: string | null;
  rollbackId: string | null;
  /** What a pending/scheduled/running rollout waits for: its start time, its window, late joiners; null when it is updating. */
  waitingFor: RolloutWaiting;
  /** RFC3339: when it will (re)start, while `scheduled`. */
  nextRunAt: string | null;
}

/** `POST /api/rollouts` answer: the rollout plus its plan. */
export interface RolloutPlanView extends RolloutView {
  dryRun: boolean;
  /** Node addresses in the order they will be updated, batch by batch (the primary last). */
  batches: string[][];
}
