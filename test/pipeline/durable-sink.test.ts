import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, WsRecorder } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { startLoggedGateway, type LoggedGateway } from './helpers/gateway.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { publish, Subscriber } from './helpers/mqtt-clients.js';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const skip = skipUnlessPeer('mosquitto', MOSQUITTO !== undefined);

const source = (url: string) => ({
  id: 'src',
  type: 'mqtt',
  url,
  reconnectPeriodMs: 200,
  subscribe: [{ topic: 'in/+', device: '{1}', channels: { v: '$.v' } }],
});

describe('durable mqtt sink and the other sinks', { skip }, () => {
  let sourceBroker: Mosquitto;

  before(async () => {
    sourceBroker = await Mosquitto.start();
  });

  after(async () => {
    await sourceBroker?.destroy();
  });

  it('keeps at most maxMessages while the broker is down: the oldest dropped, counted, logged; the rest delivered in order', async () => {
    // The export broker keeps our subscriber's session across its restart (persistence, clean stop).
    const exportBroker = await Mosquitto.start({ persistence: true });
    const subscriber = await Subscriber.connect(exportBroker.url, 'telemetry/#');
    await exportBroker.stop('SIGTERM');
    let gw: LoggedGateway | undefined;
    try {
      gw = await startLoggedGateway({
        gateway: { id: 'plant-1' },
        pipeline: {
          connectors: [source(sourceBroker.url)],
          sinks: [{ id: 'cloud', type: 'mqtt', url: exportBroker.url, reconnectPeriodMs: 200, buffer: { maxMessages: 5 } }],
        },
      });
      const url = gw.url;
      await waitFor(async () => (await http(`${url}/api/pipeline/stats`)).body.connectors[0].state === 'connected', 'the source connector');
      await publish(sourceBroker.url, Array.from({ length: 12 }, (_, i) => ({ topic: 'in/meter', payload: JSON.stringify({ v: i + 1 }) })));
      const stats = await waitFor(async () => {
        // The twelfth record committed (a message is counted before its record is on disk).
        if ((await http(`${url}/api/devices/meter`)).body?.lastRecord?.seq !== 12) return undefined;
        return (await http(`${url}/api/pipeline/stats`)).body;
      }, 'twelve records');
      const sink = stats.sinks[0];
      assert.equal(sink.id, 'cloud');
      assert.equal(sink.type, 'mqtt');
      assert.equal(sink.queued, 5);
      assert.equal(sink.dropped, 7);
      assert.equal(sink.sent, 0);
      assert.ok(sink.oldestQueuedAgeMs >= 0);
      const warning = gw.logLines().find((l) => typeof l.msg === 'string' && l.msg.includes('dropped the oldest'));
      assert.ok(warning, 'a log line says the oldest records were dropped');
      assert.equal(warning!.sink, 'cloud');
      const health = (await http(`${url}/api/health`)).body;
      assert.equal(health.status, 'degraded');
      assert.equal(health.components['sink:cloud'].status, 'down');
      assert.equal(health.components['sink:cloud'].queued, 5);

      await exportBroker.start();
      await waitFor(() => subscriber.messages.length >= 5, 'the five kept records at the subscriber');
      const received = subscriber.json();
      assert.deepEqual(received.map((r) => [r.seq, r.values.v]), [[8, 8], [9, 9], [10, 10], [11, 11], [12, 12]]);
      assert.ok(subscriber.messages.every((m) => m.topic === 'telemetry/plant-1/meter'));
      assert.deepEqual(Object.keys(received[0]), ['gateway', 'device', 'connector', 'ts', 'seq', 'values']);
      assert.equal(received[0].gateway, 'plant-1');
      assert.equal(received[0].connector, 'src');
      const after = await waitFor(async () => {
        const s = (await http(`${url}/api/pipeline/stats`)).body.sinks[0];
        return s.queued === 0 ? s : undefined;
      }, 'the buffer to drain');
      assert.deepEqual(after, { id: 'cloud', type: 'mqtt', queued: 0, sent: 5, dropped: 7, oldestQueuedAgeMs: 0 });
      assert.equal((await http(`${url}/api/health`)).body.components['sink:cloud'].status, 'up');
    } finally {
      await gw?.stop();
      await subscriber.close();
      await exportBroker.destroy();
    }
  });

  it('loses nothing and keeps per-device order when the broker goes down in the middle of a burst', async () => {
    const exportBroker = await Mosquitto.start({ persistence: true });
    const subscriber = await Subscriber.connect(exportBroker.url, 'telemetry/#');
    let gw: LoggedGateway | undefined;
    try {
      gw = await startLoggedGateway({
        gateway: { id: 'plant-3' },
        pipeline: {
          connectors: [{ ...source(sourceBroker.url), id: 'burst', subscribe: [{ topic: 'burst/+', qos: 0, device: '{1}', channels: { v: '$.v' } }] }],
          sinks: [{ id: 'cloud', type: 'mqtt', url: exportBroker.url, reconnectPeriodMs: 200, buffer: { maxInflight: 64 } }],
        },
      });
      const url = gw.url;
      await waitFor(async () => (await http(`${url}/api/pipeline/stats`)).body.connectors[0].state === 'connected', 'the source connector');
      const total = 3000;
      const messages = Array.from({ length: total }, (_, i) => ({ topic: `burst/d${i % 3}`, payload: JSON.stringify({ v: i }), qos: 0 as const }));
      const sending = publish(sourceBroker.url, messages);
      // Take the broker away while records are in flight, then bring it back.
      await waitFor(() => subscriber.messages.length >= 200, 'the burst to be under way');
      await exportBroker.stop('SIGTERM');
      await sending;
      await waitFor(async () => (await http(`${url}/api/pipeline/stats`)).body.connectors[0].polls === total, 'every message handled');
      await exportBroker.start();
      await waitFor(async () => (await http(`${url}/api/pipeline/stats`)).body.sinks[0].queued === 0, 'the buffer to drain');
      await waitFor(() => new Set(subscriber.json().map((r) => `${r.device}/${r.seq}`)).size === total, 'every record at the subscriber');
      const firstSeen = new Map<string, number[]>();
      for (const r of subscriber.json()) {
        const list = firstSeen.get(r.device) ?? [];
        if (!list.includes(r.seq)) list.push(r.seq);
        firstSeen.set(r.device, list);
        assert.equal(r.values.v % 3, Number(r.device.slice(1)), 'values stay with their device');
      }
      for (const [device, seqs] of firstSeen) {
        assert.deepEqual(seqs, Array.from({ length: total / 3 }, (_, i) => i + 1), `${device}: every seq, first seen in order`);
      }
    } finally {
      await gw?.stop();
      await subscriber.close();
      await exportBroker.destroy();
    }
  });

  it('sends records to WebSocket clients as telemetry/<device> and to a rotating NDJSON file', async () => {
    const gw = await startLoggedGateway({
      gateway: { id: 'plant-2' },
      pipeline: {
        connectors: [source(sourceBroker.url)],
        sinks: [
          { id: 'ws', type: 'websocket' },
          { id: 'log', type: 'file', path: 'out/records.ndjson', maxBytes: 1024, maxFiles: 2 },
        ],
      },
    });
    const ws = await WsRecorder.connect(gw.url);
    try {
      await waitFor(async () => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0].state === 'connected', 'the source connector');
      await publish(sourceBroker.url, Array.from({ length: 40 }, (_, i) => ({ topic: 'in/tank', payload: JSON.stringify({ v: i }) })));
      await waitFor(() => ws.byTopic('telemetry/tank').length === 40, 'forty telemetry messages');
      const messages = ws.byTopic('telemetry/tank');
      assert.deepEqual(messages.map((m) => m.seq), Array.from({ length: 40 }, (_, i) => i + 1));
      const m = messages[0];
      assert.equal(m.gateway, 'plant-2');
      assert.equal(m.device, 'tank');
      assert.equal(m.connector, 'src');
      assert.deepEqual(m.values, { v: 0 });
      assert.ok(!Number.isNaN(Date.parse(m.ts)) && !Number.isNaN(Date.parse(m.timestamp)));

      const dir = join(gw.dataDir, 'out');
      const files = (await readdir(dir)).sort();
      assert.deepEqual(files, ['records.ndjson', 'records.ndjson.1', 'records.ndjson.2'], 'rotated, at most maxFiles old files kept');
      const seqs: number[] = [];
      for (const f of ['records.ndjson.2', 'records.ndjson.1', 'records.ndjson']) {
        const text = await readFile(join(dir, f), 'utf8');
        assert.ok(Buffer.byteLength(text) <= 1024, `${f} stays within maxBytes`);
        for (const line of text.trim().split('\n')) seqs.push(JSON.parse(line).seq);
      }
      assert.equal(seqs.at(-1), 40);
      assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => 41 - seqs.length + i), 'the newest records, contiguous');
      const stats = (await http(`${gw.url}/api/pipeline/stats`)).body.sinks;
      assert.deepEqual(stats.map((s: { id: string; sent: number }) => [s.id, s.sent]), [['ws', 40], ['log', 40]]);
    } finally {
      ws.close();
      await gw.stop();
    }
  });
});
