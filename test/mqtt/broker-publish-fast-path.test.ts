import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { Identity } from '../../src/auth/api-keys.js';
import { EmbeddedBroker, type LocalMessage } from '../../src/mqtt/embedded-broker.js';
import { silentLogger } from '../../src/logger.js';
import { waitFor } from '../helpers/net.js';

const MAX_PACKET = 4096; // bytes, the test broker's maximum packet size
const READ_KEY = `read-${randomBytes(8).toString('hex')}`;
const WRITE_KEY = `write-${randomBytes(8).toString('hex')}`;
const KEYS: Record<string, Identity> = { [READ_KEY]: { name: 'reader', scope: 'read' } as Identity, [WRITE_KEY]: { name: 'admin', scope: 'admin' } as Identity };

/** One delivery to the in-process feed. */
interface Got {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
  clientId: string | undefined;
  user?: unknown;
}

/** A raw MQTT client on a TCP socket: the test decides how the bytes are split. */
async function rawClient(port: number, options: { version?: 4 | 5; clientId: string; password?: string }): Promise<{ socket: Socket; send(packets: Buffer[], split?: 'whole' | 'bytes'): Promise<void>; closed: Promise<void> }> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  await new Promise<void>((r) => socket.once('connect', () => r()));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  const version = options.version ?? 4;
  const connackAt = new Promise<void>((resolve) => socket.once('data', () => resolve()));
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: options.clientId, clean: true, keepalive: 30, ...(options.password ? { username: 'x', password: Buffer.from(options.password) } : {}) }));
  await connackAt;
  return {
    socket,
    closed,
    async send(packets, split = 'whole') {
      const bytes = Buffer.concat(packets);
      if (split === 'whole') socket.write(bytes);
      else for (let i = 0; i < bytes.length; i++) await new Promise<void>((r) => socket.write(bytes.subarray(i, i + 1), () => setImmediate(r)));
    },
  };
}

const publish = (topic: string, payload: string, extra: Partial<mqttPacket.IPublishPacket> = {}, version: 4 | 5 = 4): Buffer =>
  mqttPacket.generate({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false, ...extra } as mqttPacket.IPublishPacket, { protocolVersion: version });

/**
 * The embedded broker's receive fast path (issue 16 §5, src/mqtt/broker-publish-fast-path.ts):
 * plain QoS 0 publications only the in-process feed subscribes to skip aedes' receive path —
 * with the same deliveries, order, authorisation and limits as through aedes.
 */
describe('embedded broker: receive fast path to the in-process feed (issue 16 §5)', () => {
  let broker: EmbeddedBroker;
  let keysOn = false;
  const got: Got[] = [];
  let stopFeed: () => void;
  const base = `i16/${randomBytes(3).toString('hex')}`;

  before(async () => {
    broker = new EmbeddedBroker(
      {
        host: '127.0.0.1',
        port: 0,
        maxPacketBytes: MAX_PACKET,
        adminTopics: [`${base}/admin/#`],
        apiKeys: { get enabled() { return keysOn; }, identify: (s) => (s === undefined ? null : (KEYS[s] ?? null)) },
      },
      silentLogger(),
    );
    await broker.start();
    stopFeed = broker.localFeed.subscribe([{ topic: '#', qos: 1 }, { topic: `${base}/#`, qos: 0 }], (topic, payload, m: LocalMessage) => {
      got.push({ topic, payload: payload.toString(), retain: m.retain, qos: m.qos, clientId: m.clientId, user: m.properties?.userProperties });
    });
  });
  after(async () => {
    stopFeed?.();
    await broker?.stop();
  });

  it('delivers each publication once and in order, split at every byte or whole, mixed with what aedes handles', async () => {
    for (const split of ['whole', 'bytes'] as const) {
      got.length = 0;
      const c = await rawClient(broker.port, { clientId: `fp-${split}` });
      const before = broker.fastPathPublications;
      const topic = `${base}/mixed/${split}`;
      await c.send(
        [
          publish(topic, 'a'),
          publish(topic, 'b', { qos: 1, messageId: 1 }),
          publish(topic, 'c'),
          publish(topic, 'r', { retain: true }),
          publish(topic, 'd'),
          publish(topic, 'x'.repeat(1000)),
          mqttPacket.generate({ cmd: 'pingreq' }),
          publish(topic, 'e'),
        ],
        split,
      );
      await waitFor(() => got.length >= 7, `7 deliveries (${split})`);
      const names = got.map((g) => g.payload.slice(0, 3));
      assert.deepEqual([...names].sort(), ['a', 'b', 'c', 'd', 'e', 'r', 'xxx'], `each once (${split})`);
      // The plain QoS 0 ones in the order sent (aedes itself lets a QoS 1 or a retained
      // publication, which wait for an acknowledgement or the store, come after later ones).
      assert.deepEqual(names.filter((n) => n !== 'b' && n !== 'r'), ['a', 'c', 'd', 'xxx', 'e'], `order (${split})`);
      // Delivered QoS = min(publication, subscription); live messages lose their retain flag.
      assert.deepEqual(got.map((g) => [g.payload.slice(0, 3), g.qos, g.retain]).sort(), [['a', 0, false], ['b', 1, false], ['c', 0, false], ['d', 0, false], ['e', 0, false], ['r', 0, false], ['xxx', 0, false]]);
      assert.ok(got.every((g) => g.clientId === `fp-${split}`), 'the publisher is named');
      // a, and then whatever of c, d, xxx, e were not in a read behind a packet aedes took.
      assert.ok(broker.fastPathPublications - before >= 1, `the fast path was taken (${split})`);
      c.socket.destroy();
    }
  });

  it('another client subscribed to the topic gets it too (aedes delivers); after it unsubscribes, the fast path again', async () => {
    got.length = 0;
    const topic = `${base}/shared`;
    const sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${broker.port}`, { clientId: `fp-sub-${process.pid}`, reconnectPeriod: 0 });
    const theirs: string[] = [];
    sub.on('message', (_t, p) => theirs.push(p.toString()));
    await sub.subscribeAsync(topic, { qos: 0 });
    const c = await rawClient(broker.port, { clientId: 'fp-shared' });
    const before = broker.fastPathPublications;
    await c.send([publish(topic, 'one'), publish(topic, 'two')]);
    await waitFor(() => theirs.length >= 2 && got.length >= 2, 'both get both');
    assert.deepEqual(theirs, ['one', 'two']);
    assert.deepEqual(got.map((g) => g.payload), ['one', 'two']);
    assert.equal(broker.fastPathPublications, before, 'not taken while another client subscribes');
    await sub.unsubscribeAsync(topic);
    await c.send([publish(topic, 'three')]);
    await waitFor(() => got.length >= 3, 'the feed gets the third');
    assert.equal(broker.fastPathPublications, before + 1, 'taken again once the other subscription is gone');
    assert.deepEqual(theirs, ['one', 'two']);
    await sub.endAsync();
    c.socket.destroy();
  });

  it('MQTT 5: a publication with properties goes through aedes (and keeps them); one without is taken', async () => {
    got.length = 0;
    const topic = `${base}/v5`;
    const c = await rawClient(broker.port, { clientId: 'fp-v5', version: 5 });
    const before = broker.fastPathPublications;
    await c.send([publish(topic, 'plain', {}, 5), publish(topic, 'props', { properties: { userProperties: { origin: 'test' } } }, 5), publish(topic, 'plain2', {}, 5)]);
    await waitFor(() => got.length >= 3, '3 deliveries');
    assert.deepEqual(got.map((g) => g.payload), ['plain', 'props', 'plain2']);
    assert.deepEqual({ ...(got[1]!.user as object) }, { origin: 'test' });
    assert.ok(broker.fastPathPublications - before >= 1);
    c.socket.destroy();
  });

  it('a wildcard topic or a packet over the maximum size is refused as aedes refuses it (connection closed)', async () => {
    for (const bad of [publish(`${base}/bad/+`, 'w'), publish(`${base}/big`, 'x'.repeat(MAX_PACKET))]) {
      got.length = 0;
      const c = await rawClient(broker.port, { clientId: 'fp-bad' });
      await c.send([bad]);
      await c.closed;
      assert.equal(got.length, 0);
    }
  });

  it('with API keys: a read-only key publishing to an admin topic is refused and counted; an admin key is taken', async () => {
    keysOn = true;
    try {
      got.length = 0;
      const refusedBefore = broker.stats().refused.publish;
      const reader = await rawClient(broker.port, { clientId: 'fp-reader', password: READ_KEY });
      await reader.send([publish(`${base}/admin/cmd`, 'no')]);
      await reader.closed; // MQTT 3.1.1: a refused publication closes the connection (MQTT-3.3.5-2)
      assert.equal(broker.stats().refused.publish, refusedBefore + 1);
      const admin = await rawClient(broker.port, { clientId: 'fp-admin', password: WRITE_KEY });
      const before = broker.fastPathPublications;
      await admin.send([publish(`${base}/admin/cmd`, 'yes')]);
      await waitFor(() => got.length >= 1, 'the admin publication');
      assert.deepEqual(got.map((g) => g.payload), ['yes']);
      assert.equal(broker.fastPathPublications, before + 1);
      admin.socket.destroy();
    } finally {
      keysOn = false;
    }
  });
});
