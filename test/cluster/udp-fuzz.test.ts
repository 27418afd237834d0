import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import fc from 'fast-check';
import { decodeDatagram } from '../../src/protocol/datagram.js';
import { startTestGateway, http } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';

/** Arbitrary byte strings biased towards almost-valid SPORE datagrams. */
const prefixes = ['CLUSTER_DISCOVERY', 'CLUSTER_RESPONSE:', 'CLUSTER_HEARTBEAT:', 'NODE_UPDATE:', 'CLUSTER_EVENT:', 'RAW:', 'CLUSTER_', 'NODE_UPDATE:x:'];
const junkArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.tuple(fc.constantFrom(...prefixes), fc.string({ maxLength: 100 })).map(([p, s]) => new TextEncoder().encode(p + s)),
  fc.tuple(fc.constantFrom('CLUSTER_HEARTBEAT:', 'CLUSTER_RESPONSE:', 'NODE_UPDATE:'), fc.string({ unit: 'binary', maxLength: 80 })).map(([p, s]) =>
    new TextEncoder().encode(p + s),
  ),
  fc.json().map((j) => new TextEncoder().encode(`NODE_UPDATE:bad host:${j}`)),
  fc.json().map((j) => new TextEncoder().encode(`CLUSTER_EVENT:${j}`)),
);

/** Datagrams that must be junk whatever follows: an invalid hostname or prefix. */
const alwaysJunkArb = fc.oneof(
  fc.string({ maxLength: 60 }).map((s) => new TextEncoder().encode(`CLUSTER_HEARTBEAT:${s} /`)),
  fc.string({ maxLength: 60 }).map((s) => new TextEncoder().encode(`NODE_UPDATE:${s}#:{}`)),
  fc.uint8Array({ minLength: 1, maxLength: 200 }).map((b) => Uint8Array.from([0xff, ...b])),
  fc.string({ maxLength: 60 }).map((s) => new TextEncoder().encode(`CLUSTER_RESPONSE:${'x'.repeat(65)}${s}`)),
);

describe('UDP robustness (CONTRACT §2: junk is dropped and counted)', () => {
  it('never throws on 20,000 arbitrary datagrams', () => {
    fc.assert(
      fc.property(junkArb, (bytes) => {
        const r = decodeDatagram(bytes);
        assert.equal(typeof r.ok, 'boolean');
      }),
      { numRuns: 20_000 },
    );
  });

  it('10,000 malformed datagrams over a real socket change no state and do not crash the gateway', async () => {
    const gw = await startTestGateway();
    const sender = dgram.createSocket('udp4');
    await new Promise<void>((r) => sender.bind(0, '127.0.0.1', () => r()));
    try {
      const samples = fc.sample(alwaysJunkArb, { numRuns: 10_000, seed: 42 });
      for (const bytes of samples) assert.equal(decodeDatagram(bytes).ok, false);
      const stats = gw.gateway.discovery.stats;
      const junkBefore = stats.junk;
      // Sender and gateway share one event loop here: send in bursts and let each be counted
      // before the next, so the kernel's socket buffer never overflows.
      for (let i = 0; i < samples.length; i += 100) {
        const burst = samples.slice(i, i + 100);
        await Promise.all(burst.map((b) => new Promise<void>((r) => sender.send(b, gw.udpPort, '127.0.0.1', () => r()))));
        await waitFor(() => stats.junk - junkBefore >= i + burst.length, `burst ${i} counted`, 5000, 5);
      }
      await waitFor(() => stats.junk - junkBefore >= samples.length, 'all junk counted', 20_000);
      assert.equal(stats.junk - junkBefore, samples.length);
      assert.equal(gw.gateway.registry.size, 0, 'junk created no node');
      const health = await http(`${gw.url}/api/health`);
      assert.equal(health.status, 200);
      assert.equal(health.body.components.udp.status, 'up');
      const nodes = await http(`${gw.url}/api/discovery/nodes`);
      assert.equal(nodes.body.totalNodes, 0);
    } finally {
      sender.close();
      await gw.stop();
    }
  });
});
