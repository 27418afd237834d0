import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, startTestGateway, watchChild, type SpawnedProcess, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { PtyPair, SOCAT } from '../helpers/pty-pair.js';

// The built binary (`npm run build`; CI's `npm ci` builds): it starts in a fraction of the time tsx takes on a loaded machine.
const MAIN = 'dist/emulator/cli/fieldbus-sim-main.js';

function spawnSim(args: string[]): SpawnedProcess {
  assert.ok(existsSync(MAIN), 'dist/ is missing: run `npm run build` first');
  return watchChild(spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
}

const device = async (gw: TestGateway, id: string) => (await http(`${gw.url}/api/devices/${id}`)).body;
const values = (d: { channels: Array<{ name: string; value: unknown }> }) => Object.fromEntries(d.channels.map((c) => [c.name, c.value]));

describe('spore-fieldbus-sim command line', () => {
  it('names the option and the accepted values on bad input, in one line, exit 2', async () => {
    for (const [args, pattern] of [
      [[], /nothing to serve: give at least one of -rtu-serial, -rtu-tcp, -mbus-serial, -mbus-tcp/],
      [['-rtu-tcp', '0', '-rtu-units', '0,300'], /-rtu-units.*unit ids 1-247/],
      [['-rtu-serial', '/tmp/x', '-rtu-line', '9600'], /-rtu-line.*<baud>-<data bits 7\|8><parity N\|E\|O>/],
    ] as Array<[string[], RegExp]>) {
      const p = spawnSim(args);
      assert.equal(await p.exited, 2, args.join(' '));
      const lines = p.stderr().trim().split('\n');
      assert.equal(lines.length, 1, p.stderr());
      assert.match(lines[0]!, pattern);
    }
  });
});

/**
 * The binary (issue 13 §4) serving both buses at once, each on a serial device (one end of a
 * socat pty pair) and on a TCP port; the real gateway's four field-bus connectors read them.
 */
describe('spore-fieldbus-sim on ptys and TCP ports, read by the gateway', { skip: skipUnlessPeer('socat', SOCAT !== undefined) }, () => {
  let dir: string;
  let rtuPty: PtyPair;
  let mbusPty: PtyPair;
  let sim: SpawnedProcess;
  let gw: TestGateway;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spore-fieldbus-sim-'));
    rtuPty = await PtyPair.start(dir, 'rtu');
    mbusPty = await PtyPair.start(dir, 'mbus');
    sim = spawnSim(['-rtu-serial', rtuPty.b, '-rtu-line', '19200-8E1', '-rtu-units', '1-2', '-rtu-tcp', '0', '-mbus-serial', mbusPty.b, '-mbus-tcp', '0', '-mbus-addresses', '5,7', '-tick-ms', '100']);
    const out = await waitFor(() => {
      if (sim.child.exitCode !== null) throw new Error(`spore-fieldbus-sim exited: ${sim.stderr()}`);
      return sim.stdout().includes('ready') ? sim.stdout() : undefined;
    }, 'spore-fieldbus-sim to be ready', 30_000);
    const port = (bus: string) => Number(new RegExp(`${bus} .* on tcp 127\\.0\\.0\\.1:(\\d+)`).exec(out)![1]);
    const meter = (unitId: number) => ({
      unitId,
      channels: [
        { name: 'power', address: 0, type: 'float32', unit: 'W' },
        { name: 'energy', address: 2, type: 'uint32', unit: 'Wh' },
        { name: 'counter', address: 5, type: 'uint16' },
        { name: 'temperature', kind: 'input', address: 0, type: 'int16', transform: [{ scale: 0.1 }] },
      ],
    });
    const heat = [{ name: 'energy', record: 0 }, { name: 'flowTemp', record: 2 }];
    const fast = { pollMs: 150, timeoutMs: 1000, reconnect: { initialMs: 100, maxMs: 500 } };
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          { id: 'rtu-serial', type: 'modbus-rtu', path: rtuPty.a, baudRate: 19200, parity: 'even', ...fast, devices: [{ id: 'em-1', ...meter(1) }, { id: 'em-2', ...meter(2) }, { id: 'em-3', ...meter(3) }] },
          { id: 'rtu-lan', type: 'modbus-rtu-tcp', host: '127.0.0.1', port: port('Modbus RTU'), ...fast, devices: [{ id: 'lan-em-2', ...meter(2) }] },
          { id: 'mbus-serial', type: 'mbus', path: mbusPty.a, ...fast, devices: [{ id: 'heat-5', address: 5, channels: heat }, { id: 'heat-7', secondaryAddress: '10000007', channels: heat }] },
          { id: 'mbus-lan', type: 'mbus-tcp', host: '127.0.0.1', port: port('M-Bus'), ...fast, devices: [{ id: 'lan-heat-5', address: 5, channels: heat }] },
        ],
      },
    });
  });

  after(async () => {
    await gw?.stop();
    await sim?.kill('SIGTERM');
    await rtuPty?.stop();
    await mbusPty?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the RTU units on the serial line and on TCP, values changing over time; other units silent', async () => {
    for (const id of ['em-1', 'em-2', 'lan-em-2']) {
      const first = await waitFor(async () => ((await device(gw, id)).lastRecord ? device(gw, id) : undefined), `a record of ${id}`, 30_000);
      const v = values(first);
      assert.ok((v.power as number) >= 1200 && (v.power as number) <= 2460, `${id} power ${v.power} W`);
      assert.ok((v.temperature as number) > 15 && (v.temperature as number) < 28, `${id} temperature ${v.temperature} °C`);
      assert.equal(first.channels.find((c: { name: string }) => c.name === 'energy').unit, 'Wh');
      const later = await waitFor(async () => {
        const d = await device(gw, id);
        return (values(d).counter as number) !== v.counter ? d : undefined;
      }, `${id}'s counter to change`, 30_000);
      assert.equal(later.health.state, 'ok');
    }
    // Each unit is its own meter: unit 2's energy starts at 2·10⁶ Wh, unit 1's at 10⁶.
    assert.ok((values(await device(gw, 'em-2')).energy as number) >= 2_000_000);
    assert.ok((values(await device(gw, 'em-1')).energy as number) < 2_000_000);
    const ghost = await waitFor(async () => ((await device(gw, 'em-3')).health.consecutiveFailures >= 1 ? device(gw, 'em-3') : undefined), 'unit 3 (not served) to fail', 30_000);
    assert.equal(ghost.health.state, 'failing');
  });

  it('serves the M-Bus meters on the serial line and on TCP, by primary and by secondary address', async () => {
    for (const id of ['heat-5', 'heat-7', 'lan-heat-5']) {
      const first = await waitFor(async () => ((await device(gw, id)).lastRecord ? device(gw, id) : undefined), `a readout of ${id}`, 30_000);
      assert.deepEqual(
        first.channels.map((c: { name: string; unit: string }) => [c.name, c.unit]),
        [['energy', 'Wh'], ['flowTemp', '°C']],
      );
      assert.equal(values(first).flowTemp, 65.4);
      const energy = values(first).energy as number;
      await waitFor(async () => (values(await device(gw, id)).energy as number) > energy, `${id}'s energy to count up`, 30_000);
    }
    // Each silent address costs one timeoutMs (1 s): a short range.
    const scan = await http(`${gw.url}/api/connectors/mbus-serial/scan`, { body: { from: 4, to: 7 } });
    assert.deepEqual(scan.body, { addresses: [5, 7] });
  });

  it('stops cleanly on SIGTERM', async () => {
    assert.equal(await sim.kill('SIGTERM'), 0);
  });
});
