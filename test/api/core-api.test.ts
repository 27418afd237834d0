import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { waitFor } from '../helpers/net.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('REST API and WebSocket with emulated nodes (CONTRACT §4–5)', () => {
  let gw: TestGateway;
  let sim: TestSim;
  let ws: WsRecorder;

  before(async () => {
    gw = await startTestGateway();
    ws = await WsRecorder.connect(gw.url);
    sim = await startSim(gw, 3, { labels: { zone: 'test' } });
    await waitFor(async () => (await http(`${gw.url}/api/discovery/nodes`)).body.totalNodes === 3, '3 nodes discovered');
    await waitFor(() => gw.gateway.cluster.primaryNode, 'a primary');
  });

  after(async () => {
    ws?.close();
    await sim?.stop();
    await gw?.stop();
  });

  it('GET /api/discovery/nodes has the exact shape', async () => {
    const res = await http(`${gw.url}/api/discovery/nodes`);
    assert.equal(res.status, 200);
    const b = res.body;
    assert.deepEqual(Object.keys(b).sort(), ['clientBaseUrl', 'clientInitialized', 'nodes', 'primaryNode', 'totalNodes']);
    assert.equal(b.totalNodes, 3);
    assert.equal(b.clientInitialized, true);
    assert.ok(sim.ips.includes(b.primaryNode));
    assert.equal(b.clientBaseUrl, `http://${b.primaryNode}:${gw.nodePort}`);
    for (const n of b.nodes) {
      assert.deepEqual(Object.keys(n).sort(), ['discoveredAt', 'hostname', 'ip', 'isPrimary', 'labels', 'lastSeen', 'port', 'status']);
      assert.ok(sim.ips.includes(n.ip));
      assert.equal(typeof n.port, 'number');
      assert.equal(n.status, 'ACTIVE');
      assert.match(n.discoveredAt, RFC3339);
      assert.match(n.lastSeen, RFC3339);
      assert.equal(n.isPrimary, n.ip === b.primaryNode);
      assert.equal(n.labels.zone, 'test', 'labels from NODE_UPDATE');
    }
  });

  it('the WebSocket greets with cluster/update and reports discoveries', async () => {
    const first = ws.messages[0];
    assert.equal(first.topic, 'cluster/update');
    assert.ok(Array.isArray(first.members));
    assert.ok('primaryNode' in first && 'totalNodes' in first);
    assert.match(first.timestamp, RFC3339);
    const discovered = ws.byTopic('node/discovery').filter((m) => m.action === 'discovered');
    assert.equal(discovered.length, 3);
    for (const m of discovered) {
      assert.deepEqual(Object.keys(m).sort(), ['action', 'hostname', 'nodeIp', 'status', 'timestamp', 'topic']);
      assert.equal(m.status, 'ACTIVE');
    }
    const primary = await ws.waitFor((m) => m.topic === 'cluster/primary', 'cluster/primary');
    assert.deepEqual(Object.keys(primary).sort(), ['previous', 'primaryNode', 'reason', 'timestamp', 'topic']);
    assert.equal(primary.reason, 'initial');
    assert.equal(primary.previous, null);
    const update = await ws.waitFor((m) => m.topic === 'cluster/update' && m.totalNodes === 3, 'cluster/update with 3 nodes');
    assert.equal(update.members.length, 3);
  });

  it('GET /api/cluster/members passes the primary\'s view through', async () => {
    const res = await http(`${gw.url}/api/cluster/members`);
    assert.equal(res.status, 200);
    assert.ok(Array.isArray(res.body.members));
    assert.ok(res.body.members.length >= 1);
    for (const m of res.body.members) {
      for (const key of ['hostname', 'ip', 'lastSeen', 'latency', 'status', 'resources', 'api']) assert.ok(key in m, key);
    }
    const refresh = await http(`${gw.url}/api/cluster/refresh`, { method: 'POST' });
    assert.equal(refresh.status, 200);
    assert.equal(refresh.body.success, true);
    assert.ok(Array.isArray(refresh.body.members));
    assert.equal(refresh.body.primaryNode, gw.gateway.cluster.primaryNode);
  });

  it('node status, endpoints and tasks', async () => {
    const primary = gw.gateway.cluster.primaryNode!;
    const status = await http(`${gw.url}/api/node/status`);
    assert.equal(status.status, 200);
    for (const key of ['freeHeap', 'chipId', 'sdkVersion', 'cpuFreqMHz', 'flashChipSize', 'api']) assert.ok(key in status.body, key);
    const other = sim.ips.find((ip) => ip !== primary)!;
    const byIp = await http(`${gw.url}/api/node/status/${other}`);
    assert.equal(byIp.status, 200);
    assert.equal(typeof byIp.body.freeHeap, 'number');
    const endpoints = await http(`${gw.url}/api/node/endpoints?ip=${other}`);
    assert.equal(endpoints.status, 200);
    assert.equal(endpoints.body.ip, other);
    assert.ok(endpoints.body.endpoints.some((e: { uri: string; method: string }) => e.uri === '/api/node/status' && e.method === 'GET'));
    for (const e of endpoints.body.endpoints) assert.deepEqual(Object.keys(e).sort(), ['method', 'uri']);
    const primaryEndpoints = await http(`${gw.url}/api/node/endpoints`);
    assert.equal(primaryEndpoints.body.ip, primary);
    const tasks = await http(`${gw.url}/api/tasks/status?ip=${other}`);
    assert.equal(tasks.status, 200);
    assert.equal(typeof tasks.body.summary.totalTasks, 'number');
    assert.ok(Array.isArray(tasks.body.tasks));
    assert.equal(typeof tasks.body.system.freeHeap, 'number');
    const primaryTasks = await http(`${gw.url}/api/tasks/status`);
    assert.equal(primaryTasks.status, 200);
  });

  it('status and endpoint calls refuse bad and unknown IPs', async () => {
    assert.equal((await http(`${gw.url}/api/node/status/999.1.1.1`)).status, 400);
    assert.equal((await http(`${gw.url}/api/node/status/10.9.9.9`)).status, 404);
    const unknown = await http(`${gw.url}/api/tasks/status?ip=10.9.9.9`);
    assert.equal(unknown.status, 404);
    assert.deepEqual(Object.keys(unknown.body).sort(), ['error', 'message']);
    assert.equal((await http(`${gw.url}/api/node/endpoints?ip=nope`)).status, 400);
  });

  it('sets the primary manually and at random', async () => {
    const target = sim.ips.find((ip) => ip !== gw.gateway.cluster.primaryNode)!;
    const res = await http(`${gw.url}/api/discovery/primary/${target}`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(res.body.primaryNode, target);
    const msg = await ws.waitFor((m) => m.topic === 'cluster/primary' && m.reason === 'manual' && m.primaryNode === target, 'manual primary');
    assert.ok(msg.previous);
    assert.equal((await http(`${gw.url}/api/discovery/primary/1.2.3`, { method: 'POST' })).status, 400);
    assert.equal((await http(`${gw.url}/api/discovery/primary/10.1.2.3`, { method: 'POST' })).status, 404);
    const random = await http(`${gw.url}/api/discovery/random-primary`, { method: 'POST' });
    assert.equal(random.status, 200);
    assert.equal(random.body.success, true);
    assert.ok(sim.ips.includes(random.body.primaryNode));
    assert.equal(typeof random.body.message, 'string');
    await ws.waitFor((m) => m.topic === 'cluster/primary' && m.reason === 'random', 'random primary');
  });

  it('POST /api/discovery/refresh probes and answers', async () => {
    const res = await http(`${gw.url}/api/discovery/refresh`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(typeof res.body.message, 'string');
    assert.equal(res.body.totalNodes, 3);
    assert.ok('primaryNode' in res.body);
  });

  it('cluster events go to every node as CLUSTER_EVENT; node events come back on the WebSocket', async () => {
    const res = await http(`${gw.url}/api/cluster/event`, { body: { event: 'led/set', data: { color: '#ff0000' } } });
    assert.equal(res.status, 200);
    assert.deepEqual({ success: res.body.success, nodes: res.body.nodes }, { success: true, nodes: 3 });
    await waitFor(() => sim.receivedEvents().filter((e) => e.event === 'led/set').length === 3, 'all nodes got the event');
    assert.equal((await http(`${gw.url}/api/cluster/event`, { body: { data: 1 } })).status, 400);
    assert.equal((await http(`${gw.url}/api/cluster/event`, { body: '{oops', headers: { 'content-type': 'application/json' } })).status, 400);

    await sim.sendEvent(0, 'button/pressed', { count: 2 });
    const ev = await ws.waitFor((m) => m.topic === 'cluster/event' && m.event === 'button/pressed', 'cluster/event');
    assert.deepEqual(ev.data, { count: 2 });
    assert.equal(ev.nodeIp, sim.ips[0]);
    await sim.sendRaw(1, 'hello raw');
    const raw = await ws.waitFor((m) => m.topic === 'cluster/raw', 'cluster/raw');
    assert.deepEqual({ nodeIp: raw.nodeIp, data: raw.data }, { nodeIp: sim.ips[1], data: 'hello raw' });
  });

  it('POST /api/test/websocket reaches the clients', async () => {
    const res = await http(`${gw.url}/api/test/websocket`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.ok(res.body.clients >= 1);
    const msg = await ws.waitFor((m) => m.topic === 'test/websocket', 'test message');
    assert.equal(typeof msg.message, 'string');
  });

  it('health is healthy with ACTIVE nodes', async () => {
    const res = await http(`${gw.url}/api/health`);
    assert.equal(res.status, 200);
    assert.equal(res.body.status, 'healthy');
    assert.equal(res.body.components.nodes.ACTIVE, 3);
  });

  it('unknown routes and bad JSON answer with the error shape', async () => {
    const nf = await http(`${gw.url}/api/nope`);
    assert.equal(nf.status, 404);
    assert.deepEqual(Object.keys(nf.body).sort(), ['error', 'message']);
    const bad = await http(`${gw.url}/api/proxy-call`, { body: '{"ip":', headers: { 'content-type': 'application/json' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_json');
    assert.doesNotMatch(bad.text, /at .*\.ts:\d+/, 'no stack trace');
    // An empty body labelled as JSON is no body: the calls that take no input still answer.
    for (const path of ['/api/test/websocket', '/api/discovery/refresh', '/api/cluster/refresh']) {
      const empty = await http(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' } });
      assert.equal(empty.status, 200, path);
      assert.equal(empty.body.success, true, path);
    }
    const noBody = await http(`${gw.url}/api/proxy-call`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    assert.equal(noBody.status, 400, 'a call that needs a body still says so');
    assert.deepEqual(Object.keys(noBody.body).sort(), ['error', 'message']);
    const poisoned = await http(`${gw.url}/api/cluster/event`, { body: '{"event":"x","__proto__":{"admin":true}}', headers: { 'content-type': 'application/json' } });
    assert.equal(poisoned.status, 400, 'prototype poisoning is refused');
  });

  it('allows cross-origin requests by default (the SPORE UI on :3000)', async () => {
    const res = await http(`${gw.url}/api/discovery/nodes`, { headers: { origin: 'http://localhost:3000' } });
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
  });

  it('streams firmware byte-exact to the node and reports progress', async () => {
    const target = sim.ips[2]!;
    const image = Buffer.alloc(300 * 1024);
    for (let i = 0; i < image.length; i++) image[i] = (i * 31 + 7) & 0xff;
    image[0] = 0xe9;
    const sha = createHash('sha256').update(image).digest('hex');
    const form = new FormData();
    form.append('file', new Blob([image]), 'fw.bin');
    const res = await fetch(`${gw.url}/api/node/update?ip=${target}`, { method: 'POST', body: form });
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.deepEqual(Object.keys(body).sort(), ['nodeIp', 'nodeResponse', 'sha256', 'size', 'success']);
    assert.equal(body.success, true);
    assert.equal(body.nodeIp, target);
    assert.equal(body.size, image.length);
    assert.equal(body.sha256, sha);
    assert.equal(sim.lastFirmwareSha256(2), sha, 'the node received the same bytes');
    const statuses = ws.byTopic('firmware/upload').filter((m) => m.nodeIp === target).map((m) => m.status);
    assert.equal(statuses[0], 'started');
    assert.equal(statuses.at(-1), 'succeeded');
    for (const m of ws.byTopic('firmware/upload')) for (const k of ['nodeIp', 'status', 'sent', 'total']) assert.ok(k in m, k);
  });
});
