import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gatewaySuite } from '../helpers/suites.js';
import { sleep, waitFor } from '../helpers/net.js';

describe('gentle polling: node resources from the primary\'s member list (issue 19)', () => {
  // FAST_NODES: status poll and member refresh every 500 ms.
  const suite = gatewaySuite({ nodes: 3 });

  it('reads each node\'s own status once when it appears, then only the member list; a wanted read happens once', async () => {
    const { cluster, registry } = suite.gw.gateway;
    await waitFor(() => registry.list().every((n) => n.resources !== null && n.latency !== null), 'resources and latency of every node');
    // Steady state: four poll intervals without a status read (the member list carries the resources).
    await sleep(600);
    const reads = cluster.statusReads;
    assert.ok(reads >= 3, `each node read when it appeared: ${reads}`);
    await sleep(2000);
    assert.equal(cluster.statusReads, reads, 'no status read in steady state');
    assert.ok(registry.list().every((n) => n.resources && Object.keys(n.resources).length > 0));
    // After an OTA or when asked: one read of that node, then quiet again.
    const ip = suite.sim.ips[1]!;
    cluster.wantStatus(ip);
    await waitFor(() => cluster.statusReads === reads + 1, 'the wanted read');
    await sleep(1500);
    assert.equal(cluster.statusReads, reads + 1, 'only once');
    // A user opens a node's page: the UI calls GET /api/node/status/{ip}, which is that node's wanted
    // read, done at once and applied to the registry; the poll does not read it again.
    const other = suite.sim.ips[2]!;
    const node = registry.getByIp(other)!;
    // What the read wrote into the node's record, taken as it is written: the member list
    // (refreshed every 500 ms here) may overwrite the record before the answer is checked.
    const applied: unknown[] = [];
    const applyStatus = registry.applyStatus.bind(registry);
    registry.applyStatus = (n, status, latencyMs) => {
      applyStatus(n, status, latencyMs);
      if (n === node) applied.push(node.resources?.freeHeap);
    };
    const res = await fetch(`${suite.gw.url}/api/node/status/${other}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(typeof body.freeHeap, 'number', JSON.stringify(body));
    assert.equal(cluster.statusReads, reads + 2, 'opening the page is one read, counted');
    assert.ok(applied.includes(body.freeHeap), `the read is applied to the registry: ${JSON.stringify(applied)} has ${String(body.freeHeap)}`);
    registry.applyStatus = applyStatus;
    await sleep(1500);
    assert.equal(cluster.statusReads, reads + 2, 'and the poll does not read it again');
  });
});
