import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { validateUri } from '../../src/cluster/node-access.js';

describe('POST /api/proxy-call and its safety rules (CONTRACT §4)', () => {
  const suite = gatewaySuite({ nodes: 1 });
  let ip: string;
  before(() => {
    ip = suite.sim.ips[0]!;
  });

  const call = (body: unknown) => http(`${suite.gw.url}/api/proxy-call`, { body });

  it('calls the node and passes its status code and body through', async () => {
    const res = await call({ ip, method: 'GET', uri: '/api/node/status' });
    assert.equal(res.status, 200);
    assert.equal(typeof res.body.freeHeap, 'number');
    const missing = await call({ ip, method: 'GET', uri: '/api/does-not-exist' });
    assert.equal(missing.status, 404, 'the node\'s own 404 is passed through');
  });

  it('sends body params form-urlencoded and query params in the query string', async () => {
    const res = await call({
      ip,
      method: 'POST',
      uri: '/api/tasks/control',
      params: [
        { name: 'task', value: 'heartbeat', location: 'body' },
        { name: 'action', value: 'disable', location: 'body' },
      ],
    });
    assert.equal(res.status, 200, res.text);
    const tasks = await http(`${suite.gw.url}/api/tasks/status?ip=${ip}`);
    const hb = tasks.body.tasks.find((t: { name: string }) => t.name === 'heartbeat');
    assert.equal(hb.enabled, false, 'the form field reached the node');
    await call({ ip, method: 'POST', uri: '/api/tasks/control', params: [{ name: 'task', value: 'heartbeat', location: 'body' }, { name: 'action', value: 'enable', location: 'body' }] });
  });

  it('refuses a malformed IP with 400 and an undiscovered one with 404', async () => {
    for (const bad of ['300.1.1.1', 'localhost', '', '127.0.0.1:80', 42, null]) {
      const res = await call({ ip: bad, method: 'GET', uri: '/api/node/status' });
      assert.equal(res.status, 400, String(bad));
      assert.deepEqual(Object.keys(res.body).sort(), ['error', 'message']);
    }
    for (const unknown of ['127.0.0.1', '10.0.0.1', '8.8.8.8']) {
      const res = await call({ ip: unknown, method: 'GET', uri: '/api/node/status' });
      assert.equal(res.status, 404, unknown);
      assert.equal(res.body.error, 'node_not_found');
    }
  });

  it('refuses unclean uris with 400', async () => {
    const bad = [
      'api/node/status',
      'http://evil.example/x',
      '//evil.example/x',
      '/api/../../etc/passwd',
      '/api/%2e%2e/secret',
      '/api/x\r\nHost: evil',
      '/api/x%0d%0aInjected: 1',
      '/a/./b',
      '/\\evil',
      '',
      '/api/x y',
    ];
    for (const uri of bad) {
      const res = await call({ ip, method: 'GET', uri });
      assert.equal(res.status, 400, JSON.stringify(uri));
      assert.equal(res.body.error, 'invalid_uri');
      assert.throws(() => validateUri(uri));
    }
    assert.equal(validateUri('/api/neopixel?color=%23ff0000'), '/api/neopixel?color=%23ff0000');
  });

  it('refuses methods other than GET, POST, PUT, PATCH, DELETE', async () => {
    for (const method of ['TRACE', 'CONNECT', 'OPTIONS', 'HEAD', 'GET /x', '', 7]) {
      const res = await call({ ip, method, uri: '/api/node/status' });
      assert.equal(res.status, 400, String(method));
      assert.equal(res.body.error, 'invalid_method');
    }
    const lower = await call({ ip, method: 'get', uri: '/api/node/status' });
    assert.equal(lower.status, 200, 'method names are case-insensitive');
  });

  it('refuses malformed params and bodies', async () => {
    assert.equal((await call({ ip, method: 'GET', uri: '/api/node/status', params: 'x=1' })).status, 400);
    assert.equal((await call({ ip, method: 'GET', uri: '/api/node/status', params: [{ value: 1 }] })).status, 400);
    assert.equal((await call({ ip, method: 'GET', uri: '/api/node/status', params: [{ name: 'a', location: 'header' }] })).status, 400);
    assert.equal((await call([1, 2])).status, 400);
    assert.equal((await http(`${suite.gw.url}/api/proxy-call`, { body: 'not json', headers: { 'content-type': 'application/json' } })).status, 400);
  });

  it('a node that does not answer in time gives 504, not a hang', async () => {
    suite.sim.slow(0, 3000);
    try {
      const res = await call({ ip, method: 'GET', uri: '/api/node/status' });
      assert.equal(res.status, 504);
      assert.equal(res.body.error, 'node_timeout');
    } finally {
      suite.sim.slow(0, 0);
    }
  });
});
