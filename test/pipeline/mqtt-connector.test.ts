import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { publish, Subscriber } from './helpers/mqtt-clients.js';

const skip = skipUnlessPeer('mosquitto', MOSQUITTO !== undefined);

describe('mqtt connector: several brokers, wildcards with {n} captures, JSON paths, writes', { skip }, () => {
  let brokerA: Mosquitto;
  let brokerB: Mosquitto;
  let gw: TestGateway;
  let ws: WsRecorder;
  const device = async (id: string) => (await http(`${gw.url}/api/devices/${id}`)).body;
  const stats = async (id: string) => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors.find((c: { id: string }) => c.id === id);

  before(async () => {
    brokerA = await Mosquitto.start();
    brokerB = await Mosquitto.start();
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          {
            id: 'site-a',
            type: 'mqtt',
            url: brokerA.url,
            reconnectPeriodMs: 200,
            subscribe: [
              { topic: 'sensors/+/reading', device: '{1}', channels: { temperature: '$.t', humidity: '$.h' } },
              { topic: 'plant/#', device: 'plant-{1}-{2}', payload: 'text', channels: { value: '$' } },
            ],
          },
          {
            id: 'site-b',
            type: 'mqtt',
            url: brokerB.url.replace('mqtt://', 'tcp://'),
            reconnectPeriodMs: 200,
            subscribe: [
              {
                topic: 'factory/+/+/state',
                qos: 0,
                device: '{2}',
                ts: '$.time',
                channels: { running: '$.state.running', speed: { path: '$.speeds[1]', transform: [{ scale: 2 }] }, label: { path: '$.label', writable: false } },
                write: { topic: 'factory/cmd/{device}/{channel}', format: 'json' },
              },
            ],
          },
        ],
        sinks: [{ id: 'ws', type: 'websocket' }],
      },
    });
    ws = await WsRecorder.connect(gw.url);
    await waitFor(async () => (await stats('site-a')).state === 'connected' && (await stats('site-b')).state === 'connected', 'both connectors');
  });

  after(async () => {
    ws?.close();
    await gw?.stop();
    await brokerA?.destroy();
    await brokerB?.destroy();
  });

  it('names devices from topic levels and extracts channels with JSON paths', async () => {
    await publish(brokerA.url, [
      { topic: 'sensors/boiler/reading', payload: JSON.stringify({ t: 21.5, h: 40, other: 1 }) },
      { topic: 'sensors/tank/reading', payload: JSON.stringify({ t: 8 }) },
      { topic: 'plant/line1/temp', payload: '42.5' },
      { topic: 'plant/line1/mode', payload: 'auto' },
    ]);
    await publish(brokerB.url, [
      { topic: 'factory/hall/press1/state', payload: JSON.stringify({ state: { running: true }, speeds: [1, 2.5], label: 'P1', time: '2024-01-15T10:30:00.123Z' }) },
    ]);
    await waitFor(() => ws.byTopic('telemetry/press1').length === 1 && ws.byTopic('telemetry/plant-line1-mode').length === 1, 'the records');
    assert.deepEqual(ws.byTopic('telemetry/boiler')[0].values, { temperature: 21.5, humidity: 40 });
    assert.deepEqual(ws.byTopic('telemetry/tank')[0].values, { temperature: 8 }, 'a missing path leaves the channel out');
    assert.deepEqual(ws.byTopic('telemetry/plant-line1-temp')[0].values, { value: 42.5 });
    assert.deepEqual(ws.byTopic('telemetry/plant-line1-mode')[0].values, { value: 'auto' });
    const press = ws.byTopic('telemetry/press1')[0];
    assert.deepEqual(press.values, { running: true, speed: 5, label: 'P1' });
    assert.equal(press.ts, '2024-01-15T10:30:00.123Z', 'the timestamp comes from the payload');
    assert.equal(press.connector, 'site-b');
    const boiler = await device('boiler');
    assert.equal(boiler.connector, 'site-a');
    assert.equal(boiler.connectorType, 'mqtt');
    assert.equal(boiler.connectorState, 'connected');
    assert.deepEqual(boiler.channels.map((c: { name: string; value: unknown; writable: boolean }) => [c.name, c.value, c.writable]), [['temperature', 21.5, false], ['humidity', 40, false]]);
    const p1 = await device('press1');
    assert.deepEqual(p1.channels.map((c: { name: string; writable: boolean }) => [c.name, c.writable]), [['running', true], ['speed', true], ['label', false]]);
  });

  it('skips and counts bad messages: invalid device names, non-JSON, names of another connector\'s devices', async () => {
    const before = await stats('site-a');
    const beforeB = await stats('site-b');
    await publish(brokerA.url, [
      { topic: 'sensors/bad name/reading', payload: '{"t":1}' },
      { topic: 'sensors/x/reading', payload: 'not json' },
      { topic: 'sensors/y/reading', payload: '{"t":{"nested":1}}' },
    ]);
    await publish(brokerB.url, [{ topic: 'factory/hall/boiler/state', payload: '{"state":{"running":false}}' }]);
    const a = await waitFor(async () => {
      const s = await stats('site-a');
      return s.errors >= before.errors + 3 ? s : undefined;
    }, 'three errors on site-a');
    assert.equal(a.state, 'connected', 'bad messages do not take the connector down');
    const b = await waitFor(async () => {
      const s = await stats('site-b');
      return s.errors > beforeB.errors ? s : undefined;
    }, 'the stolen device name refused');
    assert.match(b.lastError, /belongs to another connector/);
    assert.equal((await device('boiler')).connector, 'site-a');
    assert.equal((await http(`${gw.url}/api/devices/x`)).status, 200, 'the device exists (its name was valid) but has no record');
    assert.equal((await device('x')).lastRecord, null);
  });

  it('writes by publishing to the write topic, with the transform inverted', async () => {
    const commands = await Subscriber.connect(brokerB.url, 'factory/cmd/#');
    try {
      const res = await http(`${gw.url}/api/devices/press1/write`, { body: { channel: 'speed', value: 10 } });
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { success: true, device: 'press1', channel: 'speed', value: 10, written: 5 });
      await waitFor(() => commands.messages.length === 1, 'the command');
      assert.deepEqual(commands.messages[0], { topic: 'factory/cmd/press1/speed', payload: '{"speed":5}' });
      const refused = await http(`${gw.url}/api/devices/press1/write`, { body: { channel: 'label', value: 'x' } });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error, 'channel_not_writable');
      const noTopic = await http(`${gw.url}/api/devices/boiler/write`, { body: { channel: 'temperature', value: 1 } });
      assert.equal(noTopic.status, 400);
      assert.equal(noTopic.body.error, 'channel_not_writable');
    } finally {
      await commands.close();
    }
  });

  it('reconnects to a broker that restarts and keeps receiving', async () => {
    const before = await stats('site-a');
    await brokerA.stop();
    await waitFor(async () => (await stats('site-a')).state !== 'connected', 'the connector to notice');
    assert.equal((await http(`${gw.url}/api/health`)).body.status, 'degraded');
    await brokerA.start();
    await waitFor(async () => {
      const s = await stats('site-a');
      return s.state === 'connected' && s.reconnects > before.reconnects;
    }, 'the reconnect');
    await publish(brokerA.url, [{ topic: 'sensors/boiler/reading', payload: JSON.stringify({ t: 30 }) }]);
    await waitFor(() => ws.byTopic('telemetry/boiler').some((m) => m.values.temperature === 30), 'a message after the restart');
  });
});
