import { z } from 'zod';
import { labels, timestamp } from './common.js';

/** `POST /api/firmware` answer and `GET /api/firmware` entries (issue 4, docs/firmware.md). */
export const FirmwareRecord = z.object({
  id: z.string(),
  name: z.string(),
  version: z.string(),
  size: z.int().describe('Bytes.'),
  sha256: z.string(),
  // Always an object (`{}` when none were given): the store keeps them as JSON.
  labels,
  createdAt: timestamp('When it was stored'),
});
export type FirmwareRecord = z.infer<typeof FirmwareRecord>;

export const ROLLOUT_STATUSES = ['pending', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

export const NODE_STATES = ['pending', 'uploading', 'rebooting', 'verifying', 'succeeded', 'failed', 'skipped'] as const;
export type RolloutNodeState = (typeof NODE_STATES)[number];

export const RolloutTarget = z.object({
  /** Every label must match (k = v). */
  labels: labels.optional(),
  /** Only these addresses. Both given: nodes matching both. Neither: every known node. */
  ips: z.array(z.string()).optional(),
});
export type RolloutTarget = z.infer<typeof RolloutTarget>;

export const FirmwareSummary = z.object({ id: z.string(), name: z.string(), version: z.string(), size: z.int(), sha256: z.string() });
export type FirmwareSummary = z.infer<typeof FirmwareSummary>;

/** One targeted node as the API shows it (issue 4 §3: exactly these fields). */
export const RolloutNodeView = z.object({
  ip: z.string(),
  hostname: z.string(),
  state: z.enum(NODE_STATES),
  progress: z.number().describe('Upload progress, percent 0-100.'),
  error: z.string().nullable(),
});
export type RolloutNodeView = z.infer<typeof RolloutNodeView>;

/** `GET /api/rollouts/{id}`. */
export const RolloutView = z.object({
  id: z.string(),
  status: z.enum(ROLLOUT_STATUSES),
  firmware: FirmwareSummary,
  nodes: z.array(RolloutNodeView),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  createdAt: z.string(),
  target: RolloutTarget,
  batchSize: z.int(),
  maxFailures: z.int(),
  bootTimeoutSec: z.int(),
  error: z.string().nullable().describe('Why it failed or was cancelled.'),
});
export type RolloutView = z.infer<typeof RolloutView>;

/** `POST /api/rollouts` answer: the rollout plus its plan. */
export const RolloutPlan = RolloutView.extend({
  dryRun: z.boolean(),
  batches: z.array(z.array(z.string())).describe('Node addresses batch by batch, the primary last.'),
});
export type RolloutPlanView = z.infer<typeof RolloutPlan>;
