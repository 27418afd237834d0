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
  /** `verified` (signature checked against `signedBy`, a trusted key id) or `unsigned` (issue 17 §1). */
  signature: z.enum(['verified', 'unsigned']).describe('Whether a trusted key signed it.'),
  signedBy: z.string().nullable().describe('The id of the trusted key that signed it.'),
  /** A gzip-compressed `.bin.gz` image, sent as it is (issue 17 §3). */
  compressed: z.boolean().describe('A gzip-compressed .bin.gz image, sent as it is.'),
  /** The application image's size once inflated, bytes (= size when not compressed); what must fit the node's flash. */
  imageBytes: z.int().describe('Size once inflated, bytes: what must fit the node.'),
  /** First byte 0xE9 (inside the gzip stream for a .bin.gz); false only for images stored with force=true, which nodes reject (issue 12 §18). */
  espImage: z.boolean().describe('An ESP8266 application image; false: stored with force=true, nodes will reject it.'),
});
export type FirmwareRecord = z.infer<typeof FirmwareRecord>;

/**
 * `POST /api/firmware` with the form field `dryRun=true` (issue 12 §17): the image passed every
 * check an upload makes and would be stored as this — but nothing was stored. Its description
 * (name … signedBy) may be given to a rollout dry run as `image` instead of a `firmwareId`.
 */
export const FirmwareCheck = FirmwareRecord.omit({ id: true, createdAt: true }).extend({
  dryRun: z.literal(true),
  stored: z.literal(false),
  imageVersion: z.string().nullable().describe('The version its SPORE-VERSION marker declares, or null.'),
});
export type FirmwareCheck = z.infer<typeof FirmwareCheck>;

/** `scheduled`: waiting for its `startAt` or for its maintenance window to open (issue 17 §5). */
export const ROLLOUT_STATUSES = ['pending', 'scheduled', 'running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];

/** `cancelled`: the rollout was cancelled while the node was being updated (issue 17 §4). */
export const NODE_STATES = ['pending', 'uploading', 'rebooting', 'verifying', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;
export type RolloutNodeState = (typeof NODE_STATES)[number];

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A maintenance window (issue 17 §5): on these days (the day the window opens), from → to local time. */
export const MaintenanceWindow = z.object({
  days: z.array(z.enum(WEEKDAYS)),
  /** "HH:MM", 24 h. */
  from: z.string(),
  /** "HH:MM"; earlier than `from` means the window ends the next day. */
  to: z.string(),
  /** IANA time zone, e.g. "Europe/Berlin" (default "UTC"). */
  timezone: z.string(),
});
export type MaintenanceWindow = z.infer<typeof MaintenanceWindow>;

export const ROLLOUT_KINDS = ['rollout', 'retry', 'rollback'] as const;
export type RolloutKind = (typeof ROLLOUT_KINDS)[number];

/** Why an active rollout is not updating nodes right now. */
export type RolloutWaiting = 'start' | 'window' | 'joiners' | null;

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
  // Issue 17: schedule, window, late joiners, rollback.
  startAt: z.string().nullable().describe('Not before this instant (RFC3339).'),
  window: MaintenanceWindow.nullable().describe('Maintenance window.'),
  dynamic: z.boolean().describe('Open for late joiners until dynamicUntil.'),
  dynamicUntil: z.string().nullable(),
  autoRollback: z.boolean(),
  kind: z.enum(ROLLOUT_KINDS),
  parentId: z.string().nullable().describe('The rollout this one retries or rolls back.'),
  rollbackId: z.string().nullable().describe('The rollback of this rollout, once started.'),
  waitingFor: z.enum(['start', 'window', 'joiners']).nullable().describe('What a pending/scheduled/running rollout waits for; null when it is updating.'),
  nextRunAt: z.string().nullable().describe('While scheduled: when it (re)starts (RFC3339).'),
});
export type RolloutView = z.infer<typeof RolloutView>;

/** `POST /api/rollouts` answer: the rollout plus its plan. */
export const RolloutPlan = RolloutView.extend({
  dryRun: z.boolean(),
  /** What will probably go wrong, e.g. an image that is not an ESP8266 application image (issue 12 §18). */
  warnings: z.array(z.string()).describe('What will probably go wrong (e.g. an image nodes reject).'),
  batches: z.array(z.array(z.string())).describe('Node addresses batch by batch, the primary last.'),
});
export type RolloutPlanView = z.infer<typeof RolloutPlan>;
