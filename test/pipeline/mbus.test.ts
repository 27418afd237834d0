import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MbusMeter, MbusMeterSet } from '../../emulator/fieldbus/mbus-meter.js';
import { openSerial, type OpenLine } from '../../src/pipeline/serial/serial-line.js';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { PtyPair, SOCAT } from '../helpers/pty-pair.js';

/** Every record of the emulated heat meter (emulator/fieldbus/mbus-meter.ts) as a channel. */
const CHANNELS = [
  'energy', 'volume', 'flowTemp', 'returnTemp', 'tempDiff', 'power', 'flow', 'fabrication', 'clock', 'onTime',
  'energyJ', 'outdoor', 'pressure', 'mass', 'date', 'voltage', 'volumeReal', 'energyLastBilling', 'flowBcdNegative',
].map((name, record) => ({ name, record }));

/** What each channel reads: value (or a check) and the VIF's base unit. */
const EXPECTED: Record<string, { value: unknown; unit: string | null }> = {
  flowTemp: { value: 65.4, unit: '°C' }, // 16-bit int, VIF 5Ah: 10^-1 °C
  returnTemp: { value: 42.1, unit: '°C' }, // VIF 5Eh
  tempDiff: { value: 23.3, unit: 'K' }, // VIF 61h: 10^-2 K
  power: { value: 5120, unit: 'W' }, // 32-bit int, VIF 2Bh: W
  flow: { value: 1.234, unit: 'm³/h' }, // VIF 3Bh: 10^-3 m³/h
  fabrication: { value: 12345678, unit: null }, // 8-digit BCD, VIF 78h
  energyJ: { value: 123456000000, unit: 'J' }, // 6-digit BCD, VIF 0Eh: 10^6 J
  outdoor: { value: -0.05, unit: '°C' }, // 8-bit signed, VIF 65h: 10^-2 °C
  pressure: { value: 0.15, unit: 'bar' }, // VIF 69h: 10^-2 bar
  mass: { value: 987654, unit: 'kg' }, // 48-bit int, VIF 1Bh
  date: { value: '2026-01-31', unit: null }, // date type G, VIF 6Ch
  voltage: { value: 230.1, unit: 'V' }, // VIF FDh 48h: 10^-1 V
  volumeReal: { value: 0.0015, unit: 'm³' }, // 32-bit real, VIF 13h: 10^-3 m³
  energyLastBilling: { value: 11000000, unit: 'Wh' }, // storage 1, VIF 06h: kWh
  flowBcdNegative: { value: -12, unit: 'm³/h' }, // 4-digit BCD with the sign nibble, VIF 3Eh
};

const device = async (gw: TestGateway, id: string) => (await http(`${gw.url}/api/devices/${id}`)).body;
const channel = (d: { channels: Array<{ name: string; value: unknown; unit: string | null }> }, name: string) => d.channels.find((c) => c.name === name)!;

function checkHeatMeter(d: Awaited<ReturnType<typeof device>>): void {
  for (const [name, want] of Object.entries(EXPECTED)) {
    const c = channel(d, name);
    assert.deepEqual({ name, value: c.value, unit: c.unit }, { name, ...want });
  }
  // Counters advance with every readout: energy (32-bit int, VIF 06h: kWh → Wh), volume (8-digit BCD, 10^-2 m³), on time (hours → s).
  const energy = channel(d, 'energy');
  assert.equal(energy.unit, 'Wh');
  assert.ok((energy.value as number) >= 12_345_000 && (energy.value as number) % 1000 === 0, `energy ${energy.value} Wh`);
  const volume = channel(d, 'volume');
  assert.equal(volume.unit, 'm³');
  assert.ok((volume.value as number) >= 4567.89, `volume ${volume.value}`);
  assert.equal(channel(d, 'onTime').unit, 's');
  assert.equal((channel(d, 'onTime').value as number) % 3600, 0);
  assert.match(String(channel(d, 'clock').value), /^\d{4}-\d\d-\d\dT\d\d:\d\d$/, 'date and time type F');
}

describe('mbus on a pty against the emulated meters', { skip: skipUnlessPeer('socat', SOCAT !== undefined) }, () => {
  let dir: string;
  let pty: PtyPair;
  let meterLine: OpenLine;
  const meters = [new MbusMeter(5, '12345678'), new MbusMeter(7, '87654321', 'SPO', 0x07)];
  let gw: TestGateway;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spore-mbus-'));
    pty = await PtyPair.start(dir);
    meterLine = await openSerial({ path: pty.b, baudRate: 2400, parity: 'even', dataBits: 8, stopBits: 1 }, 2000);
    new MbusMeterSet(meters).serve(meterLine.stream);
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          {
            id: 'heat',
            type: 'mbus',
            path: pty.a,
            pollMs: 200,
            timeoutMs: 500,
            interFrameDelayMs: 5,
            reconnect: { initialMs: 100, maxMs: 1000 },
            devices: [
              { id: 'heat-5', address: 5, channels: CHANNELS },
              { id: 'water-7', secondaryAddress: '87654321', channels: [{ name: 'volume', record: 1 }, { name: 'flowTemp', record: 2, unit: 'degC' }] },
              { id: 'absent-9', address: 9, channels: [{ name: 'energy', record: 0 }] },
            ],
          },
        ],
      },
    });
  });

  after(async () => {
    await gw?.stop();
    meterLine?.close();
    await pty?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('decodes integer, BCD and real records, scaled to the base unit of ten and more VIF codes, unit-tagged', async () => {
    const d = await waitFor(async () => ((await device(gw, 'heat-5')).lastRecord ? device(gw, 'heat-5') : undefined), 'a first record of the heat meter');
    checkHeatMeter(d);
    assert.equal(d.connectorType, 'mbus');
    assert.equal(d.health.state, 'ok');
    // Another readout: the counters moved on.
    const seq = d.lastRecord.seq;
    const later = await waitFor(async () => {
      const x = await device(gw, 'heat-5');
      return x.lastRecord.seq > seq ? x : undefined;
    }, 'a second readout');
    assert.ok((channel(later, 'energy').value as number) > (channel(d, 'energy').value as number), 'values change over time');
  });

  it('reads a meter by its secondary address; a configured unit overrides the VIF\'s', async () => {
    const w = await waitFor(async () => ((await device(gw, 'water-7')).lastRecord ? device(gw, 'water-7') : undefined), 'a record of the meter selected by secondary address');
    assert.equal(channel(w, 'volume').unit, 'm³');
    assert.ok((channel(w, 'volume').value as number) >= 4567.89);
    assert.deepEqual({ value: channel(w, 'flowTemp').value, unit: channel(w, 'flowTemp').unit }, { value: 65.4, unit: 'degC' });
  });

  it('reports the absent meter failing while the others keep answering', async () => {
    const a = await waitFor(async () => ((await device(gw, 'absent-9')).health.consecutiveFailures >= 2 ? device(gw, 'absent-9') : undefined), 'the absent meter to fail twice');
    assert.equal(a.health.state, 'failing');
    assert.match(a.health.error, /SND_NKE to address 9: no answer within 500 ms/);
    assert.equal((await device(gw, 'heat-5')).health.state, 'ok');
  });

  it('refuses a frame with a bad checksum and counts it', async () => {
    const before = (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
    const seq = (await device(gw, 'heat-5')).lastRecord.seq;
    const readouts = meters[0]!.readouts;
    meters[0]!.corruptNext = true;
    const failed = await waitFor(async () => {
      const d = await device(gw, 'heat-5');
      return d.health.state === 'failing' ? d : undefined;
    }, 'the corrupted answer to be refused');
    assert.match(failed.health.error, /REQ_UD2 to address 5: frame refused: long frame checksum mismatch/);
    assert.ok(meters[0]!.readouts > readouts);
    const after = (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
    assert.ok(after.errors > before.errors, 'counted among the connector\'s errors');
    // The refused readout produced no record; the next good one does.
    const back = await waitFor(async () => {
      const d = await device(gw, 'heat-5');
      return d.health.state === 'ok' && d.lastRecord.seq > seq ? d : undefined;
    }, 'the meter read again');
    checkHeatMeter(back);
  });

  it('scans the line: exactly the meters present answer', async () => {
    const res = await http(`${gw.url}/api/connectors/heat/scan`, { body: { from: 3, to: 8 } });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body, { addresses: [5, 7] });
    const rpc = await http(`${gw.url}/rpc`, { body: { jsonrpc: '2.0', id: 1, method: 'connectors.scan', params: { id: 'heat', from: 4, to: 6 } } });
    assert.deepEqual(rpc.body.result, { addresses: [5] });
    const bad = await http(`${gw.url}/api/connectors/heat/scan`, { body: { from: 0, to: 251 } });
    assert.equal(bad.status, 400);
    assert.equal((await http(`${gw.url}/api/connectors/nope/scan`, { body: { from: 0, to: 1 } })).status, 404);
  });
});

describe('mbus-tcp against the emulated meters behind a device server', () => {
  let server: Server;
  let gw: TestGateway;

  before(async () => {
    const set = new MbusMeterSet([new MbusMeter(5, '12345678'), new MbusMeter(6, '00000006')]);
    server = createServer((socket) => set.serve(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          { id: 'heat-lan', type: 'mbus-tcp', host: '127.0.0.1', port, pollMs: 200, timeoutMs: 500, interFrameDelayMs: 0, devices: [{ id: 'lan-5', address: 5, channels: CHANNELS }] },
        ],
      },
    });
  });

  after(async () => {
    await gw?.stop();
    server?.close();
  });

  it('reads and decodes the same records over TCP, and scans', async () => {
    const d = await waitFor(async () => ((await device(gw, 'lan-5')).lastRecord ? device(gw, 'lan-5') : undefined), 'a first record over TCP');
    checkHeatMeter(d);
    assert.equal(d.connectorType, 'mbus-tcp');
    const res = await http(`${gw.url}/api/connectors/heat-lan/scan`, { body: { from: 4, to: 7 } });
    assert.deepEqual(res.body, { addresses: [5, 6] });
  });
});
