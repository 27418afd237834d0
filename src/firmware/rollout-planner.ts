import { z } from 'zod';
import type { NodeRecord } from '../cluster/node-registry.js';
import { GatewayError } from '../errors.js';
import { isValidIpv4 } from '../protocol/ip.js';
import type { RolloutNodeRecord } from './rollout-repository.js';
import type { RolloutTarget } from './rollout-types.js';

export interface RolloutRequest {
  firmwareId: string;
  target: RolloutTarget;
  batchSize: number;
  maxFailures: number;
  bootTimeoutSec: number;
  dryRun: boolean;
}

export interface RolloutDefaults {
  batchSize: number;
  maxFailures: number;
  bootTimeoutSec: number;
}

const LABEL_KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;

const requestSchema = z
  .object({
    firmwareId: z.string({ error: 'required: the id of a stored firmware (GET /api/firmware)' }).min(1, 'must not be empty').max(64, 'at most 64 characters'),
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
  })
  .strict();

/** Validates a `POST /api/rollouts` body; every problem is reported at once, each with its field. */
export function parseRolloutRequest(body: unknown, defaults: RolloutDefaults): RolloutRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_rollout', 'Send a JSON object {firmwareId, target: {labels?, ips?}, batchSize?, maxFailures?, bootTimeoutSec?, dryRun?}.');
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
    firmwareId: r.firmwareId,
    target: { ...(r.target.labels ? { labels: r.target.labels } : {}), ...(r.target.ips ? { ips: r.target.ips } : {}) },
    batchSize: r.batchSize ?? defaults.batchSize,
    maxFailures: r.maxFailures ?? defaults.maxFailures,
    bootTimeoutSec: r.bootTimeoutSec ?? defaults.bootTimeoutSec,
    dryRun: r.dryRun ?? false,
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
  if (matched.length === 0) {
    const labels = Object.entries(target.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(', ');
    throw new GatewayError('invalid_rollout', `no known node matches the target${labels ? ` (labels ${labels})` : ''}; see GET /api/discovery/nodes`);
  }
  const byAddress = [...matched].sort((a, b) => ipOrder(a.ip) - ipOrder(b.ip));
  const toUpdate = byAddress.filter((n) => n.status === 'ACTIVE' && !(expectedVersion !== null && n.version === expectedVersion));
  const ordered = [...toUpdate.filter((n) => n.ip !== primaryIp), ...toUpdate.filter((n) => n.ip === primaryIp)];
  const skipped = byAddress.filter((n) => !toUpdate.includes(n));
  const nodes: RolloutNodeRecord[] = [...ordered, ...skipped].map((n, position) => {
    const skip = !toUpdate.includes(n);
    return {
      position,
      hostname: n.hostname,
      ip: n.ip,
      state: skip ? 'skipped' : 'pending',
      progress: 0,
      error: skip ? (n.status !== 'ACTIVE' ? `the node was ${n.status} when the rollout was planned` : `already on version ${n.version}`) : null,
      attempts: 0,
      previousVersion: n.version,
    };
  });
  return { nodes, batches: batchesOf(ordered.map((n) => n.ip), primaryIp, batchSize) };
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
