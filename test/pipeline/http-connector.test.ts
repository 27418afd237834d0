import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';

/** The test's own HTTP server: answers whatever `reply` holds. */
let reply: { status: number; body: string } = { status: 200, body: '{}' };
const setBody = (doc: unknown) => (reply = { status: 200, body: JSON.stringify(doc) });

describe('http connector and channel transforms end to end', () => {
  let server: Server;
  let gw: TestGateway;
  let ws: WsRecorder;
  const stats = async () => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
  /** Waits until the connector polled at least twice more: the current reply was read. */
  const twoPolls = async () => {
    const start = (await stats()).polls;
    await waitFor(async () => (await stats()).polls >= start + 2, 'two more polls');
  };
  const records = () => ws.byTopic('telemetry/weather').map((m) => ({ seq: m.seq, values: m.values }));

  before(async () => {
    server = createServer((req, res) => {
      res.writeHead(reply.status, { 'content-type': 'application/json' });
      res.end(reply.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    setBody({ main: { temp: 293.15, humidity: 50 }, wind: { speeds: [3, 4] } });
    gw = await startTestGateway({
      gateway: { id: 'plant-1' },
      pipeline: {
        connectors: [
          {
            id: 'weather',
            type: 'http',
            url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/weather`,
            pollMs: 100,
            timeoutMs: 1000,
            device: 'weather',
            channels: {
              // Kelvin → °C, one decimal, plausible values only, only changes of 0.5 °C or more.
              temp: { path: '$.main.temp', transform: [{ offset: -273.15 }, { round: 1 }, { range: { min: -50, max: 60 } }, { deadband: 0.5 }] },
              humidity: { path: '$.main.humidity', transform: [{ deadband: 5 }] },
              gust: { path: '$.wind.speeds[1]', transform: [{ scale: 3.6 }, { deadband: 1 }, { map: { '14.4': 'breezy' } }] },
            },
          },
        ],
        sinks: [{ id: 'ws', type: 'websocket' }],
      },
    });
    ws = await WsRecorder.connect(gw.url);
  });

  after(async () => {
    ws?.close();
    await gw?.stop();
    await new Promise((r) => server?.close(r));
  });

  it('sends only what passes the filters; a record with nothing left is not sent and takes no seq', async () => {
    await waitFor(() => records().length >= 1, 'the first record');
    await twoPolls();
    // Unchanged values: everything is filtered out by the deadbands, so nothing more is sent.
    assert.deepEqual(records(), [{ seq: 1, values: { temp: 20, humidity: 50, gust: 'breezy' } }]);

    setBody({ main: { temp: 293.15, humidity: 53 }, wind: { speeds: [3, 4] } }); // +3 %: within the deadband
    await twoPolls();
    assert.equal(records().length, 1);

    setBody({ main: { temp: 293.15, humidity: 56 }, wind: { speeds: [3, 4] } }); // +6 %: sent alone
    await waitFor(() => records().length === 2, 'the humidity change');
    setBody({ main: { temp: 500, humidity: 56 }, wind: { speeds: [3, 4] } }); // 226.85 °C: out of range, dropped
    await twoPolls();
    setBody({ main: { temp: 294.15, humidity: 56 }, wind: { speeds: [3, 5] } }); // +1 °C and a gust of 18 km/h
    await waitFor(() => records().length === 3, 'the temperature change');
    await twoPolls();
    assert.deepEqual(records(), [
      { seq: 1, values: { temp: 20, humidity: 50, gust: 'breezy' } },
      { seq: 2, values: { humidity: 56 } },
      { seq: 3, values: { temp: 21, gust: 18 } },
    ]);
    const device = (await http(`${gw.url}/api/devices/weather`)).body;
    assert.equal(device.lastRecord.seq, 3);
    assert.deepEqual(
      device.channels.map((c: { name: string; value: unknown; writable: boolean }) => [c.name, c.value, c.writable]),
      [['temp', 21, false], ['humidity', 56, false], ['gust', 18, false]],
    );
  });

  it('counts failed polls, degrades health, and recovers by itself', async () => {
    const before = await stats();
    reply = { status: 500, body: 'oops' };
    const failing = await waitFor(async () => {
      const s = await stats();
      return s.state === 'error' ? s : undefined;
    }, 'the error state');
    assert.match(failing.lastError, /HTTP 500/);
    assert.equal((await http(`${gw.url}/api/health`)).body.components['connector:weather'].status, 'down');
    reply = { status: 200, body: 'not json' };
    await waitFor(async () => /not JSON/.test((await stats()).lastError ?? ''), 'the bad JSON to be reported');
    setBody({ main: { temp: 294.15, humidity: 56 }, wind: { speeds: [3, 5] } });
    const back = await waitFor(async () => {
      const s = await stats();
      return s.state === 'connected' ? s : undefined;
    }, 'recovery');
    assert.equal(back.reconnects, before.reconnects + 1);
    assert.ok(back.errors >= before.errors + 2);
    assert.equal((await http(`${gw.url}/api/health`)).body.components['connector:weather'].status, 'up');
  });

  it('answers 404 for an unknown device and lists devices in the documented shape', async () => {
    const res = await http(`${gw.url}/api/devices/nope`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'device_not_found');
    const list = (await http(`${gw.url}/api/devices`)).body;
    assert.deepEqual(Object.keys(list), ['devices']);
    assert.deepEqual(Object.keys(list.devices[0]), ['id', 'connector', 'connectorType', 'connectorState', 'channels', 'lastRecord', 'health']);
    assert.equal(list.devices[0].health, null, 'per-device health is for field-bus lines');
    assert.deepEqual(Object.keys(list.devices[0].channels[0]), ['name', 'value', 'ts', 'writable', 'unit']);
    assert.deepEqual(Object.keys(list.devices[0].lastRecord), ['ts', 'seq']);
    const stats = (await http(`${gw.url}/api/pipeline/stats`)).body;
    assert.deepEqual(Object.keys(stats.connectors[0]), ['id', 'type', 'state', 'polls', 'errors', 'reconnects', 'lastError']);
    assert.deepEqual(Object.keys(stats.sinks[0]), ['id', 'type', 'queued', 'sent', 'dropped', 'oldestQueuedAgeMs']);
    const write = await http(`${gw.url}/api/devices/weather/write`, { body: { channel: 'temp', value: 20 } });
    assert.equal(write.status, 400);
    assert.equal(write.body.error, 'channel_not_writable');
  });

  it('exposes the same figures as Prometheus metrics and over JSON-RPC', async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const polls = Number(/spore_pipeline_connector_polls_total\{connector="weather",type="http"\} (\d+)/.exec(metrics)?.[1]);
    assert.ok(polls > 0, 'polls counted');
    assert.match(metrics, /spore_pipeline_connector_up\{connector="weather",type="http"\} 1/);
    assert.match(metrics, /spore_pipeline_sink_sent_total\{sink="ws",type="websocket"\} 3/);
    const rpc = async (method: string, params: unknown) => (await http(`${gw.url}/rpc`, { body: { jsonrpc: '2.0', id: 1, method, params } })).body;
    const device = await rpc('devices.read', { id: 'weather' });
    assert.equal(device.result.id, 'weather');
    assert.equal(device.result.lastRecord.seq, 3);
    const stats = await rpc('pipeline.stats', {});
    assert.equal(stats.result.connectors[0].id, 'weather');
    assert.equal((await rpc('connectors.list', {})).result.connectors[0].id, 'weather');
    assert.equal((await rpc('sinks.stats', {})).result.sinks[0].id, 'ws');
    const restarted = await rpc('connectors.restart', { id: 'weather' });
    assert.equal(restarted.result.id, 'weather');
    assert.equal((await rpc('connectors.restart', { id: 'nope' })).error.data.error, 'not_found');
    const pollsBefore = (await rpc('connectors.list', {})).result.connectors[0].polls;
    await waitFor(async () => (await rpc('connectors.list', {})).result.connectors[0].polls > pollsBefore, 'polling again after the restart');
    const refused = await rpc('devices.write', { id: 'weather', channel: 'temp', value: 1 });
    assert.equal(refused.error.data.error, 'channel_not_writable');
    assert.equal(refused.error.data.status, 400);
  });
});
