import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createServer, type Server } from 'node:http';
import net from 'node:net';
import { WebSocket } from 'ws';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { randomBaseIp, waitFor } from '../helpers/net.js';

/**
 * The claims of docs/security.md that are not already shown elsewhere, each
 * tried the way an attacker on the LAN would.
 */
const ADMIN = 'sec-admin-secret-0123456';
const READER = 'sec-reader-secret-012345';

/** A raw HTTP exchange: what a browser or fetch would normalise away is sent as is. */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (answer += d));
    socket.on('end', () => resolve(answer));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

describe('attack surface (docs/security.md)', () => {
  let gw: TestGateway;
  let port: number;
  before(async () => {
    gw = await startTestGateway({
      auth: { apiKeys: [{ name: 'ops', key: ADMIN, scope: 'admin' }, { name: 'ro', key: READER, scope: 'read' }] },
      http: { bodyLimitBytes: 64 * 1024 },
    });
    port = Number(new URL(gw.url).port);
  });
  after(async () => {
    await gw?.stop();
  });

  it('an admin route cannot be reached by dressing up its path or method', async () => {
    const get = (path: string, headers = '') => raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`);
    assert.equal(statusOf(await get('/api/firmware')), 401, 'baseline: firmware needs an admin key');
    for (const path of ['/api/%66irmware', '/api/firmware/', '//api/firmware', '/api/firmware?x=1', '/api/./firmware', '/api/x/../firmware', '/api/firmware%2F', '/API/firmware', '/api/firmware;x']) {
      const status = statusOf(await get(path));
      assert.ok(status === 401 || status === 404 || status === 400, `${path} answered ${status}`);
    }
    assert.equal(statusOf(await raw(port, 'HEAD /api/firmware HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')), 401, 'HEAD');
    const override = await raw(port, 'POST /api/discovery/refresh HTTP/1.1\r\nHost: x\r\nX-HTTP-Method-Override: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(override), 401, 'method override headers are ignored');
  });

  it('keys cannot be guessed around: Basic auth, case, a longer key, mixing a read header with an admin query', async () => {
    const refresh = (headers: Record<string, string>, query = '') => http(`${gw.url}/api/discovery/refresh${query}`, { method: 'POST', headers });
    assert.equal((await refresh({ authorization: `Basic ${Buffer.from(`ops:${ADMIN}`).toString('base64')}` })).status, 401);
    assert.equal((await refresh({ authorization: `Bearer ${ADMIN.toUpperCase()}` })).status, 401);
    assert.equal((await refresh({ 'x-api-key': `${ADMIN}x` })).status, 401);
    assert.equal((await refresh({ 'x-api-key': READER }, `?token=${ADMIN}`)).status, 403, 'the header decides; a query cannot lift it');
    assert.equal((await refresh({ authorization: `Bearer ${ADMIN}` })).status, 200);
    const huge = await raw(port, `POST /api/discovery/refresh HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${'A'.repeat(200_000)}\r\nConnection: close\r\n\r\n`);
    assert.ok([401, 431, 400].includes(statusOf(huge)), `a 200 kB header answered ${statusOf(huge)}`);
    assert.equal((await http(`${gw.url}/api/health`)).status, 200, 'still serving');
  });

  it('oversize bodies are refused with 413 and the error shape', async () => {
    const big = await http(`${gw.url}/api/cluster/event`, { body: { event: 'x', data: 'y'.repeat(100 * 1024) }, headers: { authorization: `Bearer ${ADMIN}` } });
    assert.equal(big.status, 413);
    assert.deepEqual(Object.keys(big.body).sort(), ['error', 'message']);
  });

  it('a WebSocket frame over 64 KiB closes that connection (1009) and nothing else', async () => {
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`);
    await new Promise((r) => ws.once('open', r));
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('x'.repeat(65 * 1024 + 1));
    assert.equal(await closed, 1009);
    assert.equal((await http(`${gw.url}/api/health`)).status, 200);
  });

  it('an upgrade to any path but /ws, or with a wrong token when reads are protected, gets no WebSocket', async () => {
    const other = await raw(port, 'GET /wsx HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    assert.notEqual(statusOf(other), 101);
    gw.gateway.auth.update({ apiKeys: [{ name: 'ro', key: READER, scope: 'read' }], protectReads: true });
    try {
      const bad = await raw(port, 'GET /ws?token=guess HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
      assert.equal(statusOf(bad), 401);
      assert.match(bad, /"error":"unauthorized"/);
    } finally {
      gw.gateway.auth.update({ apiKeys: [{ name: 'ops', key: ADMIN, scope: 'admin' }, { name: 'ro', key: READER, scope: 'read' }], protectReads: false });
    }
  });
});

describe('a hostile node (docs/security.md)', () => {
  let gw: TestGateway;
  let nodeServer: Server;
  let ip: string;
  before(async () => {
    gw = await startTestGateway();
    ip = randomBaseIp();
    // A "node" that answers every call with 9 MiB of junk.
    nodeServer = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      let left = 9;
      const write = (): void => {
        while (left > 0) {
          left--;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        res.end();
      };
      write();
    });
    await new Promise<void>((r) => nodeServer.listen(gw.nodePort, ip, () => r()));
    const udp = dgram.createSocket('udp4');
    await new Promise<void>((r) => udp.bind(0, ip, () => r()));
    await new Promise<void>((r) => udp.send('CLUSTER_HEARTBEAT:hostile', gw.udpPort, '127.0.0.1', () => r()));
    udp.close();
    await waitFor(() => gw.gateway.registry.getByIp(ip), 'the hostile node is discovered');
  });
  after(async () => {
    nodeServer?.closeAllConnections();
    nodeServer?.close();
    await gw?.stop();
  });

  it('cannot make the gateway hold an unbounded answer: over 8 MiB → 502', async () => {
    const res = await http(`${gw.url}/api/proxy-call`, { body: { ip, method: 'GET', uri: '/api/anything' } });
    assert.equal(res.status, 502);
    assert.equal(res.body.error, 'node_bad_response');
    assert.match(res.body.message, /more than/);
  });
});
