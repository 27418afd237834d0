import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { NodeRecord } from '../../src/cluster/node-registry.js';
import { GatewayError } from '../../src/errors.js';
import { batchesOf, parseRolloutRequest, planRollout } from '../../src/firmware/rollout-planner.js';

function node(ip: string, labels: Record<string, string> = {}, extra: Partial<NodeRecord> = {}): NodeRecord {
  return {
    ip,
    port: 4210,
    hostname: `h-${ip.split('.').at(-1)}`,
    status: 'ACTIVE',
    discoveredAt: 0,
    lastSeen: 0,
    labels,
    resources: null,
    api: [],
    latency: null,
    version: '1.0.0',
    uptime: 100,
    lastPolledAt: null,
    ...extra,
  };
}

const DEFAULTS = { batchSize: 1, maxFailures: 0, bootTimeoutSec: 60 };

describe('rollout planning', () => {
  it('orders by address numerically, the primary last and alone, in batches', () => {
    const nodes = [node('10.0.0.10'), node('10.0.0.9'), node('10.0.0.2'), node('10.0.0.100'), node('10.0.0.3')];
    const plan = planRollout({}, nodes, '10.0.0.3', '2.0.0', 2);
    assert.deepEqual(
      plan.nodes.map((n) => n.ip),
      ['10.0.0.2', '10.0.0.9', '10.0.0.10', '10.0.0.100', '10.0.0.3'],
    );
    assert.deepEqual(plan.batches, [['10.0.0.2', '10.0.0.9'], ['10.0.0.10', '10.0.0.100'], ['10.0.0.3']]);
    assert.deepEqual(batchesOf(['a', 'b', 'c'], null, 5), [['a', 'b', 'c']]);
  });

  it('targets labels and addresses together, skipping nodes not ACTIVE or already up to date', () => {
    const nodes = [
      node('10.0.0.1', { ring: 'canary' }),
      node('10.0.0.2', { ring: 'canary' }, { status: 'INACTIVE' }),
      node('10.0.0.3', { ring: 'canary' }, { version: '2.0.0' }),
      node('10.0.0.4', { ring: 'stable' }),
    ];
    const plan = planRollout({ labels: { ring: 'canary' } }, nodes, null, '2.0.0', 1);
    assert.deepEqual(plan.nodes.map((n) => [n.ip, n.state]), [['10.0.0.1', 'pending'], ['10.0.0.2', 'skipped'], ['10.0.0.3', 'skipped']]);
    assert.match(plan.nodes[1]!.error!, /was INACTIVE when the rollout was planned/);
    assert.match(plan.nodes[2]!.error!, /already on version 2\.0\.0/);
    const both = planRollout({ labels: { ring: 'canary' }, ips: ['10.0.0.1', '10.0.0.4'] }, nodes, null, '2.0.0', 1);
    assert.deepEqual(both.nodes.map((n) => n.ip), ['10.0.0.1']);
    assert.throws(() => planRollout({ ips: ['10.0.0.9'] }, nodes, null, null, 1), (e: unknown) => e instanceof GatewayError && e.status === 404);
    assert.throws(() => planRollout({ labels: { ring: 'none' } }, nodes, null, null, 1), (e: unknown) => e instanceof GatewayError && e.code === 'invalid_rollout');
  });

  it('validates requests, reporting every problem at once, and fills defaults', () => {
    const ok = parseRolloutRequest({ firmwareId: 'f', target: {} }, DEFAULTS);
    assert.deepEqual(ok, {
      firmwareId: 'f',
      image: null,
      target: {},
      batchSize: 1,
      maxFailures: 0,
      bootTimeoutSec: 60,
      dryRun: false,
      startAt: null,
      window: null,
      dynamic: false,
      dynamicForHours: 24,
      autoRollback: false,
    });
    // Issue 17: schedule, window, late joiners, rollback — every problem named with its field.
    const scheduled = parseRolloutRequest(
      { firmwareId: 'f', target: { labels: { a: 'b' } }, startAt: '2026-12-01T02:00:00+01:00', window: { days: ['sat', 'sun'], from: '02:00', to: '05:00', timezone: 'Europe/Berlin' }, dynamic: true, dynamicForHours: 2, autoRollback: true },
      DEFAULTS,
    );
    assert.equal(scheduled.startAt, '2026-12-01T01:00:00.000Z');
    assert.deepEqual(scheduled.window, { days: ['sat', 'sun'], from: '02:00', to: '05:00', timezone: 'Europe/Berlin' });
    assert.equal(scheduled.dynamicForHours, 2);
    assert.throws(
      () =>
        parseRolloutRequest(
          { firmwareId: 'f', target: { ips: ['10.0.0.1'] }, startAt: 'tomorrow', window: { days: ['someday'], from: '25:00', to: '5', timezone: 'Mars/Olympus' }, dynamic: true },
          DEFAULTS,
        ),
      (e: unknown) =>
        e instanceof GatewayError &&
        /startAt: must be an RFC3339 date-time/.test(e.message) &&
        /window\.days\.0: days are mon, tue/.test(e.message) &&
        /window\.from: a local time "HH:MM"/.test(e.message) &&
        /window\.to: a local time "HH:MM"/.test(e.message) &&
        /window\.timezone: an IANA time zone/.test(e.message),
    );
    assert.throws(
      () => parseRolloutRequest({ firmwareId: 'f', target: { ips: ['10.0.0.1'] }, dynamic: true }, DEFAULTS),
      (e: unknown) => e instanceof GatewayError && /dynamic: a dynamic rollout must target labels/.test(e.message),
    );
    assert.throws(
      () => parseRolloutRequest({ firmwareId: 'f', target: { labels: { 'bad key': 'x' } }, batchSize: 0, bootTimeoutSec: 9999, extra: 1 }, DEFAULTS),
      (e: unknown) =>
        e instanceof GatewayError &&
        /target\.labels\.bad key/.test(e.message) &&
        /batchSize: must be an integer 1-1000/.test(e.message) &&
        /bootTimeoutSec: must be an integer 1-3600/.test(e.message) &&
        /unknown field\(s\) "extra"/.test(e.message),
    );
  });
});
