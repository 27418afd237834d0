import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, WsRecorder } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';

const ADMIN = 'rpc-admin-secret-0123';
const READER = 'rpc-reader-secret-0123';

describe('JSON-RPC 2.0 at POST /rpc and over the WebSocket (issue 7)', () => {
  const suite = gatewaySuite({ nodes: 2 });
  before(() => waitFor(() => suite.gw.gateway.cluster.primaryNode, 'a primary'));

  const rpc = (body: unknown, headers: Record<string, string> = {}) =>
    http(`${suite.gw.url}/rpc`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json', ...headers } });

  it('answers methods over the same services as the REST API', async () => {
    const nodes = await rpc({ jsonrpc: '2.0', id: 1, method: 'cluster.nodes' });
    assert.equal(nodes.status, 200);
    assert.equal(nodes.body.id, 1);
    assert.equal(nodes.body.result.totalNodes, 2);
    const rest = await http(`${suite.gw.url}/api/discovery/nodes`);
    assert.deepEqual(Object.keys(nodes.body.result).sort(), Object.keys(rest.body).sort());

    const target = suite.sim.ips.find((ip) => ip !== suite.gw.gateway.cluster.primaryNode)!;
    const set = await rpc({ jsonrpc: '2.0', id: 'p', method: 'cluster.setPrimary', params: { ip: target } });
    assert.deepEqual(set.body.result, { primaryNode: target });
    const status = await rpc({ jsonrpc: '2.0', id: 2, method: 'node.status', params: { ip: suite.sim.ips[0] } });
    assert.equal(typeof status.body.result.freeHeap, 'number');
    const call = await rpc({ jsonrpc: '2.0', id: 3, method: 'node.call', params: { ip: suite.sim.ips[0], method: 'POST', uri: '/api/relay', params: [{ name: 'state', value: 'on', location: 'body' }] } });
    assert.deepEqual(call.body.result.body, { success: true, state: 'on' });
    const gwStatus = await rpc({ jsonrpc: '2.0', id: 4, method: 'gateway.status' });
    assert.equal(gwStatus.body.result.nodes.total, 2);
    assert.equal(typeof gwStatus.body.result.health.status, 'string');
    const reload = await rpc({ jsonrpc: '2.0', id: 5, method: 'gateway.reload' });
    assert.ok('result' in reload.body);
  });

  it('uses the specification\'s error codes', async () => {
    const parse = await rpc('{"jsonrpc": "2.0", "method"');
    assert.equal(parse.body.error.code, -32700);
    assert.equal(parse.body.id, null);
    assert.equal((await rpc({ jsonrpc: '1.0', id: 1, method: 'cluster.nodes' })).body.error.code, -32600);
    assert.equal((await rpc({ jsonrpc: '2.0', id: 1 })).body.error.code, -32600);
    assert.equal((await rpc(42)).body.error.code, -32600);
    assert.equal((await rpc([])).body.error.code, -32600);
    assert.equal((await rpc({ jsonrpc: '2.0', id: 1, method: 'cluster.nodes', params: 'x' })).body.error.code, -32600);
    const missing = await rpc({ jsonrpc: '2.0', id: 7, method: 'no.such' });
    assert.equal(missing.body.error.code, -32601);
    assert.equal(missing.body.id, 7);
    const badParams = await rpc({ jsonrpc: '2.0', id: 8, method: 'node.status', params: { ip: 5 } });
    assert.equal(badParams.body.error.code, -32602);
    assert.equal((await rpc({ jsonrpc: '2.0', id: 9, method: 'cluster.nodes', params: { extra: 1 } })).body.error.code, -32602);
    // A service's refusal keeps its code and HTTP status as data.
    const unknownNode = await rpc({ jsonrpc: '2.0', id: 10, method: 'node.status', params: { ip: '10.9.9.9' } });
    assert.equal(unknownNode.body.error.code, -32000);
    assert.deepEqual(unknownNode.body.error.data, { error: 'node_not_found', status: 404 });
    const badUri = await rpc({ jsonrpc: '2.0', id: 11, method: 'node.call', params: { ip: suite.sim.ips[0], method: 'GET', uri: '/../etc/passwd' } });
    assert.equal(badUri.body.error.data.error, 'invalid_uri');
  });

  it('serves batches and stays silent for notifications', async () => {
    const batch = await rpc([
      { jsonrpc: '2.0', id: 1, method: 'cluster.nodes' },
      { jsonrpc: '2.0', method: 'cluster.nodes' },
      { jsonrpc: '2.0', id: 2, method: 'nope' },
      'junk',
    ]);
    assert.equal(batch.status, 200);
    assert.equal(batch.body.length, 3, 'the notification gets no answer');
    assert.equal(batch.body.find((r: { id: number }) => r.id === 1).result.totalNodes, 2);
    assert.equal(batch.body.find((r: { id: number }) => r.id === 2).error.code, -32601);
    assert.equal(batch.body.find((r: { id: null }) => r.id === null).error.code, -32600);
    const tooMany = await rpc(Array.from({ length: 101 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'cluster.nodes' })));
    assert.equal(tooMany.body.error.code, -32600, 'a batch holds at most 100 calls');
    const onlyNotifications = await rpc([{ jsonrpc: '2.0', method: 'cluster.nodes' }]);
    assert.equal(onlyNotifications.status, 204);
  });

  it('works over the WebSocket', async () => {
    const ws = await WsRecorder.connect(suite.gw.url);
    try {
      ws.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'w1', method: 'cluster.nodes' }));
      const answer = await ws.waitFor((m) => m.topic === 'rpc/response' && m.id === 'w1', 'rpc answer');
      assert.equal(answer.result.totalNodes, 2);
      assert.match(answer.timestamp, /Z$/);
    } finally {
      ws.close();
    }
  });

  it('with API keys: HTTP 401 and an auth error code without a key, 403 for a read key', async () => {
    suite.gw.gateway.auth.update({ apiKeys: [{ name: 'ops', key: ADMIN, scope: 'admin' }, { name: 'ro', key: READER, scope: 'read' }], protectReads: false });
    try {
      const none = await rpc({ jsonrpc: '2.0', id: 1, method: 'cluster.nodes' });
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, -32001);
      const wrong = await rpc({ jsonrpc: '2.0', id: 1, method: 'cluster.nodes' }, { authorization: 'Bearer nope-nope-nope-nope' });
      assert.equal(wrong.status, 401);
      const read = await rpc({ jsonrpc: '2.0', id: 1, method: 'cluster.nodes' }, { 'x-api-key': READER });
      assert.equal(read.status, 403);
      assert.equal(read.body.error.code, -32003);
      const ok = await rpc({ jsonrpc: '2.0', id: 1, method: 'cluster.nodes' }, { authorization: `Bearer ${ADMIN}` });
      assert.equal(ok.status, 200);
      assert.equal(ok.body.result.totalNodes, 2);

      const anonymous = await WsRecorder.connect(suite.gw.url);
      anonymous.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'a', method: 'cluster.setPrimary', params: { random: true } }));
      assert.equal((await anonymous.waitFor((m) => m.id === 'a', 'ws answer')).error.code, -32001);
      anonymous.close();
      const reader = await WsRecorder.connect(`${suite.gw.url}/ws?token=${READER}`);
      reader.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'r', method: 'cluster.nodes' }));
      assert.equal((await reader.waitFor((m) => m.id === 'r', 'ws answer')).error.code, -32003);
      reader.close();
      const admin = await WsRecorder.connect(`${suite.gw.url}/ws?token=${ADMIN}`);
      admin.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'x', method: 'cluster.nodes' }));
      assert.equal((await admin.waitFor((m) => m.id === 'x', 'ws answer')).result.totalNodes, 2);
      admin.close();
    } finally {
      suite.gw.gateway.auth.update({ apiKeys: [], protectReads: false });
    }
  });
});
