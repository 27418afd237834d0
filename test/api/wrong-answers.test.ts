/**
 * Wrong answers become clear 4xx (issue 12 §13), against the real gateway process and a
 * hand-made node on its own 127.x address: a non-ASCII proxy uri answers 400 invalid_uri on
 * REST, JSON-RPC and MQTT commands (the embedded broker), never a 500 or a stack in the log;
 * the node's `/api/cluster/members` with null members and an HTML hostname reaches the API
 * without them; `GET /%E0%A4%A` answers the gateway's {error, message} shape.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createSocket } from 'node:dgram';
import mqtt from 'mqtt';
import { http } from '../helpers/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, randomBaseIp, waitFor } from '../helpers/net.js';

const WAIT = 20_000; // ms
const BAD_URI = '/\u2025/x';

describe('wrong answers are clear 4xx (issue 12 §13)', () => {
  const ip = randomBaseIp();
  const hostname = 'fake-node-13';
  let node: Server;
  let gw: GatewayProcess;
  let mqttPort: number;
  let beat: NodeJS.Timeout;
  const udp = createSocket('udp4');

  before(async () => {
    const nodePort = await freePort();
    node = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/api/cluster/members') {
        res.end(JSON.stringify({ members: [null, { hostname: '<img src=x onerror=alert(1)>', ip: '127.9.9.9', lastSeen: 1, latency: 1, status: 'ACTIVE', resources: {}, api: [] }, { hostname, ip, lastSeen: 1, latency: 2, status: 'ACTIVE', resources: {}, api: [null] }, 7] }));
      } else res.end(JSON.stringify({ ok: true }));
    });
    await new Promise<void>((r) => node.listen(nodePort, ip, r));
    mqttPort = await freePort();
    gw = await startGatewayProcess({ args: ['-node-port', String(nodePort), '-mqtt', 'embedded', '-mqtt-port', String(mqttPort), '-mqtt-bind', '127.0.0.1', '-mqtt-prefix', 'i13'] });
    await new Promise<void>((r) => udp.bind(0, ip, r));
    // Heartbeats until it is known (resent: a datagram may be dropped on a loaded machine).
    const send = () => udp.send(`CLUSTER_HEARTBEAT:${hostname}`, gw.udpPort, '127.0.0.1');
    send();
    beat = setInterval(send, 500);
    await waitFor(async () => (await http(`${gw.url}/api/discovery/nodes`)).body.nodes.some((n: { ip: string }) => n.ip === ip), 'the fake node known', WAIT);
  });
  after(async () => {
    clearInterval(beat);
    udp.close();
    await gw?.stop();
    await new Promise<void>((r) => node.close(() => r()));
  });

  it('a non-ASCII uri is 400 invalid_uri on REST, JSON-RPC and MQTT; nothing logged as a 500', async () => {
    const rest = await http(`${gw.url}/api/proxy-call`, { body: { ip, method: 'GET', uri: BAD_URI } });
    assert.equal(rest.status, 400, JSON.stringify(rest.body));
    assert.equal(rest.body.error, 'invalid_uri');
    assert.match(rest.body.message, /printable ASCII/);

    const rpc = await http(`${gw.url}/rpc`, { body: { jsonrpc: '2.0', id: 1, method: 'node.call', params: { ip, method: 'GET', uri: BAD_URI } } });
    const rpcText = JSON.stringify(rpc.body);
    assert.match(rpcText, /invalid_uri/, rpcText);
    assert.doesNotMatch(rpcText, /internal/);

    const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { reconnectPeriod: 0 });
    try {
      const answers: string[] = [];
      client.on('message', (_t, payload) => answers.push(payload.toString()));
      await client.subscribeAsync(`i13/nodes/${hostname}/command/response`);
      await waitFor(async () => {
        await client.publishAsync(`i13/nodes/${hostname}/command`, JSON.stringify({ id: 'bad-uri', method: 'GET', uri: BAD_URI }));
        await new Promise((r) => setTimeout(r, 300));
        return answers.length > 0;
      }, 'the command answer', WAIT);
      const answer = JSON.parse(answers[0]!);
      assert.equal(answer.id, 'bad-uri');
      assert.equal(answer.error, 'invalid_uri', answers[0]);
    } finally {
      await client.endAsync();
    }
    assert.ok(!gw.lines().some((l) => /"level":50|ERR_UNESCAPED_CHARACTERS|"statusCode":500/.test(l)), 'no 500 or error line in the log');
  });

  it('null members and HTML hostnames never reach /api/cluster/members', async () => {
    const res = await waitFor(async () => {
      const r = await http(`${gw.url}/api/cluster/members`);
      return r.status === 200 ? r : null;
    }, 'members', WAIT);
    const members = res.body.members as Array<{ hostname: string; ip: string; api: unknown[] }>;
    assert.deepEqual(members.map((m) => m.hostname), [hostname]);
    assert.ok(members.every((m) => m && typeof m === 'object'));
    assert.deepEqual(members[0]!.api, [], 'a null API entry is dropped');
  });

  it('a malformed percent-encoding answers {error, message}', async () => {
    for (const path of ['/%E0%A4%A', '/api/node/status/%zz']) {
      const res = await http(`${gw.url}${path}`);
      assert.equal(res.status, 400, path);
      assert.deepEqual(Object.keys(res.body).sort(), ['error', 'message'], JSON.stringify(res.body));
      assert.equal(res.body.error, 'bad_request');
    }
  });
});
