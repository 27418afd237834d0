import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '../helpers/gateway-harness.js';
import { sleep, waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { spawnGateway, type GatewayProcess } from './helpers/gateway.js';
import { ModbusServer, PYTHON } from './helpers/modbus-server.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { Subscriber } from './helpers/mqtt-clients.js';

const skip = skipUnlessPeer('mosquitto', MOSQUITTO !== undefined) || skipUnlessPeer('python3-pymodbus (/usr/bin/python3)', PYTHON !== undefined);

/**
 * The acceptance outage test (issue 6): a counter register polled every 200 ms; the export
 * broker stopped for 10 s; the gateway killed with SIGKILL during the outage and restarted;
 * the broker restarted → the subscriber receives every seq from before the outage to after
 * it, with no gap and no value changed.
 */
describe('durable export across a broker outage and a kill -9 of the gateway', { skip }, () => {
  let modbus: ModbusServer;
  let broker: Mosquitto;
  let subscriber: Subscriber;
  let dataDir: string;
  let gateway: GatewayProcess | undefined;

  before(async () => {
    modbus = await ModbusServer.start({ counter: 0, counterMs: 100 });
    // Persistence + a clean broker stop keep the subscriber's session (its subscription and the
    // messages queued for it) across the restart, so only the gateway is under test.
    broker = await Mosquitto.start({ persistence: true });
    subscriber = await Subscriber.connect(broker.url, 'telemetry/#');
    dataDir = await mkdtemp(join(tmpdir(), 'spore-outage-'));
  });

  after(async () => {
    await gateway?.kill('SIGKILL');
    await subscriber?.close();
    await broker?.destroy();
    await modbus?.kill();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('delivers every seq with its value, once the broker is back', async () => {
    const config = {
      gateway: { id: 'plant-1' },
      pipeline: {
        connectors: [
          {
            id: 'plc',
            type: 'modbus-tcp',
            host: '127.0.0.1',
            port: modbus.port,
            pollMs: 200,
            devices: [{ id: 'boiler', channels: [{ name: 'counter', kind: 'holding', address: 0, type: 'uint16' }] }],
          },
        ],
        sinks: [
          { id: 'cloud', type: 'mqtt', url: broker.url, topic: 'telemetry/{gateway}/{device}', qos: 1, reconnectPeriodMs: 300 },
          // What the gateway produced, written at commit time: the reference for "no value changed".
          { id: 'journal', type: 'file', path: 'journal.ndjson' },
        ],
      },
    };
    const stats = async (g: GatewayProcess) => (await http(`${g.url}/api/pipeline/stats`)).body;
    const lastSeq = async (g: GatewayProcess) => ((await http(`${g.url}/api/devices/boiler`)).body.lastRecord?.seq ?? 0) as number;

    gateway = await spawnGateway(config, dataDir);
    await waitFor(() => subscriber.messages.length >= 5, 'records flowing before the outage', 20_000);

    // The outage: the broker goes away for 10 s.
    const outageStart = Date.now();
    await broker.stop('SIGTERM');
    const g1 = gateway;
    await waitFor(async () => (await stats(g1)).sinks[0].queued >= 10, 'records queuing during the outage', 20_000);
    const seqAtKill = await lastSeq(g1);

    // kill -9 during the outage, then a restart on the same data directory.
    await g1.kill('SIGKILL');
    gateway = undefined;
    gateway = await spawnGateway(config, dataDir);
    const g2 = gateway;
    // More than 10 records past the kill before the broker returns (a slow restart on a loaded
    // machine can use up the 10 s outage, and the check below needs them).
    await waitFor(async () => (await lastSeq(g2)) > seqAtKill + 10, 'the restarted gateway to continue the seq', 30_000);
    const queuedBeforeReturn = (await stats(g2)).sinks[0].queued;
    assert.ok(queuedBeforeReturn >= 10, `records from before the kill are still queued (${queuedBeforeReturn})`);
    await sleep(Math.max(0, 10_000 - (Date.now() - outageStart)));

    await broker.start();
    await waitFor(async () => (await stats(g2)).sinks[0].queued === 0, 'the backlog to drain', 30_000);
    const endSeq = await lastSeq(g2);
    await waitFor(() => new Set(subscriber.json().map((r) => r.seq)).has(endSeq), `seq ${endSeq} at the subscriber`, 20_000);

    // Every seq from the first received to the last, no gap; duplicates (redelivery after the
    // kill) carry identical records.
    const received = subscriber.json();
    const bySeq = new Map<number, string>();
    for (const r of received) {
      assert.equal(r.device, 'boiler');
      const text = JSON.stringify(r);
      const seen = bySeq.get(r.seq);
      if (seen !== undefined) assert.equal(text, seen, `a duplicate of seq ${r.seq} is identical`);
      bySeq.set(r.seq, text);
    }
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    assert.equal(seqs[0], 1, 'from the very first record');
    const missing = [];
    for (let s = seqs[0]!; s <= endSeq; s++) if (!bySeq.has(s)) missing.push(s);
    assert.deepEqual(missing, [], 'no seq is missing');
    assert.ok(endSeq > seqAtKill + 10, 'records from before, during and after the outage and the kill');

    // No value changed: each record equals what the gateway wrote to its journal at commit time.
    const journal = new Map<number, string>();
    for (const line of (await readFile(join(dataDir, 'journal.ndjson'), 'utf8')).trim().split('\n')) {
      const r = JSON.parse(line);
      journal.set(r.seq, line);
    }
    let compared = 0;
    for (const [seq, text] of bySeq) {
      const line = journal.get(seq);
      if (line === undefined) continue; // the kill can land between the commit and the journal line
      assert.equal(text, line, `seq ${seq} arrived exactly as produced`);
      compared++;
    }
    assert.ok(compared >= bySeq.size - 1, `compared ${compared} of ${bySeq.size} records with the journal`);
    // The counter only counts up: values follow seq order.
    const counters = seqs.map((s) => JSON.parse(bySeq.get(s)!).values.counter as number);
    assert.ok(counters.every((v, i) => i === 0 || v >= counters[i - 1]!), 'counter values in seq order');
  });
});
