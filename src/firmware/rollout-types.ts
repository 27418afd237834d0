/** Shapes of rollouts (issue 4 §3), shared by the service, the routes and the `spore` CLI. */

export const ROLLOUT_STATUSES = ['pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export const NODE_STATES = ['pending', 'uploading', 'rebooting', 'verifying', 'succeeded', 'failed', 'skipped'] as const;
export type RolloutNodeState = (typeof NODE_STATES)[number];

/** A rollout in one of these still owns its nodes and its firmware. */
export const ACTIVE_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['pending', 'running', 'paused'];
export const TERMINAL_ROLLOUT_STATUSES: readonly RolloutStatus[] = ['succeeded', 'failed', 'cancelled'];
/** A node in one of these has been touched and is not settled yet. */
export const IN_FLIGHT_STATES: readonly RolloutNodeState[] = ['uploading', 'rebooting', 'verifying'];
export const SETTLED_STATES: readonly RolloutNodeState[] = ['succeeded', 'failed', 'skipped'];

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
}

/** `POST /api/rollouts` answer: the rollout plus its plan. */
export interface RolloutPlanView extends RolloutView {
  dryRun: boolean;
  /** Node addresses in the order they will be updated, batch by batch (the primary last). */
  batches: string[][];
}
