import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { GatewayEvents } from '../../src/events/gateway-events.js';
import { HistoryService } from '../../src/history/history-service.js';
import { silentLogger } from '../../src/logger.js';

/**
 * A node's free heap and latency are recorded when they were refreshed since the last sample
 * (issue 19: at 10,000 nodes the member list comes every 20 s, the sample every 10 s — half the
 * rows were repeats). Samples are taken by calling the service's sampler directly: no timers.
 */
describe('history: node samples only of refreshed figures (issue 19)', () => {
  it('records free heap and latency after a refresh, not again before the next one', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'spore-hist-samples-'));
    const bus = new EventBus<GatewayEvents>(silentLogger());
    const registry = new NodeRegistry(bus, { activeThresholdMs: 10_000, deadThresholdMs: 60_000, removeDeadAfterMs: 300_000 }, silentLogger());
    const history = new HistoryService({ config: { enabled: true, rawRetentionHours: 24, minuteRetentionDays: 30, maxBytes: 1 << 30, flushIntervalMs: 600_000, nodeSampleIntervalMs: 600_000 }, dataDir, registry, bus, logger: silentLogger() });
    history.start();
    try {
      const a = registry.observe('10.0.0.1', 'node-a')!;
      const b = registry.observe('10.0.0.2', 'node-b')!;
      const sample = () => (history as unknown as { sampleNodes(): void }).sampleNodes();
      // Every sample the service hands the store, by series (two samples may share a ms).
      const recorded = new Map<string, number>();
      const store = history.historyStore!;
      const record = store.record.bind(store);
      store.record = (name, t, v, unit) => (recorded.set(name, (recorded.get(name) ?? 0) + 1), record(name, t, v, unit));
      const points = (metric: string, hostname: string) => recorded.get(`nodes/${hostname}/${metric}`) ?? 0;
      registry.applyMember(a, { latency: 5, resources: { freeHeap: 30_000 } });
      registry.applyMember(b, { latency: 7, resources: { freeHeap: 31_000 } });
      sample();
      sample(); // nothing refreshed: no new free heap / latency point
      registry.applyMember(a, { latency: 6, resources: { freeHeap: 29_000 } });
      sample();
      assert.equal(points('freeHeap', 'node-a'), 2, 'node-a: two refreshes, two points');
      assert.equal(points('latency', 'node-a'), 2);
      assert.equal(points('freeHeap', 'node-b'), 1, 'node-b: one refresh, one point');
      assert.equal(points('latency', 'node-b'), 1);
      assert.ok(points('status', 'node-b') >= 1, 'the status is still recorded');
      const stored = history.query({ series: 'nodes/node-a/freeHeap', from: '0' }).series[0]!;
      // From the epoch: minute aggregates of the two readings.
      assert.deepEqual([Math.min(...stored.min), Math.max(...stored.max)], [29_000, 30_000], `what was sampled reaches the store: ${JSON.stringify(stored)}`);
    } finally {
      history.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
