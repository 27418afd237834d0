import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { PtyPair, SOCAT } from '../helpers/pty-pair.js';
import { ModbusServer, PYTHON } from './helpers/modbus-server.js';
import { TYPE_CHANNELS, TYPE_VALUES, TYPES_INIT } from './helpers/modbus-types.js';

const skip = skipUnlessPeer('socat', SOCAT !== undefined) || skipUnlessPeer('python3-pymodbus (/usr/bin/python3)', PYTHON !== undefined);

const COUNTER = 40; // holding register counting up in every unit of the pymodbus slave
const UNITS = [1, 2, 3];
const SILENT = 9; // configured, but no slave answers it

function devices() {
  return [
    { id: 'types', unitId: 1, channels: TYPE_CHANNELS },
    {
      id: 'meter-b',
      unitId: 2,
      channels: [
        { name: 'counter', address: COUNTER, type: 'uint16', unit: 'Wh' },
        { name: 'setpoint', address: 50, type: 'int16', writable: true, transform: [{ scale: 0.1 }] },
      ],
    },
    { id: 'meter-c', unitId: 3, channels: [{ name: 'counter', address: COUNTER, type: 'uint16' }] },
    { id: 'ghost', unitId: SILENT, channels: [{ name: 'counter', address: COUNTER, type: 'uint16' }] },
  ];
}

const device = async (gw: TestGateway, id: string) => (await http(`${gw.url}/api/devices/${id}`)).body;
const value = (d: { channels: Array<{ name: string; value: unknown }> }, name: string) => d.channels.find((c) => c.name === name)?.value;

/**
 * One bus, one conversation (issue 13 §3) on real pseudo-terminals: pymodbus RTU slaves
 * (units 1-3) on one end of a socat pty pair, the gateway's modbus-rtu connector on the other,
 * a fourth unit configured but silent; then the same over TCP with RTU framing.
 */
describe('modbus-rtu on a pty against pymodbus RTU slaves', { skip }, () => {
  let dir: string;
  let pty: PtyPair;
  let slaves: ModbusServer;
  let gw: TestGateway;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spore-rtu-'));
    pty = await PtyPair.start(dir);
    slaves = await ModbusServer.start({ serial: pty.b, baud: 19200, units: UNITS, init: TYPES_INIT, counter: COUNTER, counterMs: 100 });
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          {
            id: 'line1',
            type: 'modbus-rtu',
            path: pty.a,
            baudRate: 19200,
            parity: 'none',
            dataBits: 8,
            stopBits: 1,
            pollMs: 100,
            // Generous: pymodbus on a loaded CI machine can take a while to answer; the silent unit costs this much each time.
            timeoutMs: 1000,
            interFrameDelayMs: 2,
            maxGap: 1,
            // The silent unit is retried every maxMs, each attempt costing timeoutMs of line time: the
            // others must get several polls in between even when pymodbus answers slowly on a loaded machine.
            reconnect: { initialMs: 100, maxMs: 2000 },
            devices: devices(),
          },
        ],
      },
    });
  });

  after(async () => {
    await gw?.stop();
    await slaves?.kill();
    await pty?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes every data type in every byte and word order through RTU, and bits', async () => {
    const d = await waitFor(async () => ((await device(gw, 'types')).lastRecord ? device(gw, 'types') : undefined), 'a first record from unit 1');
    const v = Object.fromEntries(d.channels.map((c: { name: string; value: unknown }) => [c.name, c.value]));
    assert.deepEqual(v, TYPE_VALUES);
    assert.equal(d.connectorType, 'modbus-rtu');
    assert.equal(d.connectorState, 'connected');
    assert.equal(d.health.state, 'ok');
    assert.ok(!Number.isNaN(Date.parse(d.health.lastSuccess)));
    const b = await device(gw, 'meter-b');
    assert.equal(b.channels.find((c: { name: string }) => c.name === 'counter').unit, 'Wh', 'a configured unit is shown');
  });

  it('a silent unit is reported failing and does not stall the others', async () => {
    const ghost = await waitFor(async () => {
      const g = await device(gw, 'ghost');
      return g.health?.consecutiveFailures >= 2 ? g : undefined;
    }, 'the silent unit to fail twice');
    assert.equal(ghost.health.state, 'failing');
    assert.match(ghost.health.error, /unit 9: no answer within 1000 ms/);
    assert.equal(ghost.health.lastSuccess, null);
    assert.equal(ghost.lastRecord, null, 'no record for a unit that never answered');
    // While the silent unit keeps failing (polled with backoff), the others keep their pollMs:
    // they answer many polls for each attempt at the silent one. A line that waited for the
    // silent unit, or polled it every cycle, would give about one record per attempt.
    const start = { b: (await device(gw, 'meter-b')).lastRecord.seq, c: (await device(gw, 'meter-c')).lastRecord.seq, fails: ghost.health.consecutiveFailures };
    const b = await waitFor(async () => {
      const d = await device(gw, 'meter-b');
      return d.lastRecord.seq >= start.b + 12 ? d : undefined;
    }, 'a dozen more records from meter-b', 30_000);
    const c = await device(gw, 'meter-c');
    const g = await device(gw, 'ghost');
    const attempts = g.health.consecutiveFailures - start.fails;
    assert.equal(g.health.state, 'failing');
    assert.ok(b.lastRecord.seq - start.b > 2 * attempts, `meter-b kept updating (${b.lastRecord.seq - start.b} records while unit 9 was tried ${attempts} times)`);
    assert.ok(c.lastRecord.seq - start.c > 2 * attempts, `meter-c kept updating (${c.lastRecord.seq - start.c} records)`);
    assert.equal(b.health.state, 'ok');
    assert.equal(b.connectorState, 'connected', 'one silent slave is not a line failure');
    const stats = (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
    assert.equal(stats.reconnects, 0, 'the line was never reset for the silent unit');
  });

  it('writes through RTU to the right unit', async () => {
    const res = await http(`${gw.url}/api/devices/meter-b/write`, { body: { channel: 'setpoint', value: -12.5 } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.written, -125);
    assert.deepEqual(await slaves.get('hr', 50, 1, 2), [0x10000 - 125]);
    assert.deepEqual(await slaves.get('hr', 50, 1, 3), [0], 'unit 3 untouched');
    await waitFor(async () => value(await device(gw, 'meter-b'), 'setpoint') === -12.5, 'the written value read back');
  });

  it('scans the line: exactly the units present answer', async () => {
    const res = await http(`${gw.url}/api/connectors/line1/scan`, { body: { from: 1, to: 5 } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { addresses: UNITS });
    const bad = await http(`${gw.url}/api/connectors/line1/scan`, { body: { from: 5, to: 2 } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'bad_request');
  });

  it('recovers by itself when the serial line vanishes and comes back on the same path', async () => {
    const before = (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
    await slaves.kill();
    await pty.stop(); // the adapter is unplugged: the device node is gone
    const down = await waitFor(async () => {
      const s = (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
      return s.state === 'error' && s.lastError?.includes(pty.a) ? s : undefined;
    }, 'the connector to notice the line is gone');
    assert.match(down.lastError, /open .*tty-a|tty-a: /);
    const health = (await http(`${gw.url}/api/health`)).body;
    assert.equal(health.components['connector:line1'].status, 'down');
    await waitFor(async () => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0].errors >= down.errors + 2, 'reopen attempts with backoff');

    await pty.start(); // plugged in again, same path
    await slaves.start();
    const seq = (await device(gw, 'meter-c')).lastRecord.seq;
    const back = await waitFor(async () => {
      const s = (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
      return s.state === 'connected' && s.reconnects > before.reconnects ? s : undefined;
    }, 'the line to be reopened', 15_000);
    assert.ok(back.errors > down.errors, 'the failed reopen attempts were counted');
    // (Not lastError: on a loaded machine a slow answer after the reopen may have replaced it.)
    const c = await waitFor(async () => {
      const d = await device(gw, 'meter-c');
      return d.lastRecord.seq > seq + 2 && d.health.state === 'ok' ? d : undefined;
    }, 'fresh values after the line came back', 30_000);
    assert.equal(c.connectorState, 'connected');
    assert.equal((await http(`${gw.url}/api/health`)).body.components['connector:line1'].status, 'up');
  });
});

describe('modbus-rtu-tcp: RTU frames over TCP against pymodbus', { skip: skipUnlessPeer('python3-pymodbus (/usr/bin/python3)', PYTHON !== undefined) }, () => {
  let slaves: ModbusServer;
  let gw: TestGateway;

  before(async () => {
    slaves = await ModbusServer.start({ framer: 'rtu', units: UNITS, init: TYPES_INIT, counter: COUNTER, counterMs: 100 });
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          { id: 'line2', type: 'modbus-rtu-tcp', host: '127.0.0.1', port: slaves.port, pollMs: 100, timeoutMs: 1000, maxGap: 1, reconnect: { initialMs: 100, maxMs: 400 }, devices: devices() },
        ],
      },
    });
  });

  after(async () => {
    await gw?.stop();
    await slaves?.kill();
  });

  it('decodes every type, keeps the others going past a silent unit, and writes', async () => {
    const d = await waitFor(async () => ((await device(gw, 'types')).lastRecord ? device(gw, 'types') : undefined), 'a first record from unit 1');
    assert.deepEqual(Object.fromEntries(d.channels.map((c: { name: string; value: unknown }) => [c.name, c.value])), TYPE_VALUES);
    assert.equal(d.connectorType, 'modbus-rtu-tcp');
    const ghost = await waitFor(async () => {
      const g = await device(gw, 'ghost');
      return g.health?.consecutiveFailures >= 2 ? g : undefined;
    }, 'the silent unit to fail twice');
    assert.equal(ghost.health.state, 'failing');
    const seq = (await device(gw, 'meter-c')).lastRecord.seq;
    await waitFor(async () => (await device(gw, 'meter-c')).lastRecord.seq >= seq + 5, 'meter-c to keep updating');
    const stats = (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
    assert.equal(stats.state, 'connected');
    assert.equal(stats.reconnects, 0, 'a silent unit behind a device server does not reset the connection');
    const res = await http(`${gw.url}/api/devices/meter-b/write`, { body: { channel: 'setpoint', value: 7 } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(await slaves.get('hr', 50, 1, 2), [70]);
    const scan = await http(`${gw.url}/api/connectors/line2/scan`, { body: { from: 1, to: 4 } });
    assert.deepEqual(scan.body, { addresses: UNITS });
  });
});
