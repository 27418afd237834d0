import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { waitFor } from '../helpers/net.js';

describe('primary failover and node ageing (thresholds shortened)', () => {
  let gw: TestGateway | undefined;
  let sim: TestSim | undefined;
  let ws: WsRecorder | undefined;
  afterEach(async () => {
    ws?.close();
    await sim?.stop();
    await gw?.stop();
    gw = sim = ws = undefined;
  });

  it('a killed primary is replaced, with cluster/primary reason "failover"', async () => {
    gw = await startTestGateway();
    ws = await WsRecorder.connect(gw.url);
    sim = await startSim(gw, 3);
    const first = await waitFor(() => gw!.gateway.cluster.primaryNode, 'initial primary');
    await waitFor(() => gw!.gateway.registry.size === 3, '3 nodes');
    sim.kill(sim.ips.indexOf(first));
    const msg = await ws.waitFor((m) => m.topic === 'cluster/primary' && m.reason === 'failover', 'failover message', 15_000);
    assert.equal(msg.previous, first);
    assert.notEqual(msg.primaryNode, first);
    assert.ok(sim.ips.includes(msg.primaryNode));
    const nodes = await http(`${gw.url}/api/discovery/nodes`);
    assert.equal(nodes.body.primaryNode, msg.primaryNode);
    const members = await http(`${gw.url}/api/cluster/members`);
    assert.equal(members.status, 200, 'the new primary answers');
  });

  it('fails over on consecutive failed HTTP checks while heartbeats continue', async () => {
    gw = await startTestGateway();
    ws = await WsRecorder.connect(gw.url);
    sim = await startSim(gw, 2);
    const first = await waitFor(() => gw!.gateway.cluster.primaryNode, 'initial primary');
    await waitFor(() => gw!.gateway.registry.size === 2, '2 nodes');
    sim.slow(sim.ips.indexOf(first), 5000); // answers later than the 1.5 s test timeout
    const msg = await ws.waitFor((m) => m.topic === 'cluster/primary' && m.reason === 'failover', 'failover on HTTP checks', 15_000);
    assert.equal(msg.previous, first);
    assert.equal(gw.gateway.registry.getByIp(first)?.status, 'ACTIVE', 'the old primary still sends heartbeats');
  });

  it('ages a silent node ACTIVE → INACTIVE → DEAD and brings it back', async () => {
    gw = await startTestGateway();
    ws = await WsRecorder.connect(gw.url);
    sim = await startSim(gw, 2);
    await waitFor(() => gw!.gateway.registry.size === 2, '2 nodes');
    const victim = sim.ips[1]!;
    sim.kill(1);
    await ws.waitFor((m) => m.topic === 'node/discovery' && m.nodeIp === victim && m.status === 'INACTIVE', 'INACTIVE');
    await ws.waitFor((m) => m.topic === 'node/discovery' && m.nodeIp === victim && m.status === 'DEAD', 'DEAD');
    const list = await http(`${gw.url}/api/discovery/nodes`);
    assert.equal(list.body.nodes.find((n: { ip: string }) => n.ip === victim).status, 'DEAD');
    const health = await http(`${gw.url}/api/health`);
    assert.equal(health.body.components.nodes.DEAD, 1);
    await sim.revive(1);
    await ws.waitFor((m) => m.topic === 'node/discovery' && m.nodeIp === victim && m.action === 'status' && m.status === 'ACTIVE', 'ACTIVE again');
  });

  it('a muted node (HTTP alive, no heartbeats) still goes INACTIVE; no primary → 503', async () => {
    gw = await startTestGateway();
    sim = await startSim(gw, 1);
    await waitFor(() => gw!.gateway.cluster.primaryNode, 'primary');
    sim.mute(0, true);
    await waitFor(() => gw!.gateway.registry.getByIp(sim!.ips[0]!)?.status === 'INACTIVE', 'INACTIVE');
    const random = await http(`${gw.url}/api/discovery/random-primary`, { method: 'POST' });
    assert.equal(random.status, 503);
    assert.deepEqual(Object.keys(random.body).sort(), ['error', 'message']);
    const health = await http(`${gw.url}/api/health`);
    assert.equal(health.body.status, 'degraded');
  });

  it('no node at all: members → 503 with the error shape', async () => {
    gw = await startTestGateway();
    const res = await http(`${gw.url}/api/cluster/members`);
    assert.equal(res.status, 503);
    assert.equal(res.body.error, 'no_primary');
    assert.equal((await http(`${gw.url}/api/node/status`)).status, 503);
  });
});
