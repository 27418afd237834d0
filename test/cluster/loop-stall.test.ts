import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LoopStallMeter } from '../../src/cluster/loop-stall.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { GatewayEvents } from '../../src/events/gateway-events.js';
import { silentLogger } from '../../src/logger.js';

/**
 * A gateway blocked for seconds (a starved CPU, a big flush) reads the heartbeats that waited in
 * its socket queue late: that is not the nodes' silence. Without this, at 10,000 nodes every
 * stall of ≥ 5 s looked like 10,000 reboots (a status read of each) and ≥ 10 s made them INACTIVE.
 */
describe('the gateway\'s own stalls are not nodes\' silence (issue 19)', () => {
  function setup() {
    let now = 1_000_000;
    let stalled = 0;
    const bus = new EventBus<GatewayEvents>(silentLogger());
    const resumed: GatewayEvents['node/resumed'][] = [];
    const statuses: string[] = [];
    bus.on('node/resumed', (e) => resumed.push(e));
    bus.on('node/discovery', (e) => e.action === 'status' && statuses.push(e.status));
    const registry = new NodeRegistry(bus, { activeThresholdMs: 10_000, deadThresholdMs: 60_000, removeDeadAfterMs: 300_000 }, silentLogger(), () => now, undefined, () => stalled);
    return { registry, resumed, statuses, pass: (ms: number, blocked = 0) => ((now += ms), (stalled += blocked)) };
  }

  it('a heartbeat read after a 6 s block is no resume; after 6 s of real silence it is', () => {
    const { registry, resumed, pass } = setup();
    registry.observe('10.0.0.1', 'n1');
    pass(6000, 5000); // blocked 5 of the 6 s
    registry.observe('10.0.0.1', 'n1');
    assert.equal(resumed.length, 0);
    pass(6000); // really silent
    registry.observe('10.0.0.1', 'n1');
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0]!.silentMs, 6000);
  });

  it('ageing after a 12 s block keeps the nodes ACTIVE; 12 s of real silence makes them INACTIVE', () => {
    const { registry, statuses, pass } = setup();
    registry.observe('10.0.0.1', 'n1');
    pass(12_000, 11_000);
    registry.age();
    assert.equal(registry.getByIp('10.0.0.1')!.status, 'ACTIVE');
    assert.deepEqual(statuses, []);
    pass(12_000);
    registry.age();
    assert.equal(registry.getByIp('10.0.0.1')!.status, 'INACTIVE');
  });

  it('LoopStallMeter counts a synchronous block of the event loop', async () => {
    const meter = new LoopStallMeter(20);
    meter.start();
    try {
      await new Promise((r) => setTimeout(r, 50));
      const before = meter.blockedMs();
      const until = Date.now() + 400;
      while (Date.now() < until) {
        // a block: nothing else can run
      }
      // Read at once, as a datagram queued during the block would be: the block is counted already.
      assert.ok(meter.blockedMs() - before >= 300, `counted ${meter.blockedMs() - before} ms of a 400 ms block`);
    } finally {
      meter.stop();
    }
  });
});

describe('sameJson (the member list comparison of cluster-manager.ts)', () => {
  it('equals what comparing JSON.stringify said for parsed JSON, and stops at differences', async () => {
    const { sameJson } = await import('../../src/cluster/cluster-manager.js');
    const a = [{ ip: '10.0.0.1', resources: { freeHeap: 1, x: [1, 2, { y: null }] }, labels: {} }];
    assert.equal(sameJson(a, JSON.parse(JSON.stringify(a))), true);
    assert.equal(sameJson(a, [{ ...a[0], resources: { freeHeap: 2, x: [1, 2, { y: null }] } }]), false);
    assert.equal(sameJson([1, 2], [1, 2, 3]), false);
    assert.equal(sameJson({ a: 1 }, { a: 1, b: undefined }), false);
    assert.equal(sameJson({ a: [] }, { a: {} }), false);
    assert.equal(sameJson(null, {}), false);
    assert.equal(sameJson({ a: { b: 'x' } }, { a: { b: 'x' } }), true);
  });
});
