import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function embedded(extra: Record<string, unknown> = {}, gatewayId = `gw-${randomBytes(3).toString('hex')}`): Record<string, unknown> {
  return { gateway: { id: gatewayId }, mqtt: { url: 'embedded', embedded: { host: '127.0.0.1', port: 0 }, ...extra } };
}

function brokerUrl(gw: TestGateway): string {
  return `mqtt://127.0.0.1:${gw.gateway.mqtt.embeddedBroker!.port}`;
}

async function connected(gw: TestGateway): Promise<void> {
  await waitFor(() => gw.gateway.mqtt.connection?.connected, 'the bridge connected');
  // The subscriptions are granted right after CONNACK.
  await waitFor(() => gw.gateway.mqtt.stats().subscriptions.every((s) => s.granted !== null), 'subscriptions granted');
}

describe('MQTT bridge with the embedded broker (issue 3)', () => {
  let gw: TestGateway;
  let pub: MqttRecorder;

  before(async () => {
    gw = await startTestGateway(embedded({ embedded: { host: '127.0.0.1', port: 0, wsPort: 0 } }));
    await connected(gw);
    pub = await MqttRecorder.connect(brokerUrl(gw));
  });
  after(async () => {
    await pub?.close();
    await gw?.stop();
  });

  it('forwards a message to every WebSocket client with exactly topic, data, timestamp, source', async () => {
    const a = await WsRecorder.connect(gw.url);
    const b = await WsRecorder.connect(gw.url);
    try {
      await a.waitFor((m) => m.topic === 'mqtt/status' && m.state === 'connected', 'mqtt/status on connect');
      const status = a.byTopic('mqtt/status')[0];
      assert.deepEqual(Object.keys(status).sort(), ['broker', 'error', 'state', 'timestamp', 'topic']);
      assert.equal(status.error, null);
      await pub.publish('sensor/temperature/living-room', '{"temperature": 23.5, "unit": "celsius"}');
      for (const ws of [a, b]) {
        const m = await ws.waitFor((x) => x.topic === 'sensor/temperature/living-room', 'forwarded message');
        assert.deepEqual(Object.keys(m), ['topic', 'data', 'timestamp', 'source']);
        assert.equal(m.data, '{"temperature": 23.5, "unit": "celsius"}');
        assert.equal(m.source, 'mqtt');
        assert.match(m.timestamp, RFC3339);
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('keeps binary, empty and 200 kB payloads byte-exact', async () => {
    const ws = await WsRecorder.connect(gw.url);
    try {
      const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const large = randomBytes(200 * 1024);
      const largeText = 'x'.repeat(200 * 1024);
      await pub.publish('edge/binary', binary);
      await pub.publish('edge/empty', '');
      await pub.publish('edge/large', large);
      await pub.publish('edge/large-text', largeText);
      const mBin = await ws.waitFor((m) => m.topic === 'edge/binary', 'binary');
      assert.equal(mBin.encoding, 'base64');
      assert.deepEqual(Buffer.from(mBin.data, 'base64'), binary);
      const mEmpty = await ws.waitFor((m) => m.topic === 'edge/empty', 'empty');
      assert.equal(mEmpty.data, '');
      assert.equal(mEmpty.encoding, undefined);
      const mLarge = await ws.waitFor((m) => m.topic === 'edge/large', 'large');
      assert.ok(Buffer.from(mLarge.data, 'base64').equals(large), '200 kB binary byte-exact');
      const mLargeText = await ws.waitFor((m) => m.topic === 'edge/large-text', 'large text');
      assert.equal(mLargeText.data, largeText);
      assert.equal(mLargeText.encoding, undefined);
    } finally {
      ws.close();
    }
  });

  it('keeps the order of messages per topic', async () => {
    const ws = await WsRecorder.connect(gw.url);
    try {
      const n = 500;
      for (let i = 0; i < n; i++) {
        void pub.client.publish('order/a', String(i));
        void pub.client.publish('order/b', String(i), { qos: 1 });
      }
      await waitFor(() => ws.byTopic('order/a').length === n && ws.byTopic('order/b').length === n, 'all ordered messages', 20_000);
      assert.deepEqual(ws.byTopic('order/a').map((m) => Number(m.data)), Array.from({ length: n }, (_, i) => i));
      assert.deepEqual(ws.byTopic('order/b').map((m) => Number(m.data)), Array.from({ length: n }, (_, i) => i));
    } finally {
      ws.close();
    }
  });

  it('accepts MQTT over WebSocket on the embedded broker', async () => {
    const wsPort = gw.gateway.mqtt.embeddedBroker!.wsPort!;
    const wsClient = await mqtt.connectAsync(`ws://127.0.0.1:${wsPort}/mqtt`, { reconnectPeriod: 0 });
    const ws = await WsRecorder.connect(gw.url);
    try {
      await wsClient.publishAsync('via/websocket', 'over ws');
      const m = await ws.waitFor((x) => x.topic === 'via/websocket', 'message published over MQTT-over-WebSocket');
      assert.equal(m.data, 'over ws');
    } finally {
      ws.close();
      await wsClient.endAsync(true);
    }
  });

  it('keeps the last messages per topic for GET /api/mqtt/messages and replays them on request', async () => {
    for (let i = 0; i < 15; i++) await pub.publish('replay/a', `a${i}`);
    for (let i = 0; i < 3; i++) await pub.publish('replay/b', `b${i}`);
    await pub.publish('other/x', 'o');
    const r = await http(`${gw.url}/api/mqtt/messages?topic=${encodeURIComponent('replay/#')}&limit=100`);
    await waitFor(async () => (await http(`${gw.url}/api/mqtt/messages?topic=other/x`)).body.count === 1, 'retained other/x');
    const all = (await http(`${gw.url}/api/mqtt/messages?topic=${encodeURIComponent('replay/#')}&limit=100`)).body;
    assert.equal(r.status, 200);
    assert.equal(all.topic, 'replay/#');
    // 10 per topic by default: a5..a14, b0..b2, in arrival order.
    assert.deepEqual(all.messages.map((m: any) => m.data), [...Array.from({ length: 10 }, (_, i) => `a${i + 5}`), 'b0', 'b1', 'b2']);
    assert.deepEqual(Object.keys(all.messages[0]), ['topic', 'data', 'timestamp', 'source']);
    const limited = (await http(`${gw.url}/api/mqtt/messages?topic=${encodeURIComponent('replay/+')}&limit=2`)).body;
    assert.deepEqual(limited.messages.map((m: any) => m.data), ['b1', 'b2']);

    const bad = await http(`${gw.url}/api/mqtt/messages?topic=${encodeURIComponent('replay/#/x')}`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_topic_filter');
    const badLimit = await http(`${gw.url}/api/mqtt/messages?limit=0`);
    assert.equal(badLimit.status, 400);
    assert.match(badLimit.body.message, /limit/);

    const replayed = await WsRecorder.connect(`${gw.url.replace(/^http/, 'ws')}/ws?replay=${encodeURIComponent('replay/a')}&replayLimit=4`);
    try {
      const done = await replayed.waitFor((m) => m.topic === 'mqtt/replay', 'end of replay');
      assert.deepEqual(done.count, 4);
      assert.equal(done.filter, 'replay/a');
      const msgs = replayed.byTopic('replay/a');
      assert.deepEqual(msgs.map((m) => m.data), ['a11', 'a12', 'a13', 'a14']);
      assert.ok(msgs.every((m) => m.replay === true && m.source === 'mqtt'));
      // Live messages follow the replay, without the replay mark.
      await pub.publish('replay/a', 'live');
      const live = await replayed.waitFor((m) => m.topic === 'replay/a' && m.data === 'live', 'live after replay');
      assert.equal(live.replay, undefined);
    } finally {
      replayed.close();
    }
    const refused = await WsRecorder.connect(`${gw.url.replace(/^http/, 'ws')}/ws?replay=${encodeURIComponent('a/#/b')}`);
    try {
      const answer = await refused.waitFor((m) => m.topic === 'mqtt/replay', 'refused replay');
      assert.equal(answer.error, 'invalid_topic_filter');
      assert.equal(typeof answer.message, 'string');
    } finally {
      refused.close();
    }
  });

  it('takes the embedded broker\'s messages in process (issue 16 §5): once each, no $SYS, not over its own MQTT connection', async () => {
    const ws = await WsRecorder.connect(gw.url);
    try {
      await pub.publish('in-process/a', 'one');
      await pub.publish('in-process/a', 'two', { qos: 1 });
      await pub.publish('in-process/marker', 'm');
      await ws.waitFor((m) => m.topic === 'in-process/marker', 'marker');
      assert.deepEqual(ws.messages.filter((m) => m.topic === 'in-process/a').map((m) => m.data), ['one', 'two'], 'each once, in order');
      assert.deepEqual(ws.messages.filter((m) => m.source === 'mqtt' && String(m.topic).startsWith('$')), [], 'no $SYS topic through "#"');
      // The bridge's mqtt.js connection holds only the handlers' subscriptions (commands, Home Assistant), not "#".
      const aedes = (gw.gateway.mqtt.embeddedBroker as unknown as { broker: { clients: Record<string, { subscriptions: Record<string, unknown> }> } }).broker;
      const own = aedes.clients[gw.gateway.mqtt.stats().clientId];
      assert.ok(own, 'the bridge is a client of the embedded broker');
      assert.ok(!('#' in own.subscriptions), `the bridge's connection subscribed: ${Object.keys(own.subscriptions).join(', ')}`);
      assert.equal(gw.gateway.mqtt.stats().subscriptions.find((s) => s.topic === '#')?.granted, 0, '"#" served in process');
    } finally {
      ws.close();
    }
  });

  it('counts messages and bytes in and out at GET /api/mqtt/stats', async () => {
    const before = (await http(`${gw.url}/api/mqtt/stats`)).body;
    await pub.publish('stats/x', '12345');
    await pub.publish('stats/x', Buffer.alloc(10), { qos: 1 });
    const after = await waitFor(async () => {
      const s = (await http(`${gw.url}/api/mqtt/stats`)).body;
      return s.forwarded >= before.forwarded + 2 ? s : undefined;
    }, 'stats to count two messages');
    assert.equal(after.messagesIn - before.messagesIn, 2);
    assert.equal(after.bytesIn - before.bytesIn, 15);
    assert.equal(after.messagesInByQos['1'] - before.messagesInByQos['1'], 0, 'delivered at the subscription QoS 0');
    assert.ok(after.messagesOut > 0 && after.bytesOut > 0, 'the gateway publishes its cluster state');
    assert.equal(after.state, 'connected');
    assert.equal(after.reconnects, 0);
    assert.equal(after.lastError, null);
    assert.deepEqual(after.drops, { duplicate: 0, rateLimited: 0, total: 0 });
    assert.ok(after.embeddedBroker.port > 0);
    const health = await http(`${gw.url}/api/health`);
    assert.equal(health.body.components.mqtt.status, 'up');
    assert.equal(health.body.components.mqtt.state, 'connected');
  });
});

describe('MQTT duplicate suppression and rate limit (off by default)', () => {
  it('drops and counts duplicates within the window and messages over the per-topic rate', async () => {
    // 0.001 message/s with a burst of 2: exactly two pass, however slow the machine.
    const gw = await startTestGateway(embedded({ dedupWindowMs: 600_000, rateLimitPerTopic: 0.001, rateLimitBurst: 2 }));
    const pub = await MqttRecorder.connect(brokerUrl(gw)).catch(async (err) => {
      await gw.stop();
      throw err;
    });
    const ws = await WsRecorder.connect(gw.url);
    try {
      await connected(gw);
      for (let i = 0; i < 3; i++) await pub.publish('dup/t', 'same');
      for (let i = 0; i < 5; i++) await pub.publish('rate/t', `v${i}`);
      await pub.publish('end/marker', 'end');
      await ws.waitFor((m) => m.topic === 'end/marker', 'marker');
      assert.deepEqual(ws.byTopic('dup/t').map((m) => m.data), ['same']);
      assert.deepEqual(ws.byTopic('rate/t').map((m) => m.data), ['v0', 'v1']);
      const stats = (await http(`${gw.url}/api/mqtt/stats`)).body;
      assert.deepEqual(stats.drops, { duplicate: 2, rateLimited: 3, total: 5 });
    } finally {
      ws.close();
      await pub.close();
      await gw.stop();
    }
  });
});

describe('embedded broker with credentials', () => {
  it('requires MQTT_USER / MQTT_PASSWORD from clients when they are set', async () => {
    const saved = { user: process.env.MQTT_USER, password: process.env.MQTT_PASSWORD };
    process.env.MQTT_USER = 'alice';
    process.env.MQTT_PASSWORD = 'wonderland';
    let gw: TestGateway | undefined;
    try {
      gw = await startTestGateway(embedded());
      await connected(gw);
      await assert.rejects(mqtt.connectAsync(brokerUrl(gw), { reconnectPeriod: 0, username: 'alice', password: 'wrong' }), /Bad username or password|Not authorized/);
      const ok = await MqttRecorder.connect(brokerUrl(gw), { username: 'alice', password: 'wonderland' });
      await ok.close();
      assert.equal((await http(`${gw.url}/api/health`)).body.components.mqtt.embeddedBroker.authentication, true);
    } finally {
      if (saved.user === undefined) delete process.env.MQTT_USER;
      else process.env.MQTT_USER = saved.user;
      if (saved.password === undefined) delete process.env.MQTT_PASSWORD;
      else process.env.MQTT_PASSWORD = saved.password;
      await gw?.stop();
    }
  });
});

describe('MQTT bridge off', () => {
  it('reports mqtt disabled in health and answers 503 on the MQTT routes', async () => {
    const gw = await startTestGateway();
    try {
      const health = await http(`${gw.url}/api/health`);
      assert.equal(health.body.components.mqtt.status, 'disabled');
      for (const path of ['/api/mqtt/stats', '/api/mqtt/messages']) {
        const r = await http(`${gw.url}${path}`);
        assert.equal(r.status, 503, path);
        assert.equal(r.body.error, 'mqtt_disabled');
        assert.match(r.body.message, /-mqtt/);
      }
    } finally {
      await gw.stop();
    }
  });
});
