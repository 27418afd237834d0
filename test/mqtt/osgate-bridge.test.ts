import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import mqtt, { type MqttClient } from 'mqtt';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { sleep, waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const skip = skipUnlessPeer('mosquitto', MOSQUITTO !== undefined);
/** Issue 18 §4: the bridge link is cut this long, ms, at RATE records/s. */
const CUT_MS = 60_000;
const RATE = 1000; // records/s
const DEVICES = 4;

/**
 * Issue 18 §4, Osgate's topology (seed 004): gateway → local Mosquitto (persistence on) →
 * Mosquitto bridge (`cleansession false`, QoS 1, deploy/mosquitto/bridge.conf) → central
 * Mosquitto. The bridge's link is cut for 60 s at 1,000 records/s and the local broker is
 * restarted during the cut; the central subscriber still receives every seq, with no gap.
 */
describe("Osgate's topology: gateway → local Mosquitto → bridge → central Mosquitto", { skip }, () => {
  let central: Mosquitto;
  let uplink: TcpProxy;
  let local: Mosquitto;
  let feed: Mosquitto;
  let gw: TestGateway;
  let subscriber: MqttClient;
  let feeder: MqttClient;
  const seqs = new Map<string, number[]>();

  before(async () => {
    central = await Mosquitto.start({ persistence: true });
    uplink = await TcpProxy.start(central.port);
    local = await Mosquitto.start({
      persistence: true,
      // The bridge of deploy/mosquitto/bridge.conf, to the central broker through the cuttable link.
      extraConfig: ['connection central', `address 127.0.0.1:${uplink.port}`, 'cleansession false', 'remote_clientid site-1-bridge', 'topic telemetry/# out 1', 'restart_timeout 1 2', 'bridge_protocol_version mqttv311', 'max_queued_messages 0'],
    });
    feed = await Mosquitto.start();
    // The central consumer: a persistent session of its own, QoS 1.
    subscriber = await mqtt.connectAsync(central.url, { clientId: 'central-consumer', clean: false, reconnectPeriod: 200 });
    subscriber.on('message', (_topic, payload) => {
      const r = JSON.parse(payload.toString()) as { device: string; seq: number };
      let list = seqs.get(r.device);
      if (!list) seqs.set(r.device, (list = []));
      list.push(r.seq);
    });
    await subscriber.subscribeAsync('telemetry/#', { qos: 1 });
    gw = await startTestGateway({
      gateway: { id: 'site-1' },
      pipeline: {
        connectors: [{ id: 'feed', type: 'mqtt', url: feed.url, subscribe: [{ topic: 'meters/+', qos: 0, device: '{1}', channels: { v: '$.v' } }] }],
        sinks: [{ id: 'local', type: 'mqtt', url: local.url, reconnectPeriodMs: 200 }],
        store: { synchronous: 'NORMAL' },
      },
    });
    feeder = await mqtt.connectAsync(feed.url);
  });

  after(async () => {
    await feeder?.endAsync(true);
    await subscriber?.endAsync(true);
    await gw?.stop();
    await uplink?.close();
    for (const b of [feed, local, central]) await b?.destroy();
  });

  it(`cut for ${CUT_MS / 1000} s at ${RATE} records/s, local broker restarted meanwhile: every seq arrives, no gap`, async () => {
    let running = true;
    let sent = 0;
    // RATE records/s in 20 ms ticks, spread over the devices.
    const producing = (async () => {
      const started = Date.now();
      while (running) {
        const due = Math.floor(((Date.now() - started) / 1000) * RATE);
        for (; sent < due; sent++) feeder.publish(`meters/m${sent % DEVICES}`, JSON.stringify({ v: sent }), { qos: 0 });
        await sleep(20);
      }
    })();
    await waitFor(() => [...seqs.values()].reduce((n, l) => n + l.length, 0) > RATE, 'records at the central broker', 20_000);
    uplink.cut();
    await sleep(CUT_MS / 2);
    // The local broker restarts during the cut: a clean stop saves what it queued for the bridge.
    await local.stop('SIGTERM');
    await sleep(1000);
    await local.start();
    await sleep(CUT_MS / 2 - 1000);
    uplink.restore();
    await sleep(3000);
    running = false;
    await producing;
    // What the pipeline recorded is what must arrive: the last seq of every device.
    const { devices: stats } = (await (await fetch(`${gw.url}/api/devices`)).json()) as { devices: unknown };
    const last = new Map<string, number>((stats as Array<{ id: string; lastRecord: { seq: number } | null }>).map((d) => [d.id, d.lastRecord?.seq ?? 0]));
    assert.equal(last.size, DEVICES);
    await waitFor(() => [...last].every(([d, s]) => (seqs.get(d) ?? []).includes(s)), 'every last seq at the central broker', 120_000, 250);
    for (const [device, seq] of last) {
      const got = [...new Set(seqs.get(device))].sort((a, b) => a - b);
      assert.equal(got[0], 1, `${device}: from the first record`);
      const missing = [];
      for (let s = got[0]!, i = 0; s <= seq; s++) {
        while (got[i]! < s) i++;
        if (got[i] !== s) missing.push(s);
      }
      assert.deepEqual(missing.slice(0, 10), [], `${device}: ${missing.length} seq missing of ${seq}`);
      assert.ok(seq > (CUT_MS / 1000) * (RATE / DEVICES) * 0.8, `${device}: ${seq} records, most produced during the cut`);
    }
  });
});
