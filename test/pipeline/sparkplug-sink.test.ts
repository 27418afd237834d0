import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import sparkplug from 'sparkplug-payload';
import { ConfigError, mergeConfig, validateConfig } from '../../src/config/load-config.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { http } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { spawnGateway, type GatewayProcess } from './helpers/gateway.js';

const sp = sparkplug.get('spBv1.0')!;
const skip = skipUnlessPeer('mosquitto', MOSQUITTO !== undefined);

interface Message {
  type: string;
  device: string | undefined;
  seq: number | undefined;
  bdSeq: number | undefined;
  metrics: Array<{ name: string; type: string; value: unknown; historical: boolean; unit: unknown }>;
}

const num = (v: unknown): number | undefined => (v === undefined || v === null ? undefined : typeof v === 'number' ? v : Number(v as { toString(): string }));

/** Records and decodes (sparkplug-payload) every Sparkplug message of one group. */
class SparkplugRecorder {
  readonly messages: Message[] = [];
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      const [, , type, , device] = topic.split('/');
      const p = sp.decodePayload(new Uint8Array(payload));
      const metrics = (p.metrics ?? []).map((m) => ({
        name: m.name!,
        type: m.type,
        value: m.type === 'UInt64' ? num(m.value) : m.value,
        historical: m.isHistorical === true,
        unit: (m.properties as Record<string, { value: unknown }> | undefined)?.engUnit?.value,
      }));
      this.messages.push({ type: type!, device, seq: num(p.seq), bdSeq: num(metrics.find((m) => m.name === 'bdSeq')?.value), metrics });
    });
  }

  static async connect(url: string, group: string): Promise<SparkplugRecorder> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 100 });
    const rec = new SparkplugRecorder(client);
    await client.subscribeAsync(`spBv1.0/${group}/#`, { qos: 1 });
    return rec;
  }

  of(type: string): Message[] {
    return this.messages.filter((m) => m.type === type);
  }

  /** The `n` values of every DDATA of a device, in arrival order. */
  ns(device: string): number[] {
    return this.of('DDATA')
      .filter((m) => m.device === device)
      .flatMap((m) => m.metrics.filter((x) => x.name === 'n').map((x) => x.value as number));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Per session (NBIRTH … before the next NBIRTH or NDEATH): seq 0 at NBIRTH, then +1 mod 256. */
function checkSequences(messages: readonly Message[]): { wrapped: boolean } {
  let expected: number | undefined;
  let wrapped = false;
  for (const [i, m] of messages.entries()) {
    if (m.type === 'NBIRTH') {
      assert.equal(m.seq, 0, `NBIRTH at #${i} has seq 0`);
      expected = 1;
    } else if (m.type === 'NDEATH') {
      assert.equal(m.seq, undefined, 'NDEATH carries no seq');
      expected = undefined;
    } else if (m.type !== 'NCMD' && m.type !== 'DCMD') {
      assert.notEqual(expected, undefined, `${m.type} at #${i} comes after an NBIRTH`);
      assert.equal(m.seq, expected, `${m.type} at #${i}: seq ${m.seq}, expected ${expected}`);
      if (m.seq === 0) wrapped = true;
      expected = (expected! + 1) % 256;
    }
  }
  return { wrapped };
}

/** Device lifecycle per session: DDATA and DDEATH only for a device born (DBIRTH) since the last NBIRTH and not dead since. */
function checkDeviceLifecycle(messages: readonly Message[]): void {
  const born = new Set<string>();
  for (const [i, m] of messages.entries()) {
    if (m.type === 'NBIRTH' || m.type === 'NDEATH') born.clear();
    else if (m.type === 'DBIRTH') born.add(m.device!);
    else if (m.type === 'DDATA') assert.ok(born.has(m.device!), `DDATA of ${m.device} at #${i} follows its DBIRTH`);
    else if (m.type === 'DDEATH') {
      assert.ok(born.delete(m.device!), `DDEATH of ${m.device} at #${i} follows its DBIRTH`);
    }
  }
}

describe('sparkplug sink (Sparkplug B): birth, death, sequences, rebirth, DCMD, durability', { skip }, () => {
  let source: Mosquitto;
  let central: Mosquitto;
  let link: TcpProxy;
  /** The mqtt connector's link to its source broker: cut, the device goes offline. */
  let sourceLink: TcpProxy;
  let rec: SparkplugRecorder;
  let dataDir: string;
  let gw: GatewayProcess | undefined;
  let feeder: MqttClient;
  const written: Array<{ topic: string; payload: string }> = [];
  let sessionBdSeq = -1;

  const config = () => ({
    gateway: { id: 'edge-1' },
    pipeline: {
      connectors: [
        {
          id: 'sensors',
          type: 'mqtt',
          url: sourceLink.url,
          reconnectPeriodMs: 200,
          subscribe: [
            {
              topic: 'sensors/+',
              device: '{1}',
              channels: { temp: { path: '$.t', unit: '°C' }, n: '$.n', on: '$.on' },
              write: { topic: 'sensors/{device}/set', format: 'json' },
            },
          ],
        },
      ],
      sinks: [{ id: 'spb', type: 'sparkplug', url: link.url, groupId: 'plant', reconnectPeriodMs: 200, qos: 1 }],
    },
  });
  const feed = async (from: number, to: number) => {
    for (let n = from; n < to; n++) await feeder.publishAsync('sensors/dev-a', JSON.stringify({ t: 20 + n / 10, n, on: n % 2 === 0 }), { qos: 1 });
  };
  const publishCommand = (topic: string, metrics: Array<{ name: string; type: 'Boolean' | 'Double'; value: unknown }>) =>
    rec.client.publishAsync(topic, Buffer.from(sp.encodePayload({ timestamp: Date.now(), metrics: metrics as never })), { qos: 1 });

  before(async () => {
    source = await Mosquitto.start();
    central = await Mosquitto.start();
    link = await TcpProxy.start(central.port);
    sourceLink = await TcpProxy.start(source.port);
    rec = await SparkplugRecorder.connect(central.url, 'plant');
    feeder = await mqtt.connectAsync(source.url);
    await feeder.subscribeAsync('sensors/+/set', { qos: 1 });
    feeder.on('message', (topic, payload) => written.push({ topic, payload: payload.toString() }));
    dataDir = await mkdtemp(join(tmpdir(), 'spore-spb-'));
    gw = await spawnGateway(config(), dataDir);
  });

  after(async () => {
    await gw?.kill('SIGKILL');
    await feeder?.endAsync(true);
    await rec?.close();
    await link?.close();
    await sourceLink?.close();
    await central?.destroy();
    await source?.destroy();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('is an edge node: NBIRTH (seq 0, bdSeq 0) first, a DBIRTH before the first DDATA, metrics typed with units, seq wrapping past 255', async () => {
    await waitFor(() => rec.of('NBIRTH').length === 1, 'NBIRTH', 20_000);
    await feed(0, 300);
    await waitFor(() => rec.ns('dev-a').length >= 300, '300 DDATA', 30_000);
    const [first] = rec.messages;
    assert.equal(first!.type, 'NBIRTH', 'NBIRTH is the first message');
    assert.equal(first!.bdSeq, 0, 'the first session has bdSeq 0');
    assert.ok(first!.metrics.some((m) => m.name === 'Node Control/Rebirth' && m.value === false && m.type === 'Boolean'));
    const dbirth = rec.messages.findIndex((m) => m.type === 'DBIRTH' && m.device === 'dev-a');
    const ddata = rec.messages.findIndex((m) => m.type === 'DDATA' && m.device === 'dev-a');
    assert.ok(dbirth > 0 && dbirth < ddata, 'NBIRTH, then DBIRTH, then DDATA');
    const birth = rec.messages[dbirth]!;
    const metric = (name: string) => birth.metrics.find((m) => m.name === name)!;
    assert.deepEqual([metric('temp').type, metric('n').type, metric('on').type], ['Double', 'Double', 'Boolean']);
    assert.equal(metric('temp').unit, '°C', 'the unit is the engUnit property');
    assert.deepEqual(rec.ns('dev-a'), Array.from({ length: 300 }, (_, i) => i), 'every reading, in order');
    const { wrapped } = checkSequences(rec.messages);
    assert.ok(wrapped, 'seq went 255 → 0');
    checkDeviceLifecycle(rec.messages);
    // The edge node's own metrics are declared in NBIRTH, typed.
    for (const name of ['Cluster/Nodes Active', 'Cluster/Nodes Inactive', 'Cluster/Nodes Dead', 'Pipeline/Connectors', 'Pipeline/Connectors Connected', 'Pipeline/Devices Online']) {
      assert.equal(first!.metrics.find((m) => m.name === name)?.type, 'UInt32', `NBIRTH declares ${name}`);
    }
    assert.equal(first!.metrics.find((m) => m.name === 'Pipeline/Connectors')!.value, 1);
  });

  it('answers an NCMD Node Control/Rebirth with NBIRTH (seq 0, the same bdSeq) and every DBIRTH again', async () => {
    const before = rec.messages.length;
    await publishCommand('spBv1.0/plant/NCMD/edge-1', [{ name: 'Node Control/Rebirth', type: 'Boolean', value: true }]);
    await waitFor(() => rec.messages.slice(before).some((m) => m.type === 'DBIRTH'), 'rebirth', 10_000);
    const after = rec.messages.slice(before).filter((m) => m.type !== 'NCMD');
    assert.equal(after[0]!.type, 'NBIRTH');
    assert.equal(after[0]!.bdSeq, 0, 'a rebirth keeps the session bdSeq');
    assert.equal(after[1]!.type, 'DBIRTH');
    assert.equal(after[1]!.seq, 1);
    assert.equal(after[1]!.metrics.find((m) => m.name === 'n')!.value, 299, 'DBIRTH carries the current values');
    checkSequences(rec.messages);
  });

  it('writes DCMD metrics to the device (inverse of the channel, through the connector)', async () => {
    await publishCommand('spBv1.0/plant/DCMD/edge-1/dev-a', [{ name: 'temp', type: 'Double', value: 42.5 }]);
    const w = await waitFor(() => written.find((m) => m.topic === 'sensors/dev-a/set'), 'the write on the device topic', 10_000);
    assert.deepEqual(JSON.parse(w.payload), { temp: 42.5 });
  });

  it('a device that goes offline gets a DDEATH, node metrics change in NDATA, its next record brings a new DBIRTH', async () => {
    /** A node metric's current value: its last NBIRTH or NDATA value. */
    const nodeValue = (name: string): unknown => {
      let value: unknown;
      for (const m of rec.messages) if (m.type === 'NBIRTH' || m.type === 'NDATA') value = m.metrics.find((x) => x.name === name)?.value ?? value;
      return value;
    };
    await waitFor(() => nodeValue('Pipeline/Connectors Connected') === 1 && nodeValue('Pipeline/Devices Online') === 1, 'NDATA: connector connected, one device online', 20_000);
    const before = rec.messages.length;
    sourceLink.cut();
    const death = await waitFor(() => rec.messages.slice(before).find((m) => m.type === 'DDEATH'), 'DDEATH', 20_000);
    assert.equal(death.device, 'dev-a');
    await waitFor(() => nodeValue('Pipeline/Connectors Connected') === 0 && nodeValue('Pipeline/Devices Online') === 0, 'NDATA: connector down, no device online', 20_000);
    const ndata = rec.messages.slice(before).filter((m) => m.type === 'NDATA');
    assert.ok(ndata.every((m) => m.metrics.every((x) => x.type === 'UInt32' && x.name !== 'Pipeline/Connectors')), 'NDATA carries only the metrics that changed');
    sourceLink.restore();
    await waitFor(() => nodeValue('Pipeline/Connectors Connected') === 1, 'NDATA: connector connected again', 20_000);
    const back = rec.messages.length;
    // The connector's session is persistent: the broker holds a QoS 1 message for it anyway.
    await feed(300, 301);
    await waitFor(() => rec.ns('dev-a').includes(300), 'a record after the device came back', 20_000);
    const rebirth = rec.messages.slice(back).findIndex((m) => m.type === 'DBIRTH' && m.device === 'dev-a');
    const data = rec.messages.slice(back).findIndex((m) => m.type === 'DDATA' && m.device === 'dev-a');
    assert.ok(rebirth >= 0 && rebirth < data, 'a new DBIRTH before its first DDATA after the DDEATH');
    checkSequences(rec.messages);
    checkDeviceLifecycle(rec.messages);
  });

  it('link cut: the broker publishes the will NDEATH (bdSeq of the NBIRTH); records queued meanwhile follow the next NBIRTH (a new bdSeq), historical, none lost', async () => {
    const before = rec.messages.length;
    link.cut();
    const death = await waitFor(() => rec.messages.slice(before).find((m) => m.type === 'NDEATH'), 'the will NDEATH', 10_000);
    assert.equal(death.bdSeq, 0, 'NDEATH bdSeq matches the NBIRTH of the lost session');
    await feed(301, 351);
    // The gateway has them all on disk before the link comes back.
    await waitFor(async () => (await http(`${gw!.url}/api/pipeline/stats`)).body?.sinks?.find((s: { id: string }) => s.id === 'spb')?.queued === 50, '50 records queued', 20_000);
    link.restore();
    await waitFor(() => rec.ns('dev-a').length >= 351, 'the buffered records', 20_000);
    const session = rec.messages.slice(before).filter((m) => m.type !== 'NDEATH');
    assert.equal(session[0]!.type, 'NBIRTH');
    // Every CONNECT takes the next bdSeq, also the attempts the cut link refused.
    sessionBdSeq = session[0]!.bdSeq!;
    assert.ok(sessionBdSeq >= 1, `a new MQTT session takes a new bdSeq (${sessionBdSeq})`);
    const late = rec.of('DDATA').filter((m) => (m.metrics.find((x) => x.name === 'n')!.value as number) >= 301);
    assert.equal(late.length, 50);
    assert.ok(late.every((m) => m.metrics.every((x) => x.historical)), 'records from before the NBIRTH are historical');
    assert.deepEqual(rec.ns('dev-a'), Array.from({ length: 351 }, (_, i) => i), 'no gap, no duplicate');
    checkSequences(rec.messages);
    checkDeviceLifecycle(rec.messages);
  });

  it('a clean stop publishes NDEATH itself; after a restart the bdSeq continues', async () => {
    const before = rec.messages.length;
    await gw!.kill('SIGTERM');
    const death = await waitFor(() => rec.messages.slice(before).find((m) => m.type === 'NDEATH'), 'NDEATH on stop', 10_000);
    assert.equal(death.bdSeq, sessionBdSeq, 'NDEATH bdSeq matches the NBIRTH of its session');
    gw = await spawnGateway(config(), dataDir);
    const birth = await waitFor(() => rec.messages.slice(before).find((m) => m.type === 'NBIRTH'), 'NBIRTH after the restart', 20_000);
    assert.equal(birth.bdSeq, (sessionBdSeq + 1) % 256, 'bdSeq continues across restarts');
  });

  it('refuses a bad configuration with the path of each problem', () => {
    const bad = { pipeline: { sinks: [{ id: 'x', type: 'sparkplug', url: 'mqtt://h', groupId: 'a/b', qos: 2, edgeNodeId: 'e#' }] } };
    assert.throws(
      () => validateConfig(mergeConfig({}, bad)),
      (err: unknown) => err instanceof ConfigError && /pipeline\.sinks\[0\]\.groupId/.test(err.message) && /edgeNodeId/.test(err.message) && /qos must be 0 or 1/.test(err.message),
    );
  });
});
