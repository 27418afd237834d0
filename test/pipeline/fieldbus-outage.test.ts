import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MbusMeter, MbusMeterSet } from '../../emulator/fieldbus/mbus-meter.js';
import { openSerial, type OpenLine } from '../../src/pipeline/serial/serial-line.js';
import { http } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { PtyPair, SOCAT } from '../helpers/pty-pair.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { spawnGateway, type GatewayProcess } from './helpers/gateway.js';
import { ModbusServer, PYTHON } from './helpers/modbus-server.js';
import { Subscriber } from './helpers/mqtt-clients.js';

const skip =
  skipUnlessPeer('mosquitto', MOSQUITTO !== undefined) ||
  skipUnlessPeer('socat', SOCAT !== undefined) ||
  skipUnlessPeer('python3-pymodbus (/usr/bin/python3)', PYTHON !== undefined);

const COUNTER = 40; // holding register counting up in the pymodbus RTU slave
const DEVICES = ['rtu-meter', 'heat-5'] as const;
const MAX_INFLIGHT = 8; // the sink's buffer.maxInflight: bounds what a crash can send twice

/**
 * Issue 13's acceptance "durable export of these records across a gateway SIGKILL as for
 * modbus-tcp" (the modbus-tcp version is outage.test.ts): a Modbus RTU slave (pymodbus on a
 * socat pty) and an M-Bus heat meter (the emulator on a second pty) read by the real gateway
 * process; the export broker stopped; the gateway killed with SIGKILL during the outage and
 * restarted on the same data directory and the same ptys; the broker back → the subscriber
 * holds every seq of both devices from 1 on, each as produced, and duplicates (at-least-once,
 * docs/pipeline.md) are identical and bounded by what was in flight, not the whole backlog.
 */
describe('field-bus records exported durably across a broker outage and a kill -9', { skip }, () => {
  let dir: string;
  let rtuPty: PtyPair;
  let mbusPty: PtyPair;
  let slave: ModbusServer;
  let meterLine: OpenLine;
  let broker: Mosquitto;
  let subscriber: Subscriber;
  let gateway: GatewayProcess | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'spore-fieldbus-outage-'));
    rtuPty = await PtyPair.start(dir, 'rtu');
    mbusPty = await PtyPair.start(dir, 'mbus');
    slave = await ModbusServer.start({ serial: rtuPty.b, baud: 19200, units: [1], counter: COUNTER, counterMs: 100 });
    // The meter's end stays open across the gateway's kill: socat keeps the pair while one end closes and reopens.
    meterLine = await openSerial({ path: mbusPty.b, baudRate: 2400, parity: 'even', dataBits: 8, stopBits: 1 }, 5000);
    new MbusMeterSet([new MbusMeter(5, '12345678')]).serve(meterLine.stream);
    broker = await Mosquitto.start({ persistence: true });
    subscriber = await Subscriber.connect(broker.url, 'telemetry/#');
  });

  after(async () => {
    await gateway?.kill('SIGKILL');
    await subscriber?.close();
    await broker?.destroy();
    await slave?.kill();
    meterLine?.close();
    await rtuPty?.stop();
    await mbusPty?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('delivers every seq of the RTU and the M-Bus device once the broker is back', async () => {
    const config = {
      gateway: { id: 'plant-13' },
      pipeline: {
        connectors: [
          {
            id: 'line1',
            type: 'modbus-rtu',
            path: rtuPty.a,
            baudRate: 19200,
            pollMs: 200,
            timeoutMs: 1000, // pymodbus on a loaded machine can be slow
            reconnect: { initialMs: 100, maxMs: 500 },
            devices: [{ id: 'rtu-meter', unitId: 1, channels: [{ name: 'counter', address: COUNTER, type: 'uint16' }] }],
          },
          {
            id: 'heat',
            type: 'mbus',
            path: mbusPty.a,
            pollMs: 200,
            timeoutMs: 1000,
            reconnect: { initialMs: 100, maxMs: 500 },
            devices: [{ id: 'heat-5', address: 5, channels: [{ name: 'energy', record: 0 }, { name: 'volume', record: 1 }, { name: 'flowTemp', record: 2 }] }],
          },
        ],
        sinks: [
          { id: 'cloud', type: 'mqtt', url: broker.url, topic: 'telemetry/{gateway}/{device}', qos: 1, reconnectPeriodMs: 300, buffer: { maxInflight: MAX_INFLIGHT } },
          // What the gateway produced, written at commit time: the reference for "no value changed".
          { id: 'journal', type: 'file', path: 'journal.ndjson' },
        ],
      },
    };
    const stats = async (g: GatewayProcess) => (await http(`${g.url}/api/pipeline/stats`)).body;
    const lastSeq = async (g: GatewayProcess, device: string) => ((await http(`${g.url}/api/devices/${device}`)).body.lastRecord?.seq ?? 0) as number;
    const receivedFrom = (device: string) => subscriber.json().filter((r) => r.device === device).length;

    gateway = await spawnGateway(config, dir);
    await waitFor(() => DEVICES.every((d) => receivedFrom(d) >= 3), 'records of both devices flowing before the outage', 30_000);

    // The outage: the broker goes away; records of both devices queue in the store.
    await broker.stop('SIGTERM');
    const g1 = gateway;
    const atStop = { rtu: await lastSeq(g1, 'rtu-meter'), heat: await lastSeq(g1, 'heat-5') };
    await waitFor(
      async () => (await lastSeq(g1, 'rtu-meter')) >= atStop.rtu + 4 && (await lastSeq(g1, 'heat-5')) >= atStop.heat + 4,
      'records of both devices queuing during the outage',
      30_000,
    );
    const seqAtKill = { 'rtu-meter': await lastSeq(g1, 'rtu-meter'), 'heat-5': await lastSeq(g1, 'heat-5') };

    // kill -9 during the outage, then a restart on the same data directory and the same lines.
    await g1.kill('SIGKILL');
    gateway = undefined;
    gateway = await spawnGateway(config, dir);
    const g2 = gateway;
    for (const d of DEVICES) {
      await waitFor(async () => (await lastSeq(g2, d)) > seqAtKill[d] + 2, `the restarted gateway to read ${d} again and continue its seq`, 30_000);
    }
    const queuedBeforeReturn = (await stats(g2)).sinks[0].queued;
    assert.ok(queuedBeforeReturn >= 8, `records from before the kill are still queued (${queuedBeforeReturn})`);

    await broker.start();
    await waitFor(async () => (await stats(g2)).sinks[0].queued === 0, 'the backlog to drain', 30_000);
    const endSeq = { 'rtu-meter': await lastSeq(g2, 'rtu-meter'), 'heat-5': await lastSeq(g2, 'heat-5') };
    for (const d of DEVICES) {
      await waitFor(() => subscriber.json().some((r) => r.device === d && r.seq >= endSeq[d]), `seq ${endSeq[d]} of ${d} at the subscriber`, 30_000);
    }

    const journal = new Map<string, string>();
    for (const line of (await readFile(join(dir, 'journal.ndjson'), 'utf8')).trim().split('\n')) {
      const r = JSON.parse(line);
      journal.set(`${r.device}/${r.seq}`, line);
    }
    let duplicates = 0;
    for (const d of DEVICES) {
      const bySeq = new Map<number, string>();
      for (const r of subscriber.json().filter((x) => x.device === d)) {
        const text = JSON.stringify(r);
        const seen = bySeq.get(r.seq);
        if (seen !== undefined) {
          assert.equal(text, seen, `a duplicate of ${d} seq ${r.seq} is identical`);
          duplicates++;
        }
        bySeq.set(r.seq, text);
      }
      const missing = [];
      for (let s = 1; s <= endSeq[d]; s++) if (!bySeq.has(s)) missing.push(s);
      assert.deepEqual(missing, [], `no seq of ${d} is missing`);
      assert.ok(endSeq[d] > seqAtKill[d] + 2, `${d}: records from before, during and after the outage and the kill`);
      // No value changed: each record equals what the gateway wrote to its journal at commit time
      // (the kill can land between a commit and its journal line: at most one per device missing).
      let compared = 0;
      for (const [seq, text] of bySeq) {
        const line = journal.get(`${d}/${seq}`);
        if (line === undefined) continue;
        assert.equal(text, line, `${d} seq ${seq} arrived exactly as produced`);
        compared++;
      }
      assert.ok(compared >= bySeq.size - 1, `${d}: compared ${compared} of ${bySeq.size} records with the journal`);
      // The values are the devices': counters only count up, in seq order.
      const seqs = [...bySeq.keys()].sort((a, b) => a - b);
      const counters = seqs.map((s) => JSON.parse(bySeq.get(s)!).values[d === 'rtu-meter' ? 'counter' : 'energy'] as number);
      assert.ok(counters.every((v, i) => i === 0 || v >= counters[i - 1]!), `${d}: counter values in seq order`);
    }
    assert.equal(JSON.parse(subscriber.messages.find((m) => m.topic === 'telemetry/plant-13/heat-5')!.payload).connector, 'heat');
    // At least once, not "everything again": a crash re-sends at most what was in flight at
    // the gateway (maxInflight) plus what Mosquitto had in flight to the subscriber (its
    // default window, 20) — never the whole backlog.
    assert.ok(duplicates <= MAX_INFLIGHT + 20, `${duplicates} duplicates`);
  });
});
