import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import type { PipelineRecord } from '../../src/pipeline/types.js';
import { ZwaveMock } from './helpers/zwave-mock.js';

/**
 * Issue 14 §1 against zwave-js's own mock controller (a binary switch, node 2, and a
 * multilevel sensor, node 3) served over TCP: values, a write and its read-back, the nodes
 * list, inclusion/exclusion mode, and recovery after the controller was gone for 20 s.
 */
describe('zwave connector against the zwave-js mock controller', () => {
  let mock: ZwaveMock;
  let gw: TestGateway;
  const records: PipelineRecord[] = [];
  const device = async (id: string) => (await http(`${gw.url}/api/devices/${id}`)).body;
  const stats = async () => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors.find((c: { id: string }) => c.id === 'zw');
  const value = async (dev: string, name: string) => (await device(dev)).channels.find((c: { name: string }) => c.name === name)?.value;

  before(async () => {
    // The controller and the gateway start at the same time (each loads zwave-js: seconds on a
    // busy machine); the connector retries until the controller answers.
    mock = await ZwaveMock.create();
    [gw] = await Promise.all([startTestGateway({
      pipeline: {
        connectors: [
          {
            id: 'zw',
            type: 'zwave',
            port: mock.url,
            reconnect: { initialMs: 500, maxMs: 2000 },
            devices: [
              { id: 'plug-2', node: 2, channels: [{ name: 'on', commandClass: 'Binary Switch', property: 'currentValue', writeProperty: 'targetValue' }] },
              { id: 'temp-3', node: 3, pollMs: 300, channels: [{ name: 'temperature', commandClass: 49, property: 'Air temperature' }] },
            ],
          },
        ],
        sinks: [{ id: 'live', type: 'websocket' }],
      },
    }), mock.start()]);
    gw.gateway.bus.on('pipeline/telemetry', (r) => records.push(r));
  });

  after(async () => {
    await gw?.stop();
    await mock?.stop();
  });

  it('values arrive: the switch state from the interview, the sensor by polling', async () => {
    // The first start interviews both nodes: seconds on a busy machine.
    await waitFor(async () => (await stats()).state === 'connected', 'the driver to be ready', 90_000);
    await waitFor(() => records.filter((r) => r.device === 'temp-3').length >= 3, 'three temperature records', 30_000);
    const temps = records.filter((r) => r.device === 'temp-3').map((r) => r.values.temperature as number);
    assert.ok(temps.every((t) => typeof t === 'number' && t > 20), temps.join());
    assert.ok(temps[temps.length - 1]! > temps[0]!, 'the sensor counts up: polls return fresh readings');
    await waitFor(async () => (await value('plug-2', 'on')) === false, 'the switch state');
    const plug = await device('plug-2');
    assert.equal(plug.state, 'alive', JSON.stringify(plug));
    assert.equal(plug.channels[0].writable, true, 'writeProperty makes the channel writable');
  });

  it('a write switches the node and the read-back value follows', async () => {
    const res = await http(`${gw.url}/api/devices/plug-2/write`, { body: { channel: 'on', value: true } });
    assert.equal(res.status, 200, res.text);
    await waitFor(() => records.some((r) => r.device === 'plug-2' && r.values.on === true), 'a record with the switch on', 20_000);
    assert.equal(await value('plug-2', 'on'), true);
    const back = await http(`${gw.url}/api/devices/plug-2/write`, { body: { channel: 'on', value: 'off' } });
    assert.equal(back.status, 200, back.text);
    await waitFor(async () => (await value('plug-2', 'on')) === false, 'the switch off again', 20_000);
    const bad = await http(`${gw.url}/api/devices/plug-2/write`, { body: { channel: 'on', value: 'dim' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_value');
    assert.equal((await http(`${gw.url}/api/devices/temp-3/write`, { body: { channel: 'temperature', value: 1 } })).body.error, 'channel_not_writable');
  });

  it('lists the nodes the controller knows', async () => {
    const res = await http(`${gw.url}/api/connectors/zw/nodes`);
    assert.equal(res.status, 200, res.text);
    const byId = new Map(res.body.nodes.map((n: { id: number }) => [n.id, n]));
    assert.deepEqual([...byId.keys()], [1, 2, 3]);
    const plug = byId.get(2) as { commandClasses: string[]; status: string; device: string };
    assert.ok(plug.commandClasses.includes('Binary Switch'), plug.commandClasses.join());
    assert.equal(plug.device, 'plug-2');
    assert.equal(plug.status, 'alive');
    assert.ok((byId.get(3) as { commandClasses: string[] }).commandClasses.includes('Multilevel Sensor'));
    assert.equal((byId.get(1) as { status: string }).status, 'controller');
    assert.equal((await http(`${gw.url}/api/connectors/zw/browse`)).body.error, 'not_supported');
    const pin = await http(`${gw.url}/api/connectors/zw/include`, { body: { pin: '12345' } });
    assert.equal(pin.status, 409, pin.text);
    assert.equal(pin.body.error, 'conflict');
    assert.equal((await http(`${gw.url}/api/connectors/zw/include`, { body: { pin: 'abc' } })).body.error, 'bad_request');
  });

  it('include and exclude put the controller in inclusion/exclusion mode and stop it', async () => {
    // (zwave-js's mock controller enters and leaves these modes; it has no device to add: docs/pipeline.md)
    const include = (body: unknown) => http(`${gw.url}/api/connectors/zw/include`, { body });
    const exclude = (body: unknown) => http(`${gw.url}/api/connectors/zw/exclude`, { body });
    const started = await include({});
    assert.equal(started.status, 200, started.text);
    assert.deepEqual(started.body, { state: 'including', pendingPin: false });
    const twice = await exclude({});
    assert.equal(twice.status, 409);
    assert.match(twice.body.message, /inclusion is already running/);
    assert.equal((await include({ stop: true })).body.state, 'idle');
    const ex = await exclude({});
    assert.equal(ex.status, 200, ex.text);
    assert.equal(ex.body.state, 'excluding');
    assert.equal((await exclude({ stop: true })).body.state, 'idle');
    // The controller left exclusion mode: an inclusion starts again (it would fail if not).
    assert.equal((await include({ strategy: 'insecure' })).body.state, 'including');
    assert.equal((await include({ stop: true })).body.state, 'idle');
    assert.equal((await include({ strategy: 'nfc' })).body.error, 'bad_request');
  });

  it('recovers by itself after the controller is gone for 20 s', async () => {
    const before = await stats();
    await mock.stop(); // SIGKILL
    const killedAt = Date.now();
    // Its replacement loads during the outage and takes the port only when the 20 s are over.
    const replacement = mock.prepare();
    replacement.catch(() => undefined);
    const down = await waitFor(async () => {
      const s = await stats();
      return s.state !== 'connected' ? s : undefined;
    }, 'the connector to notice', 30_000);
    assert.ok(down.lastError, JSON.stringify(down));
    assert.equal((await http(`${gw.url}/api/health`)).body.components['connector:zw'].status, 'down');
    // The outage of the issue, 20 s: longer than zwave-js retries by itself.
    await new Promise((r) => setTimeout(r, Math.max(0, killedAt + 20_000 - Date.now())));
    await (await replacement).listen();
    const since = records.length;
    await waitFor(async () => {
      const s = await stats();
      return s.state === 'connected' && s.reconnects > before.reconnects;
    }, 'the connector to come back', 60_000);
    await waitFor(() => records.slice(since).some((r) => r.device === 'temp-3'), 'values after the outage', 30_000);
    assert.equal((await http(`${gw.url}/api/health`)).body.components['connector:zw'].status, 'up');
  });
});
