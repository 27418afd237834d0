import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';

interface Channel {
  name: string;
  value: unknown;
}
const valuesOf = (d: { channels: Channel[] }) => Object.fromEntries(d.channels.map((c) => [c.name, c.value]));

/**
 * Two emulated SPORE nodes (emulator/): heartbeats over UDP (CONTRACT §2) and the
 * /api/node/status answer the gateway polls (CONTRACT §3). The spore connector turns each
 * into a device with freeHeap, latency and status.
 */
describe('spore connector: every emulated node as a device', () => {
  let gw: TestGateway;
  let ws: WsRecorder;
  let sim: TestSim;

  before(async () => {
    gw = await startTestGateway({
      pipeline: {
        connectors: [{ id: 'nodes', type: 'spore', pollMs: 200, devicePrefix: 'node-', channels: { freeHeap: [{ scale: 0.001 }, { round: 1 }] } }],
        sinks: [{ id: 'ws', type: 'websocket' }],
      },
    });
    ws = await WsRecorder.connect(gw.url);
    sim = await startSim(gw, 2);
  });

  after(async () => {
    ws?.close();
    await sim?.stop();
    await gw?.stop();
  });

  it('reports free heap (transformed), latency and status per node', async () => {
    const ids = sim.hostnames.map((h) => `node-${h}`).sort();
    const devices = await waitFor(async () => {
      const list = (await http(`${gw.url}/api/devices`)).body.devices as Array<{ id: string; channels: Channel[] }>;
      const ready = list.filter((d) => d.channels.every((c) => c.value !== null));
      return ready.length === 2 ? list : undefined;
    }, 'both nodes with every channel', 30_000);
    assert.deepEqual(devices.map((d) => d.id).sort(), ids);
    const d0 = devices.find((d) => d.id === ids[0]) as unknown as { connector: string; connectorType: string; connectorState: string; channels: Channel[] };
    assert.equal(d0.connector, 'nodes');
    assert.equal(d0.connectorType, 'spore');
    assert.equal(d0.connectorState, 'connected');
    const v = valuesOf(d0);
    assert.equal(v.status, 'ACTIVE');
    assert.ok(typeof v.latency === 'number' && v.latency >= 0, `latency ${String(v.latency)}`);
    // The emulator's heap drifts: the device follows the registry's last poll, in kB with one decimal.
    const hostname = ids[0]!.slice('node-'.length);
    await waitFor(async () => {
      const heap = gw.gateway.registry.list().find((n) => n.hostname === hostname)?.resources?.freeHeap;
      const dev = (await http(`${gw.url}/api/devices/${ids[0]}`)).body as { channels: Channel[] };
      return typeof heap === 'number' && valuesOf(dev).freeHeap === Math.round(heap / 100) / 10;
    }, 'freeHeap in kB (bytes × 0.001, one decimal) as the registry last saw it', 30_000);
    const record = await waitFor(() => ws.byTopic(`telemetry/${ids[1]}`).at(-1), 'a telemetry record on the WebSocket', 30_000);
    assert.equal(record.connector, 'nodes');
    assert.ok(typeof record.values.freeHeap === 'number' && record.values.freeHeap > 1 && record.values.freeHeap < 100, `freeHeap ${record.values.freeHeap} kB`);
  });

  it('follows a node that goes silent: its status channel turns INACTIVE', async () => {
    const id = `node-${sim.hostnames[1]}`;
    sim.mute(1, true);
    const d = await waitFor(async () => {
      const dev = (await http(`${gw.url}/api/devices/${id}`)).body;
      return dev.channels.find((c: Channel) => c.name === 'status').value === 'INACTIVE' ? dev : undefined;
    }, 'node 1 INACTIVE', 30_000);
    assert.ok(d.lastRecord.seq > 1);
  });
});
