import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { GatewayEvents } from '../../src/events/gateway-events.js';
import { silentLogger } from '../../src/logger.js';

function setup() {
  let now = 1_000_000;
  const bus = new EventBus<GatewayEvents>(silentLogger());
  const events: GatewayEvents['node/discovery'][] = [];
  const resumed: GatewayEvents['node/resumed'][] = [];
  bus.on('node/discovery', (e) => events.push(e));
  bus.on('node/resumed', (e) => resumed.push(e));
  const registry = new NodeRegistry(
    bus,
    { activeThresholdMs: 10_000, deadThresholdMs: 60_000, removeDeadAfterMs: 300_000 },
    silentLogger(),
    () => now,
  );
  return { registry, events, resumed, advance: (ms: number) => (now += ms), now: () => now };
}

describe('NodeRegistry (CONTRACT §2 ageing and identity)', () => {
  it('discovers a node once and refreshes lastSeen on every datagram', () => {
    const { registry, events, advance, now } = setup();
    registry.observe('10.0.0.1', 'esp-a', 4210);
    advance(1500);
    registry.observe('10.0.0.1', 'esp-a', 4210);
    assert.equal(registry.size, 1);
    assert.equal(registry.getByIp('10.0.0.1')!.lastSeen, now());
    assert.deepEqual(events, [{ action: 'discovered', nodeIp: '10.0.0.1', hostname: 'esp-a', status: 'ACTIVE' }]);
  });

  it('ages ACTIVE → INACTIVE after 10 s → DEAD after 60 s → removed after 5 min more', () => {
    const { registry, events, advance } = setup();
    registry.observe('10.0.0.1', 'esp-a');
    advance(10_000);
    registry.age();
    assert.equal(registry.getByIp('10.0.0.1')!.status, 'ACTIVE', 'exactly 10 s is still ACTIVE');
    advance(1);
    registry.age();
    assert.equal(registry.getByIp('10.0.0.1')!.status, 'INACTIVE');
    advance(50_000);
    registry.age();
    assert.equal(registry.getByIp('10.0.0.1')!.status, 'DEAD');
    advance(300_000);
    registry.age();
    assert.equal(registry.size, 0);
    assert.deepEqual(
      events.map((e) => `${e.action}:${e.status}`),
      ['discovered:ACTIVE', 'status:INACTIVE', 'status:DEAD', 'lost:DEAD'],
    );
  });

  it('a heartbeat revives an INACTIVE node at once and reports a resume after silence', () => {
    const { registry, events, resumed, advance } = setup();
    registry.observe('10.0.0.1', 'esp-a');
    advance(20_000);
    registry.age();
    registry.observe('10.0.0.1', 'esp-a');
    assert.equal(registry.getByIp('10.0.0.1')!.status, 'ACTIVE');
    assert.equal(events.at(-1)!.action, 'status');
    assert.equal(events.at(-1)!.status, 'ACTIVE');
    assert.equal(resumed.length, 1);
    assert.equal(resumed[0]!.silentMs, 20_000);
  });

  it('treats a hostname from a new IP as the same node at a new address', () => {
    const { registry, events } = setup();
    registry.observe('10.0.0.1', 'esp-a');
    const discoveredAt = registry.getByHostname('esp-a')!.discoveredAt;
    registry.observe('10.0.0.9', 'esp-a');
    assert.equal(registry.size, 1);
    assert.equal(registry.getByIp('10.0.0.1'), undefined);
    assert.equal(registry.getByIp('10.0.0.9')!.discoveredAt, discoveredAt);
    assert.deepEqual(events.at(-1), { action: 'address', nodeIp: '10.0.0.9', hostname: 'esp-a', status: 'ACTIVE', previousIp: '10.0.0.1' });
  });

  it('a new hostname at a known IP replaces the old node', () => {
    const { registry, events } = setup();
    registry.observe('10.0.0.1', 'esp-a');
    registry.observe('10.0.0.1', 'esp-b');
    assert.equal(registry.size, 1);
    assert.equal(registry.getByIp('10.0.0.1')!.hostname, 'esp-b');
    assert.deepEqual(
      events.map((e) => `${e.action}:${e.hostname}`),
      ['discovered:esp-a', 'lost:esp-a', 'discovered:esp-b'],
    );
  });

  it('applies NODE_UPDATE labels and version, and status polls', () => {
    const { registry } = setup();
    const node = registry.observe('10.0.0.1', 'esp-a')!;
    registry.applyUpdate(node, { labels: { room: 'hall' }, version: '2.0.0', uptime: 12 });
    assert.deepEqual(node.labels, { room: 'hall' });
    assert.equal(node.version, '2.0.0');
    registry.applyStatus(node, { freeHeap: 123, chipId: 9, api: [{ uri: '/x', method: 'GET' }], version: '2.0.1' }, 7.5);
    assert.deepEqual(node.resources, { freeHeap: 123, chipId: 9 });
    assert.deepEqual(node.api, [{ uri: '/x', method: 'GET' }]);
    assert.equal(node.latency, 7.5);
    assert.equal(node.version, '2.0.1');
  });

  it('shares one capped API list and labels object between nodes that describe themselves alike (issue 19)', () => {
    const { registry } = setup();
    const api = [{ uri: '/api/node/status', method: 'GET' }, { uri: '/api/led', method: 'POST', params: [{ name: 'color', location: 'body' }] }];
    // Each node's answer is parsed on its own: equal content, distinct objects.
    const answer = (extra: Record<string, unknown> = {}) => JSON.parse(JSON.stringify({ freeHeap: 1, api, labels: { role: 'sensor' }, ...extra })) as Record<string, unknown>;
    const [a, b, c] = ['esp-a', 'esp-b', 'esp-c'].map((h, i) => registry.observe(`10.0.0.${i + 1}`, h)!);
    registry.applyStatus(a!, answer(), 1);
    registry.applyStatus(b!, answer(), 1);
    registry.applyUpdate(c!, answer({ api: [...api, null], labels: { role: 'actuator' } }));
    assert.equal(b!.api, a!.api, 'equal lists: one instance');
    assert.equal(b!.labels, a!.labels);
    assert.deepEqual(a!.api, api);
    assert.equal(c!.api, a!.api, 'a list that caps to the same (a null dropped) shares it too');
    assert.equal(registry.stats.droppedFields, 1);
    assert.notEqual(c!.labels, a!.labels);
    assert.deepEqual(c!.labels, { role: 'actuator' });
    // A node changing its list gets its own; the others keep theirs.
    registry.applyStatus(b!, answer({ api: [api[0]] }), 1);
    assert.deepEqual(b!.api, [api[0]]);
    assert.deepEqual(a!.api, api);
    // A hostname taken out of a longer datagram text is kept equal.
    const text = 'NODE_UPDATE:spore-node-0001:{"labels":{}}';
    const d = registry.observe('10.0.0.9', text.slice(12, 27))!;
    assert.equal(d.hostname, 'spore-node-0001');
    assert.equal(registry.getByHostname('spore-node-0001'), d);
  });

  it('touch refreshes only known nodes', () => {
    const { registry, advance } = setup();
    assert.equal(registry.touch('10.0.0.1'), undefined);
    assert.equal(registry.size, 0);
    registry.observe('10.0.0.1', 'esp-a');
    advance(5000);
    const node = registry.touch('10.0.0.1')!;
    assert.equal(node.hostname, 'esp-a');
  });
});
