import { z } from 'zod';
import type { NodeRecord } from '../cluster/node-registry.js';
import { GatewayError } from '../errors.js';
import { isValidIpv4 } from '../protocol/ip.js';
import type { RolloutNodeRecord } from './rollout-repository.js';
import { doesNotFit } from './flash-fit.js';
import { isValidTimezone, parseClock } from './maintenance-window.js';
import { WEEKDAYS, type MaintenanceWindow, type RolloutTarget } from './rollout-types.js';

export interface RolloutRequest {
  /** The stored image; '' when a dry run plans an unsaved `image` instead. */
  firmwareId: string;
  /** A dry run against an image that is not stored (issue 12 §17): what `POST /api/firmware` with dryRun=true answered. */
  image: UnsavedImage | null;
  target: RolloutTarget;
  batchSize: number;
  maxFailures: number;
  bootTimeoutSec: number;
  dryRun: boolean;
  /** Issue 17 §5-7. */
  startAt: string | null;
  window: MaintenanceWindow | null;
  dynamic: boolean;
  dynamicForHours: number;
  autoRollback: boolean;
}

export interface RolloutDefaults {
  batchSize: number;
  maxFailures: number;
  bootTimeoutSec: number;
}

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
/** Late joiners are taken this long by default, hours. */
const DEFAULT_DYNAMIC_HOURS = 24;

const NAME = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/;

/** An image a dry run plans without it being stored: the fields of a FirmwareCheck the plan needs. */
const unsavedImageSchema = z
  .object(
    {
      name: z.string().regex(NAME, '1-64 of letters, digits, ".", "_", "-", "+"'),
      version: z.string().regex(NAME, '1-64 of letters, digits, ".", "_", "-", "+"'),
      imageVersion: z.string().max(64).nullable().optional(),
      size: z.number().int().min(1),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits'),
      imageBytes: z.number().int().min(1),
      espImage: z.boolean(),
      signedBy: z.string().max(64).nullable().optional(),
    },
    { error: 'an object {name, version, imageVersion?, size, sha256, imageBytes, espImage, signedBy?}: the answer of POST /api/firmware with dryRun=true' },
  )
  .strict();
export type UnsavedImage = z.infer<typeof unsavedImageSchema>;

const requestSchema = z
  .object({
    firmwareId: z.string({ error: 'required: the id of a stored firmware (GET /api/firmware)' }).min(1, 'must not be empty').max(64, 'at most 64 characters').optional(),
    image: unsavedImageSchema.optional(),
    target: z
      .object(
        {
          labels: z
            .record(z.string().regex(LABEL_KEY, 'label keys are 1-64 of letters, digits, ".", "_", "/", "-"'), z.string({ error: 'label values must be strings' }).max(256))
            .optional(),
          ips: z
            .array(z.string().refine(isValidIpv4, 'must be dotted-quad IPv4 addresses such as 192.168.1.100'), { error: 'must be an array of IPv4 addresses' })
            .min(1, 'give at least one address, or leave "ips" out')
            .max(10_000)
            .optional(),
        },
        { error: 'required: an object {labels?: {k: v}, ips?: [..]}; {} targets every known node' },
      )
      .strict(),
    batchSize: z.number({ error: 'must be an integer 1-1000' }).int('must be an integer 1-1000').min(1, 'must be an integer 1-1000').max(1000, 'must be an integer 1-1000').optional(),
    maxFailures: z.number({ error: 'must be an integer >= 0' }).int('must be an integer >= 0').min(0, 'must be an integer >= 0').max(1_000_000).optional(),
    bootTimeoutSec: z.number({ error: 'must be an integer 1-3600 (seconds)' }).int('must be an integer 1-3600 (seconds)').min(1, 'must be an integer 1-3600 (seconds)').max(3600, 'must be an integer 1-3600 (seconds)').optional(),
    dryRun: z.boolean({ error: 'must be true or false' }).optional(),
    startAt: z
      .string({ error: 'must be an RFC3339 date-time such as 2026-12-01T02:00:00Z' })
      .regex(RFC3339, 'must be an RFC3339 date-time such as 2026-12-01T02:00:00Z')
      .refine((t) => Number.isFinite(Date.parse(t)), 'must be an RFC3339 date-time such as 2026-12-01T02:00:00Z')
      .optional(),
    window: z
      .object(
        {
          days: z
            .array(z.enum(WEEKDAYS, { error: `days are ${WEEKDAYS.join(', ')}` }), { error: `an array of ${WEEKDAYS.join(', ')}` })
            .min(1, `give at least one of ${WEEKDAYS.join(', ')}`),
          from: z.string({ error: 'a local time "HH:MM" (24 h)' }).refine((t) => parseClock(t) !== null, 'a local time "HH:MM" (24 h), e.g. "02:00"'),
          to: z.string({ error: 'a local time "HH:MM" (24 h)' }).refine((t) => parseClock(t) !== null, 'a local time "HH:MM" (24 h), e.g. "05:00"'),
          timezone: z.string().refine(isValidTimezone, 'an IANA time zone such as "UTC" or "Europe/Berlin"').optional(),
        },
        { error: 'an object {days: ["mon", ...], from: "02:00", to: "05:00", timezone?}' },
      )
      .strict()
      .optional(),
    dynamic: z.boolean({ error: 'must be true or false' }).optional(),
    dynamicForHours: z.number({ error: 'must be a number of hours, more than 0 and at most 720' }).positive('must be a number of hours, more than 0 and at most 720').max(720, 'must be a number of hours, more than 0 and at most 720').optional(),
    autoRollback: z.boolean({ error: 'must be true or false' }).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    if (r.firmwareId === undefined && r.image === undefined) {
      ctx.addIssue({ code: 'custom', path: ['firmwareId'], message: 'required: the id of a stored firmware (GET /api/firmware)' });
    }
    if (r.firmwareId !== undefined && r.image !== undefined) ctx.addIssue({ code: 'custom', path: ['image'], message: 'give firmwareId or image, not both' });
    if (r.image !== undefined && r.dryRun !== true) {
      ctx.addIssue({ code: 'custom', path: ['image'], message: 'an unsaved image can only be planned with dryRun: true; store it first (POST /api/firmware) and give its firmwareId' });
    }
    if (r.dynamic && (!r.target?.labels || Object.keys(r.target.labels).length === 0 || r.target.ips)) {
      ctx.addIssue({ code: 'custom', path: ['dynamic'], message: 'a dynamic rollout must target labels (target.labels), without target.ips' });
    }
    if (r.dynamicForHours !== undefined && !r.dynamic) ctx.addIssue({ code: 'custom', path: ['dynamicForHours'], message: 'only with dynamic: true' });
  });

/** The `POST /api/rollouts` body; also shown in the OpenAPI document (api/openapi/route-docs.ts). */
export { requestSchema as rolloutRequestSchema };

/** Validates a `POST /api/rollouts` body; every problem is reported at once, each with its field. */
export function parseRolloutRequest(body: unknown, defaults: RolloutDefaults): RolloutRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError(
      'invalid_rollout',
      'Send a JSON object {firmwareId, target: {labels?, ips?}, batchSize?, maxFailures?, bootTimeoutSec?, dryRun?, startAt?, window?, dynamic?, dynamicForHours?, autoRollback?}.',
    );
  }
  const result = requestSchema.safeParse(body);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(body)';
      if (issue.code === 'unrecognized_keys') {
        return `${path === '(body)' ? '' : `${path}: `}unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
      }
      return `${path}: ${issue.message}`;
    });
    throw new GatewayError('invalid_rollout', problems.join('; '));
  }
  const r = result.data;
  return {
    firmwareId: r.firmwareId ?? '',
    image: r.image ?? null,
    target: { ...(r.target.labels ? { labels: r.target.labels } : {}), ...(r.target.ips ? { ips: r.target.ips } : {}) },
    batchSize: r.batchSize ?? defaults.batchSize,
    maxFailures: r.maxFailures ?? defaults.maxFailures,
    bootTimeoutSec: r.bootTimeoutSec ?? defaults.bootTimeoutSec,
    dryRun: r.dryRun ?? false,
    startAt: r.startAt ? new Date(r.startAt).toISOString() : null,
    window: r.window ? { days: r.window.days, from: r.window.from, to: r.window.to, timezone: r.window.timezone ?? 'UTC' } : null,
    dynamic: r.dynamic ?? false,
    dynamicForHours: r.dynamicForHours ?? DEFAULT_DYNAMIC_HOURS,
    autoRollback: r.autoRollback ?? false,
  };
}

export interface Plan {
  /** Every targeted node, in update order (the primary last); some already settled as skipped. */
  nodes: RolloutNodeRecord[];
  /** Addresses batch by batch as planned now. */
  batches: string[][];
}

/**
 * Resolves the target against the registry. Nodes that are not ACTIVE, or
 * already report the image's version, are recorded as `skipped` with the
 * reason; the others are ordered by address, the primary last and alone.
 */
export function planRollout(
  target: RolloutTarget,
  known: readonly NodeRecord[],
  primaryIp: string | null,
  expectedVersion: string | null,
  batchSize: number,
  /** Inflated image size, bytes: a node without room for it is skipped with the reason (issue 17 §2). */
  imageBytes: number | null = null,
  /** A dynamic rollout may start with no node matching yet: late joiners are its point. */
  allowEmpty = false,
): Plan {
  if (target.ips) {
    const unknown = target.ips.filter((ip) => !known.some((n) => n.ip === ip));
    if (unknown.length > 0) {
      throw new GatewayError('node_not_found', `no discovered node has IP ${unknown.join(', ')}; see GET /api/discovery/nodes`);
    }
  }
  const matched = known.filter(
    (n) =>
      (!target.ips || target.ips.includes(n.ip)) &&
      Object.entries(target.labels ?? {}).every(([k, v]) => n.labels[k] === v),
  );
  if (matched.length === 0 && !allowEmpty) {
    const labels = Object.entries(target.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
    throw new GatewayError('invalid_rollout', `no known node matches the target${labels ? ` (labels ${labels})` : ''}; see GET /api/discovery/nodes`);
  }
  const byAddress = [...matched].sort((a, b) => ipOrder(a.ip) - ipOrder(b.ip));
  const skipReason = (n: NodeRecord): string | null => planSkipReason(n, expectedVersion, imageBytes);
  const toUpdate = byAddress.filter((n) => skipReason(n) === null);
  const ordered = [...toUpdate.filter((n) => n.ip !== primaryIp), ...toUpdate.filter((n) => n.ip === primaryIp)];
  const skipped = byAddress.filter((n) => !toUpdate.includes(n));
  const nodes: RolloutNodeRecord[] = [...ordered, ...skipped].map((n, position) => {
    const why = skipReason(n);
    return newNodeRecord(n, position, why);
  });
  return { nodes, batches: batchesOf(ordered.map((n) => n.ip), primaryIp, batchSize) };
}

/** Why a node is not updated (not ACTIVE, already on the version, no room for the image), or null. */
export function planSkipReason(n: NodeRecord, expectedVersion: string | null, imageBytes: number | null): string | null {
  if (n.status !== 'ACTIVE') return `the node was ${n.status} when the rollout was planned`;
  if (expectedVersion !== null && n.version === expectedVersion) return `already on version ${n.version}`;
  if (imageBytes !== null) return doesNotFit(imageBytes, n.resources);
  return null;
}

/** A rollout's record of one node: pending, or skipped with `skipped`'s reason. */
export function newNodeRecord(n: NodeRecord, position: number, skipped: string | null): RolloutNodeRecord {
  return {
    position,
    hostname: n.hostname,
    ip: n.ip,
    state: skipped !== null ? 'skipped' : 'pending',
    progress: 0,
    error: skipped,
    attempts: 0,
    previousVersion: n.version,
    firmwareId: null,
    expectedVersion: null,
    previousFirmwareId: null,
  };
}

/** Pending addresses in batches of `batchSize`, the primary alone at the end. */
export function batchesOf(ips: readonly string[], primaryIp: string | null, batchSize: number): string[][] {
  const others = ips.filter((ip) => ip !== primaryIp);
  const batches: string[][] = [];
  for (let i = 0; i < others.length; i += batchSize) batches.push(others.slice(i, i + batchSize));
  if (primaryIp !== null && ips.includes(primaryIp)) batches.push([primaryIp]);
  return batches;
}

/** Numeric order of dotted-quad addresses (10.0.0.9 before 10.0.0.10). */
function ipOrder(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}
