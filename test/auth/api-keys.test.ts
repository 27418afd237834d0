import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { WebSocket } from 'ws';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { waitFor } from '../helpers/net.js';
import { ApiKeyAuth } from '../../src/auth/api-keys.js';
import { requirementFor } from '../../src/auth/access-policy.js';

const ADMIN = 'admin-secret-0123456789';
const READER = 'reader-secret-0123456789';
const sha = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}`;

/** A concrete URL for a route pattern. */
function fill(url: string, ip: string): string {
  return url.replace(':ip', ip).replace(/:[A-Za-z]+/g, 'x').replace('*', 'x');
}

function wsOpen(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', () => resolve(0));
  });
}

describe('API keys (issue 7, docs/security.md)', () => {
  let gw: TestGateway;
  let sim: TestSim;
  before(async () => {
    // The admin key is configured as a hash: the configuration need not hold the secret.
    gw = await startTestGateway({
      auth: { apiKeys: [{ name: 'ops', key: sha(ADMIN), scope: 'admin' }, { name: 'dashboard', key: READER, scope: 'read' }] },
    });
    sim = await startSim(gw, 1);
    await waitFor(() => gw.gateway.cluster.primaryNode, 'a primary');
  });
  after(async () => {
    await sim?.stop();
    await gw?.stop();
  });

  const call = (method: string, url: string, headers: Record<string, string> = {}) =>
    http(`${gw.url}${url}`, { method, headers: { 'content-type': 'application/json', ...headers }, body: method === 'GET' ? undefined : '{}' });

  it('every mutating route refuses a missing or wrong key (401) and a read key (403), and admits an admin key', async () => {
    const routes = gw.gateway.routes.filter((r) => requirementFor(r.method, r.url.split('?')[0]!, false) === 'admin');
    assert.ok(routes.length >= 6, `mutating routes found: ${routes.length}`);
    const ip = sim.ips[0]!;
    for (const r of routes) {
      const url = fill(r.url, ip);
      const what = `${r.method} ${r.url}`;
      const none = await call(r.method, url);
      assert.equal(none.status, 401, what);
      // The JSON error shape; the JSON-RPC endpoint answers in JSON-RPC's shape with its auth code.
      if (r.url === '/rpc') assert.equal(none.body.error.code, -32001, what);
      else assert.deepEqual(Object.keys(none.body).sort(), ['error', 'message'], what);
      assert.equal((await call(r.method, url, { authorization: 'Bearer not-a-key-at-all' })).status, 401, what);
      const read = await call(r.method, url, { 'x-api-key': READER });
      assert.equal(read.status, 403, what);
      assert.equal(r.url === '/rpc' ? read.body.error.data.error : read.body.error, 'forbidden', what);
      const admin = await call(r.method, url, { authorization: `Bearer ${ADMIN}` });
      assert.ok(admin.status !== 401 && admin.status !== 403, `${what} with an admin key answered ${admin.status}`);
    }
  });

  it('proxy calls need an admin key whatever their method', async () => {
    const body = { ip: sim.ips[0], method: 'GET', uri: '/api/node/status' };
    assert.equal((await http(`${gw.url}/api/proxy-call`, { body, headers: { 'x-api-key': READER } })).status, 403);
    assert.equal((await http(`${gw.url}/api/proxy-call`, { body, headers: { 'x-api-key': ADMIN } })).status, 200);
  });

  it('reads stay open without protectReads; health and preflights are always open', async () => {
    assert.equal((await http(`${gw.url}/api/discovery/nodes`)).status, 200);
    assert.equal((await http(`${gw.url}/api/health`)).status, 200);
    assert.equal(await wsOpen(`${gw.url.replace('http', 'ws')}/ws`), 101);
    const pre = await fetch(`${gw.url}/api/discovery/refresh`, { method: 'OPTIONS', headers: { origin: 'http://localhost:3000', 'access-control-request-method': 'POST' } });
    assert.ok(pre.status < 300);
  });

  it('with protectReads, reads and the WebSocket need a key (?token= for browsers)', async () => {
    gw.gateway.auth.update({ apiKeys: [{ name: 'ops', key: ADMIN, scope: 'admin' }, { name: 'dashboard', key: READER, scope: 'read' }], protectReads: true });
    try {
      assert.equal((await http(`${gw.url}/api/discovery/nodes`)).status, 401);
      assert.equal((await http(`${gw.url}/api/discovery/nodes`, { headers: { 'x-api-key': READER } })).status, 200);
      assert.equal((await http(`${gw.url}/api/discovery/nodes?token=${READER}`)).status, 200);
      const ws = `${gw.url.replace('http', 'ws')}/ws`;
      assert.equal(await wsOpen(ws), 401);
      assert.equal(await wsOpen(`${ws}?token=wrong`), 401);
      assert.equal(await wsOpen(`${ws}?token=${READER}`), 101);
      assert.equal(await wsOpen(ws, { authorization: `Bearer ${ADMIN}` }), 101);
      assert.equal((await http(`${gw.url}/api/health`)).status, 200, 'health stays open for probes');
    } finally {
      gw.gateway.auth.update({ apiKeys: [{ name: 'ops', key: ADMIN, scope: 'admin' }, { name: 'dashboard', key: READER, scope: 'read' }], protectReads: false });
    }
  });

  it('with keys configured, CORS admits the same origin and the SPORE UI only', async () => {
    const origin = async (o: string) => (await http(`${gw.url}/api/discovery/nodes`, { headers: { origin: o } })).headers.get('access-control-allow-origin');
    assert.equal(await origin('http://localhost:3000'), 'http://localhost:3000');
    assert.equal(await origin(gw.url), gw.url);
    assert.equal(await origin('http://evil.example'), null);
  });

  it('compares keys by digest: a hashed key, a plain key, a near miss', () => {
    const auth = new ApiKeyAuth({ apiKeys: [{ name: 'a', key: sha(ADMIN), scope: 'admin' }, { name: 'r', key: READER, scope: 'read' }], protectReads: false });
    assert.deepEqual(auth.identify(ADMIN), { name: 'a', scope: 'admin' });
    assert.deepEqual(auth.identify(READER), { name: 'r', scope: 'read' });
    assert.equal(auth.identify(ADMIN.slice(0, -1)), null);
    assert.equal(auth.identify(sha(ADMIN)), null, 'the hash itself is not the key');
    assert.equal(auth.identify(''), null);
  });
});
