import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { http } from '../helpers/gateway-harness.js';
import { freePort, waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { spawnGateway, type GatewayProcess } from './helpers/gateway.js';

const skip = skipUnlessPeer('mosquitto', MOSQUITTO !== undefined);

/** Messages published; at the group-commit rate (issue 16 §4) a second or two of traffic. */
const COUNT = 12_000;

/**
 * Publishes 1..count with QoS 1 as fast as the broker acknowledges (at most 500 unacknowledged);
 * `at(acked)` runs as each is acknowledged by the broker.
 */
function publishAll(client: MqttClient, topic: string, count: number, at: (acked: number) => void): Promise<void> {
  let sent = 0;
  let acked = 0;
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      while (sent < count && sent - acked < 500) {
        const n = ++sent;
        client.publish(topic, JSON.stringify({ n }), { qos: 1 }, (err) => {
          if (err) return reject(err);
          at(++acked);
          if (acked === count) resolve();
          else pump();
        });
      }
    };
    pump();
  });
}

/**
 * Group commit keeps the promise of QoS 1 ingest (docs/pipeline.md, Delivery guarantees): a
 * PUBACK leaves only after its message's commit, so a `kill -9` in the middle of a fast QoS 1
 * stream loses nothing the gateway acknowledged — the broker delivers every unacknowledged
 * message again to the restarted gateway (persistent session), and every message ends up in
 * the durable buffer.
 */
describe('QoS 1 ingest with group commit survives a kill -9 at full rate', { skip }, () => {
  let broker: Mosquitto;
  let publisher: MqttClient;
  let dataDir: string;
  let gateway: GatewayProcess | undefined;

  before(async () => {
    broker = await Mosquitto.start();
    publisher = await mqtt.connectAsync(broker.url, { clientId: `test-pub-${process.pid}`, reconnectPeriod: 0 });
    dataDir = await mkdtemp(join(tmpdir(), 'spore-qos1-kill-'));
  });

  after(async () => {
    await gateway?.kill('SIGKILL');
    await publisher?.endAsync(true);
    await broker?.destroy();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('every message published is in the durable buffer after the kill and the restart', async () => {
    const config = {
      gateway: { id: 'qos1-kill' },
      pipeline: {
        connectors: [{ id: 'src', type: 'mqtt', url: broker.url, reconnectPeriodMs: 200, subscribe: [{ topic: 'kill/in', qos: 1, device: 'dev', channels: { n: '$.n' } }] }],
        // A durable sink whose broker never answers: every committed record stays in its buffer.
        sinks: [{ id: 'held', type: 'mqtt', url: `mqtt://127.0.0.1:${await freePort()}`, topic: 'out/{device}', reconnectPeriodMs: 60_000 }],
      },
    };
    const device = async (g: GatewayProcess) => (await http(`${g.url}/api/devices/dev`)).body;
    const lastN = async (g: GatewayProcess) => ((await device(g)).channels?.find((c: { name: string }) => c.name === 'n')?.value ?? 0) as number;
    const connected = async (g: GatewayProcess) => (await http(`${g.url}/api/pipeline/stats`)).body.connectors.some((c: { id: string; state: string }) => c.id === 'src' && c.state === 'connected');

    const g1 = (gateway = await spawnGateway(config, dataDir));
    await waitFor(() => connected(g1), 'the connector to connect', 30_000);
    // The subscription is in the broker's session once the connector has its SUBACK: the first
    // message through proves it.
    await waitFor(
      async () => {
        publisher.publish('kill/in', JSON.stringify({ n: 0 }), { qos: 1 });
        return (await device(g1)).lastRecord !== null;
      },
      'the subscription to take effect',
      30_000,
      500,
    );

    // kill -9 in the middle of the stream: once the broker has a third of it (the gateway is
    // taking it in meanwhile, however fast it is), the rest comes while the gateway is down.
    await publishAll(publisher, 'kill/in', COUNT, (acked) => {
      if (acked === COUNT / 3) g1.proc.child.kill('SIGKILL');
    });
    await g1.kill('SIGKILL');
    gateway = undefined;

    const g2 = (gateway = await spawnGateway(config, dataDir));
    // Messages come in order: the last one committed means the backlog is in.
    await waitFor(async () => (await lastN(g2)) === COUNT, `message ${COUNT} committed by the restarted gateway`, 60_000);
    await g2.kill('SIGTERM');
    gateway = undefined;

    const db = new Database(join(dataDir, 'pipeline', 'pipeline.db'), { readonly: true });
    let rows: Array<{ payload: string }>;
    try {
      rows = db.prepare("SELECT payload FROM outbox WHERE sink = 'held'").all() as Array<{ payload: string }>;
    } finally {
      db.close();
    }
    const seen = new Set(rows.map((r) => (JSON.parse(r.payload) as { values: { n: number } }).values.n));
    const missing: number[] = [];
    for (let n = 1; n <= COUNT; n++) if (!seen.has(n)) missing.push(n);
    assert.deepEqual(missing.slice(0, 20), [], `${missing.length} acknowledged message(s) lost`);
    // Redelivered duplicates are at most the messages unacknowledged at the kill (one commit's worth and the window).
    assert.ok(rows.length - 1 - COUNT < COUNT / 2, `${rows.length - 1 - COUNT} duplicates`);
  });
});
