import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { ModbusServer, PYTHON } from './helpers/modbus-server.js';
import { TYPE_CHANNELS, TYPE_VALUES, TYPES_INIT } from './helpers/modbus-types.js';

const skip = skipUnlessPeer('python3-pymodbus (/usr/bin/python3)', PYTHON !== undefined);

function modbusConnector(port: number, devices: unknown[], extra: Record<string, unknown> = {}) {
  return { id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port, pollMs: 100, timeoutMs: 1000, reconnect: { initialMs: 100, maxMs: 500 }, devices, ...extra };
}

describe('modbus-tcp connector against pymodbus', { skip }, () => {
  describe('decoding every type and order, merged reads', () => {
    let server: ModbusServer;
    let gw: TestGateway;

    before(async () => {
      server = await ModbusServer.start({ init: TYPES_INIT });
      gw = await startTestGateway({
        pipeline: {
          connectors: [
            modbusConnector(server.port, [
              {
                id: 'types',
                channels: TYPE_CHANNELS,
              },
              // Holding address 1 is unused: maxGap 1 lets one read span it.
            ], { maxGap: 1 }),
          ],
          sinks: [{ id: 'ws', type: 'websocket' }],
        },
      });
    });

    after(async () => {
      await gw?.stop();
      await server?.kill();
    });

    it('decodes int16/uint16/int32/uint32/float32/float64 in every byte and word order, and bits', async () => {
      const device = await waitFor(async () => {
        const res = await http(`${gw.url}/api/devices/types`);
        return res.body?.lastRecord ? res.body : undefined;
      }, 'a first record from the types device');
      const v = Object.fromEntries(device.channels.map((c: { name: string; value: unknown }) => [c.name, c.value]));
      assert.deepEqual(v, TYPE_VALUES);
      assert.equal(device.connector, 'plc');
      assert.equal(device.connectorType, 'modbus-tcp');
      assert.equal(device.connectorState, 'connected');
      assert.ok(device.channels.every((c: { writable: boolean; ts: string }) => c.writable === false && !Number.isNaN(Date.parse(c.ts))));
    });

    it('merges neighbouring reads: one request per register table per poll', async () => {
      await waitFor(async () => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0].polls >= 5, 'five polls');
      await gw.gateway.pipeline.stop(); // no poll in flight past this point
      const polls = gw.gateway.pipeline.stats().connectors[0]!.polls;
      const { requests } = await server.command({ cmd: 'stats' });
      // Holding 0-33 in one read (across the unused address 1), the input register, coils 0-2, the discrete input.
      assert.deepEqual(requests, { hr: polls, ir: polls, co: polls, di: polls });
    });
  });

  describe('writes', () => {
    let server: ModbusServer;
    let gw: TestGateway;

    before(async () => {
      server = await ModbusServer.start({ init: { hr: { 0: [215] } } });
      gw = await startTestGateway({
        pipeline: {
          connectors: [
            modbusConnector(server.port, [
              {
                id: 'boiler',
                channels: [
                  { name: 'temperature', address: 0, type: 'int16', transform: [{ scale: 0.1 }] },
                  { name: 'setpoint', address: 40, type: 'float32', wordOrder: 'little', writable: true, transform: [{ scale: 0.1 }, { round: 1 }] },
                  { name: 'mode', address: 42, type: 'uint16', writable: true, transform: [{ map: { '0': 'off', '1': 'heat', '2': 'cool' } }] },
                  { name: 'level', address: 43, type: 'int16', writable: true, transform: [{ clamp: { min: 0, max: 100 } }] },
                  { name: 'half', address: 44, type: 'int16', writable: true, transform: [{ scale: 0.5 }] },
                  { name: 'ambiguous', address: 45, type: 'uint16', writable: true, transform: [{ map: { '0': 'idle', '1': 'idle', '2': 'run' } }] },
                  { name: 'relay', kind: 'coil', address: 5, writable: true },
                ],
              },
            ]),
          ],
        },
      });
      await waitFor(async () => (await http(`${gw.url}/api/devices/boiler`)).body?.connectorState === 'connected', 'the connector to connect');
    });

    after(async () => {
      await gw?.stop();
      await server?.kill();
    });

    it('inverts the transforms and writes registers and coils', async () => {
      const write = (channel: string, value: unknown) => http(`${gw.url}/api/devices/boiler/write`, { body: { channel, value } });

      let res = await write('setpoint', 21.5);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(res.body, { success: true, device: 'boiler', channel: 'setpoint', value: 21.5, written: 215 });
      // float32 215.0 = 0x4357 0x0000, written low word first (wordOrder little).
      assert.deepEqual(await server.get('hr', 40, 2), [0x0000, 0x4357]);

      res = await write('mode', 'cool');
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.written, 2);
      assert.deepEqual(await server.get('hr', 42), [2]);

      res = await write('relay', true);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(await server.get('co', 5), [1]);

      res = await write('level', 42);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(await server.get('hr', 43), [42]);

      // The next poll reads the written values back through the transforms.
      const device = await waitFor(async () => {
        const d = (await http(`${gw.url}/api/devices/boiler`)).body;
        const v = Object.fromEntries(d.channels.map((c: { name: string; value: unknown }) => [c.name, c.value]));
        return v.setpoint === 21.5 && v.mode === 'cool' && v.relay === true && v.level === 42 ? d : undefined;
      }, 'the written values in the next poll');
      assert.equal(device.channels.find((c: { name: string }) => c.name === 'temperature').value, 21.5);
      assert.equal(device.channels.find((c: { name: string }) => c.name === 'setpoint').writable, true);
    });

    it('answers a clear 4xx for what cannot be written', async () => {
      const write = (channel: unknown, value: unknown, device = 'boiler') => http(`${gw.url}/api/devices/${device}/write`, { body: { channel, value } });
      const cases: Array<[Promise<Awaited<ReturnType<typeof write>>>, number, string, RegExp]> = [
        [write('temperature', 20), 400, 'channel_not_writable', /read-only/],
        [write('level', 150), 400, 'not_invertible', /outside the channel's clamp \[0, 100\]/],
        [write('ambiguous', 'idle'), 400, 'not_invertible', /not invertible/],
        [write('half', 10.25), 400, 'invalid_value', /whole number/],
        [write('mode', 'boost'), 400, 'invalid_value', /not a number/],
        [write('half', 20000), 400, 'invalid_value', /-32768\.\.32767; 40000 is outside/],
        [write('relay', 'maybe'), 400, 'invalid_value', /true\/false/],
        [write('nope', 1), 404, 'channel_not_found', /temperature/],
        [write('setpoint', 1, 'no-such-device'), 404, 'device_not_found', /GET \/api\/devices/],
        [write(7, 1), 400, 'bad_request', /channel/],
        [write('setpoint', null), 400, 'invalid_value', /number, a string or a boolean/],
      ];
      for (const [pending, status, error, message] of cases) {
        const res = await pending;
        assert.equal(res.status, status, res.text);
        assert.equal(res.body.error, error, res.text);
        assert.match(res.body.message, message);
      }
      const raw = await http(`${gw.url}/api/devices/boiler/write`, { body: '[1', headers: { 'content-type': 'application/json' } });
      assert.equal(raw.status, 400);
      assert.deepEqual(await server.get('hr', 43, 3), [42, 0, 0], 'nothing was written by the refused requests');
    });
  });
});
