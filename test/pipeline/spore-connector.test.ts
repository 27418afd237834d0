import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createServer, type Server } from 'node:http';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { randomBaseIp, waitFor } from '../helpers/net.js';

/**
 * Two SPORE nodes on their own loopback addresses: heartbeats over UDP (CONTRACT §2) and the
 * /api/node/status answer the gateway polls (CONTRACT §3). The spore connector turns each
 * into a device with freeHeap, latency and status.
 */
describe('spore connector: every node as a device', () => {
  let gw: TestGateway;
  let ws: WsRecorder;
  const servers: Server[] = [];
  const sockets: dgram.Socket[] = [];
  const ips: string[] = [];
  let heartbeats: NodeJS.Timeout | undefined;
  const alive = new Set<number>([0, 1]);

  before(async () => {
    gw = await startTestGateway({
      pipeline: {
        connectors: [{ id: 'nodes', type: 'spore', pollMs: 200, devicePrefix: 'node-', channels: { freeHeap: [{ scale: 0.001 }, { round: 1 }] } }],
        sinks: [{ id: 'ws', type: 'websocket' }],
      },
    });
    ws = await WsRecorder.connect(gw.url);
    const base = randomBaseIp().split('.').slice(0, 3).join('.');
    for (const i of [0, 1]) {
      const ip = `${base}.${10 + i}`;
      ips.push(ip);
      const server = createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ freeHeap: 40_000 + i * 1000, chipId: 1, sdkVersion: 'x', cpuFreqMHz: 80, flashChipSize: 1, api: [] }));
      });
      await new Promise<void>((r) => server.listen(gw.nodePort, ip, r));
      servers.push(server);
      const socket = dgram.createSocket('udp4');
      await new Promise<void>((r) => socket.bind(0, ip, r));
      sockets.push(socket);
    }
    const beat = () => {
      for (const i of alive) sockets[i]!.send(`CLUSTER_HEARTBEAT:esp-${i}`, gw.udpPort, '127.0.0.1');
    };
    beat();
    heartbeats = setInterval(beat, 300);
  });

  after(async () => {
    clearInterval(heartbeats);
    ws?.close();
    for (const s of sockets) s.close();
    for (const s of servers) await new Promise((r) => s.close(r));
    await gw?.stop();
  });

  it('reports free heap (transformed), latency and status per node', async () => {
    const devices = await waitFor(async () => {
      const list = (await http(`${gw.url}/api/devices`)).body.devices;
      const ready = list.filter((d: { channels: Array<{ name: string; value: unknown }> }) => d.channels.every((c) => c.value !== null));
      return ready.length === 2 ? list : undefined;
    }, 'both nodes with every channel');
    assert.deepEqual(devices.map((d: { id: string }) => d.id), ['node-esp-0', 'node-esp-1']);
    const d0 = devices[0];
    assert.equal(d0.connector, 'nodes');
    assert.equal(d0.connectorType, 'spore');
    assert.equal(d0.connectorState, 'connected');
    const v = Object.fromEntries(d0.channels.map((c: { name: string; value: unknown }) => [c.name, c.value]));
    assert.equal(v.freeHeap, 40, 'bytes → kB through the configured transforms');
    assert.equal(v.status, 'ACTIVE');
    assert.ok(typeof v.latency === 'number' && v.latency >= 0);
    const record = ws.byTopic('telemetry/node-esp-1').at(-1);
    assert.equal(record.connector, 'nodes');
    assert.equal(record.values.freeHeap, 41);
  });

  it('follows a node that goes silent: its status channel turns INACTIVE', async () => {
    alive.delete(1);
    const d = await waitFor(async () => {
      const dev = (await http(`${gw.url}/api/devices/node-esp-1`)).body;
      return dev.channels.find((c: { name: string }) => c.name === 'status').value === 'INACTIVE' ? dev : undefined;
    }, 'node 1 INACTIVE');
    assert.ok(d.lastRecord.seq > 1);
  });
});
