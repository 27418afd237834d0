/**
 * The M-Bus scan of the "add a connector" flow (issue 15 §1): POST /api/config/scan-connector
 * opens a line no connector uses yet — a real pty pair (socat) or a TCP device server — finds
 * the emulated meters, reads each once, closes the line; bad bodies, a missing port and a
 * second scan of a busy line get clear answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MbusMeter, MbusMeterSet } from '../../emulator/fieldbus/mbus-meter.js';
import { openSerial, type OpenLine } from '../../src/pipeline/serial/serial-line.js';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { PtyPair, SOCAT } from '../helpers/pty-pair.js';

interface Meter {
  address: number;
  id: string | null;
  manufacturer: string | null;
  medium: number | null;
  records: Array<{ index: number; quantity: string; unit: string | null; value: unknown }>;
  error: string | null;
}

describe('M-Bus scan before a connector exists (issue 15 §1)', () => {
  let gw: TestGateway;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spore-mbus-survey-'));
    gw = await startTestGateway();
  });
  after(async () => {
    await gw?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const scan = (body: unknown) => http(`${gw.url}/api/config/scan-connector`, { body });

  it('finds the meters on a serial line, reads their records, and frees the port', { skip: skipUnlessPeer('socat', SOCAT !== undefined) }, async () => {
    const pty = await PtyPair.start(dir);
    let line: OpenLine | undefined;
    try {
      line = await openSerial({ path: pty.b, baudRate: 2400, parity: 'even', dataBits: 8, stopBits: 1 }, 2000);
      const meters = new MbusMeterSet([new MbusMeter(3, '12345678'), new MbusMeter(8, '87654321', 'SPO', 0x07)]);
      meters.serve(line.stream);
      const connector = { type: 'mbus', path: pty.a, timeoutMs: 200, interFrameDelayMs: 5, id: 'ignored', devices: [] };
      // A second scan of the same line while the first runs is refused, not interleaved.
      const [res, second] = await Promise.all([scan({ connector, from: 0, to: 9 }), new Promise((r) => setTimeout(r, 50)).then(() => scan({ connector, from: 0, to: 1 }))]);
      assert.equal(res.status, 200, res.text);
      assert.equal(second.status, 409, second.text);
      assert.match(second.body.message, /already running/);
      const found = res.body.meters as Meter[];
      assert.deepEqual(found.map((m) => [m.address, m.id, m.medium, m.error]), [[3, '12345678', 4, null], [8, '87654321', 7, null]]);
      assert.equal(found[0]!.records.length, 19);
      assert.deepEqual(found[0]!.records[2], { index: 2, quantity: found[0]!.records[2]!.quantity, unit: '°C', value: 65.4, function: 'instantaneous', storage: 0 });
      assert.equal(found[0]!.records[0]!.unit, 'Wh');
      // The port was closed: another scan opens it again.
      const again = await scan({ connector, from: 8, to: 8 });
      assert.equal(again.status, 200, again.text);
      assert.deepEqual((again.body.meters as Meter[]).map((m) => m.address), [8]);
    } finally {
      line?.close();
      await pty.stop();
    }
  });

  it('scans behind a TCP device server and reports a readout that failed', async () => {
    const bad = new MbusMeter(6, '00000006');
    const set = new MbusMeterSet([new MbusMeter(5, '12345678'), bad]);
    const server: Server = createServer((socket) => set.serve(socket));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      bad.corruptNext = true;
      const res = await scan({ connector: { type: 'mbus-tcp', host: '127.0.0.1', port: (server.address() as { port: number }).port, timeoutMs: 200, interFrameDelayMs: 0 }, from: 4, to: 7 });
      assert.equal(res.status, 200, res.text);
      const found = res.body.meters as Meter[];
      assert.deepEqual(found.map((m) => m.address), [5, 6]);
      assert.equal(found[0]!.error, null);
      assert.match(found[1]!.error ?? '', /checksum/i);
      assert.deepEqual(found[1]!.records, []);
    } finally {
      server.close();
    }
  });

  it('answers bad bodies with the problem paths, and a missing port with the reason', async () => {
    const noType = await scan({ connector: { path: '/dev/x' } });
    assert.equal(noType.status, 400);
    assert.equal(noType.body.error, 'invalid_config');
    assert.ok(noType.body.problems.some((p: { path: string }) => p.path === 'connector.type'), noType.text);
    const backwards = await scan({ connector: { type: 'mbus-tcp', host: '127.0.0.1' }, from: 9, to: 3 });
    assert.equal(backwards.status, 400);
    assert.ok(backwards.body.problems.some((p: { path: string }) => p.path === 'to'), backwards.text);
    const reserved = await scan({ connector: { type: 'mbus-tcp', host: '127.0.0.1' }, from: 0, to: 253 });
    assert.equal(reserved.status, 400);
    const missing = await scan({ connector: { type: 'mbus', path: join(dir, 'no-such-tty') }, from: 0, to: 1 });
    assert.equal(missing.status, 503, missing.text);
    assert.equal(missing.body.error, 'device_unavailable');
    assert.match(missing.body.message, /cannot open .*no-such-tty/);
  });
});
