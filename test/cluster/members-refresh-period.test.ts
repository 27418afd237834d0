import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterManager } from '../../src/cluster/cluster-manager.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { GatewayEvents } from '../../src/events/gateway-events.js';
import { silentLogger } from '../../src/logger.js';
import type { NodeClient } from '../../src/node-client/node-client.js';
import { Interval } from '../../src/util/concurrency.js';
import { waitFor } from '../helpers/net.js';

/**
 * At 10,000 nodes the primary's member list is a 7 MB answer whose parse and apply cost ~200 ms
 * of CPU: re-read every 5 s that alone was ~4 % of a core plus the garbage. The background
 * re-read waits `membersRefreshMsPerNode` per known node when that is longer than the interval.
 */
describe('the member list refresh scales with the cluster (issue 19)', () => {
  const options = { ageingIntervalMs: 60_000, statusPollIntervalMs: 60_000, statusPollConcurrency: 1, membersRefreshIntervalMs: 5000, primaryCheckIntervalMs: 60_000, primaryFailureThreshold: 3 };
  function registryOf(nodes: number): NodeRegistry {
    const registry = new NodeRegistry(new EventBus<GatewayEvents>(silentLogger()), { activeThresholdMs: 10_000, deadThresholdMs: 60_000, removeDeadAfterMs: 300_000 }, silentLogger());
    for (let i = 0; i < nodes; i++) registry.observe(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, `n${i}`);
    return registry;
  }
  const client = {} as NodeClient;

  it('keeps the interval up to 2,500 nodes, then 2 ms per node; 0 turns the scaling off', () => {
    const bus = new EventBus<GatewayEvents>(silentLogger());
    const small = new ClusterManager(registryOf(100), client, bus, { ...options, membersRefreshMsPerNode: 2 }, silentLogger());
    assert.equal(small.membersRefreshPeriod(), 5000);
    const big = registryOf(10_000);
    assert.equal(new ClusterManager(big, client, bus, { ...options, membersRefreshMsPerNode: 2 }, silentLogger()).membersRefreshPeriod(), 20_000);
    assert.equal(new ClusterManager(big, client, bus, { ...options, membersRefreshMsPerNode: 0 }, silentLogger()).membersRefreshPeriod(), 5000);
    assert.equal(new ClusterManager(big, client, bus, options, silentLogger()).membersRefreshPeriod(), 5000, 'not set: the interval');
  });

  it('an Interval with a period function asks it again before every wait', async () => {
    const asked: number[] = [];
    let runs = 0;
    const timer = new Interval(() => (asked.push(asked.length), 1), () => void runs++, () => {});
    timer.start();
    await waitFor(() => runs >= 3, 'three runs');
    await timer.stop();
    assert.ok(asked.length >= 3, `asked before each wait: ${asked.length}`);
  });
});
