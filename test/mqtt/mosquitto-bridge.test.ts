import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import mqtt from 'mqtt';
import { http, spawnTs, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';
import { MOSQUITTO_PUB, MOSQUITTO_RR, type Mosquitto } from '../helpers/mosquitto.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { HAVE_MOSQUITTO, PASSWORD, pub, retained, startBridgeBroker, USER } from './helpers/mosquitto-clients.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';

const run = promisify(execFile);
const skip = skipUnlessPeer('mosquitto (mosquitto, mosquitto_pub, mosquitto_sub, mosquitto_rr, openssl)', HAVE_MOSQUITTO);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function gatewayId(): string {
  return `gw-${randomBytes(3).toString('hex')}`;
}

async function bridgeUp(gw: TestGateway): Promise<void> {
  await waitFor(() => gw.gateway.mqtt.connection?.connected, 'bridge connected');
  await waitFor(() => gw.gateway.mqtt.stats().subscriptions.every((s) => s.granted !== null), 'subscriptions granted');
}

describe('MQTT bridge against Mosquitto (password file, TLS, WebSocket)', { skip }, () => {
  let broker: Mosquitto;
  before(async () => {
    broker = await startBridgeBroker();
  });
  after(async () => {
    await broker?.destroy();
  });

  function mqttConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { gateway: { id: gatewayId() }, mqtt: { url: broker.url, username: USER, password: PASSWORD, reconnectPeriodMs: 300, ...extra } };
  }

  it('forwards mosquitto_pub messages with exact fields; binary, empty and 200 kB byte-exact; order per topic', async () => {
    const gw = await startTestGateway(mqttConfig());
    const ws = await WsRecorder.connect(gw.url);
    try {
      await bridgeUp(gw);
      await pub(broker, 'sensor/humidity/bedroom', '{"humidity": 45.2}');
      const m = await ws.waitFor((x) => x.topic === 'sensor/humidity/bedroom', 'text message');
      assert.deepEqual(Object.keys(m), ['topic', 'data', 'timestamp', 'source']);
      assert.deepEqual({ ...m, timestamp: 'T' }, { topic: 'sensor/humidity/bedroom', data: '{"humidity": 45.2}', timestamp: 'T', source: 'mqtt' });
      assert.match(m.timestamp, RFC3339);

      const binary = Buffer.concat([Buffer.from([0xff, 0xfe, 0xfd, 0x00]), randomBytes(1000)]);
      const large = randomBytes(200 * 1024);
      await pub(broker, 'edge/binary', binary);
      await pub(broker, 'edge/empty', '');
      await pub(broker, 'edge/large', large);
      const mb = await ws.waitFor((x) => x.topic === 'edge/binary', 'binary');
      assert.equal(mb.encoding, 'base64');
      assert.ok(Buffer.from(mb.data, 'base64').equals(binary));
      const me = await ws.waitFor((x) => x.topic === 'edge/empty', 'empty');
      assert.equal(me.data, '');
      const ml = await ws.waitFor((x) => x.topic === 'edge/large', 'large', 20_000);
      assert.ok(Buffer.from(ml.data, 'base64').equals(large), '200 kB byte-exact');

      // mosquitto_pub -l publishes each stdin line as one message, in order.
      const lines = Array.from({ length: 300 }, (_, i) => String(i));
      await new Promise<void>((resolve, reject) => {
        const child = execFile(MOSQUITTO_PUB!, [...broker.clientArgs(USER), '-t', 'order/lines', '-q', '1', '-l'], (err) => (err ? reject(err) : resolve()));
        child.stdin!.end(lines.join('\n') + '\n');
      });
      await waitFor(() => ws.byTopic('order/lines').length === 300, '300 ordered messages', 20_000);
      assert.deepEqual(ws.byTopic('order/lines').map((x) => x.data), lines);
    } finally {
      ws.close();
      await gw.stop();
    }
  });

  it('honours the QoS of each filter: QoS 1 messages wait for the gateway in its session, QoS 0 ones do not', async () => {
    const clientId = `spore-qos-${randomBytes(3).toString('hex')}`;
    const subscriptions = [
      { topic: 'qos/zero/#', qos: 0 },
      { topic: 'qos/one/#', qos: 1 },
      { topic: 'qos/two/#', qos: 2 },
    ];
    const config = mqttConfig({ clientId, cleanSession: false, subscriptions, cluster: { enabled: false } });
    let gw = await startTestGateway(config);
    try {
      await bridgeUp(gw);
      assert.deepEqual(gw.gateway.mqtt.stats().subscriptions.map((s) => [s.topic, s.granted]), [['qos/zero/#', 0], ['qos/one/#', 1], ['qos/two/#', 2]]);
      for (const t of ['qos/zero/x', 'qos/one/x', 'qos/two/x']) await pub(broker, t, 'live', ['-q', '2']);
      const byQos = await waitFor(() => {
        const s = gw.gateway.mqtt.stats();
        return s.messagesIn === 3 ? s.messagesInByQos : undefined;
      }, 'three messages');
      assert.deepEqual(byQos, { '0': 1, '1': 1, '2': 1 }, 'each delivered at min(publish QoS, filter QoS)');

      // The gateway goes away; its persistent session keeps QoS ≥ 1 messages only.
      await gw.stop();
      await pub(broker, 'qos/zero/x', 'while-away', ['-q', '2']);
      await pub(broker, 'qos/one/x', 'while-away', ['-q', '2']);
      await pub(broker, 'qos/two/x', 'while-away', ['-q', '2']);
      gw = await startTestGateway(config);
      await bridgeUp(gw);
      await waitFor(async () => (await http(`${gw.url}/api/mqtt/messages?topic=qos/two/x`)).body.count === 1, 'queued QoS 2 message delivered');
      const kept = (await http(`${gw.url}/api/mqtt/messages?topic=${encodeURIComponent('qos/#')}`)).body.messages.map((x: any) => x.topic);
      assert.deepEqual(kept.sort(), ['qos/one/x', 'qos/two/x']);
    } finally {
      await gw.stop();
    }
  });

  it('connects over TLS with the CA file, refuses an untrusted certificate clearly, and accepts it on explicit opt-in', async () => {
    const withCa = await startTestGateway(mqttConfig({ url: broker.tlsUrl, tls: { caFile: broker.caFile } }));
    try {
      await bridgeUp(withCa);
      const ws = await WsRecorder.connect(withCa.url);
      await pub(broker, 'over/tls', 'secure');
      assert.equal((await ws.waitFor((m) => m.topic === 'over/tls', 'message via TLS bridge')).data, 'secure');
      ws.close();
    } finally {
      await withCa.stop();
    }
    const untrusted = await startTestGateway(mqttConfig({ url: `tls://127.0.0.1:${broker.tlsPort}` }));
    try {
      const health = await waitFor(async () => {
        const h = (await http(`${untrusted.url}/api/health`)).body;
        return h.components.mqtt.error ? h : undefined;
      }, 'a TLS error in health');
      assert.equal(health.status, 'degraded');
      assert.equal(health.components.mqtt.status, 'down');
      assert.match(health.components.mqtt.error, /not trusted.*caFile.*allowSelfSigned/);
    } finally {
      await untrusted.stop();
    }
    const optIn = await startTestGateway(mqttConfig({ url: `tls://127.0.0.1:${broker.tlsPort}`, tls: { allowSelfSigned: true } }));
    try {
      await bridgeUp(optIn);
    } finally {
      await optIn.stop();
    }
  });

  it('connects to Mosquitto over WebSocket (ws://, default path /mqtt)', async () => {
    const gw = await startTestGateway(mqttConfig({ url: `ws://127.0.0.1:${broker.wsPort}` }));
    try {
      await bridgeUp(gw);
      assert.equal(gw.gateway.mqtt.stats().broker, `ws://127.0.0.1:${broker.wsPort}/mqtt`);
      const ws = await WsRecorder.connect(gw.url);
      await pub(broker, 'over/ws', 'hello');
      assert.equal((await ws.waitFor((m) => m.topic === 'over/ws', 'message via ws bridge')).data, 'hello');
      ws.close();
    } finally {
      await gw.stop();
    }
  });

  it('forwards MQTT 5 user properties and content type as extra fields', async () => {
    const gw = await startTestGateway(mqttConfig({ protocolVersion: 5 }));
    const ws = await WsRecorder.connect(gw.url);
    try {
      await bridgeUp(gw);
      await pub(broker, 'v5/props', 'twenty', ['-V', '5', '-D', 'publish', 'user-property', 'unit', 'celsius', '-D', 'publish', 'content-type', 'text/plain']);
      const m = await ws.waitFor((x) => x.topic === 'v5/props', 'MQTT 5 message');
      assert.equal(m.data, 'twenty');
      assert.equal(m.contentType, 'text/plain');
      assert.deepEqual(m.userProperties, { unit: 'celsius' });
      assert.equal(m.source, 'mqtt');
    } finally {
      ws.close();
      await gw.stop();
    }
  });

  it('resumes forwarding after the broker is killed and restarted, without a gateway restart', async () => {
    const gw = await startTestGateway(mqttConfig());
    const ws = await WsRecorder.connect(gw.url);
    try {
      await bridgeUp(gw);
      await pub(broker, 'resume/t', 'before');
      await ws.waitFor((m) => m.topic === 'resume/t' && m.data === 'before', 'before the crash');
      await broker.stop('SIGKILL'); // a crash
      await ws.waitFor((m) => m.topic === 'mqtt/status' && m.state === 'disconnected', 'mqtt/status disconnected');
      const down = (await http(`${gw.url}/api/health`)).body;
      assert.equal(down.components.mqtt.status, 'down');
      assert.equal(down.status, 'degraded');
      await ws.waitFor((m) => m.topic === 'mqtt/status' && m.state === 'reconnecting', 'mqtt/status reconnecting');
      await broker.start();
      await waitFor(() => gw.gateway.mqtt.stats().connections === 2, 'reconnected', 20_000);
      await bridgeUp(gw);
      // The WebSocket client gets the status a moment after the gateway is up again: wait for it.
      await waitFor(() => ws.byTopic('mqtt/status').at(-1)?.state === 'connected', 'mqtt/status connected after the restart', 20_000);
      const statuses = ws.byTopic('mqtt/status').map((m) => m.state);
      assert.equal(statuses.at(-1), 'connected');
      await pub(broker, 'resume/t', 'after');
      await ws.waitFor((m) => m.topic === 'resume/t' && m.data === 'after', 'after the restart');
      const stats = (await http(`${gw.url}/api/mqtt/stats`)).body;
      assert.ok(stats.reconnects >= 1);
      assert.ok(stats.lastError.message.length > 0);
    } finally {
      ws.close();
      await gw.stop();
    }
  });

  it('keeps node state retained on the broker, and availability through the last will', async () => {
    const id = gatewayId();
    const prefix = `spore/${id}`;
    const gw = await startTestGateway({ ...mqttConfig(), gateway: { id } });
    let sim: TestSim | undefined;
    const watcher = await MqttRecorder.connect(broker.url, { username: USER, password: PASSWORD });
    try {
      await bridgeUp(gw);
      sim = await startSim(gw, 2);
      await waitFor(() => gw.gateway.registry.activeNodes().length === 2, 'two ACTIVE nodes');
      const hostname = sim.hostnames[0]!;
      // mosquitto_sub --retained-only: an independent client sees the retained state.
      const state = await waitFor(async () => {
        const text = await retained(broker, `${prefix}/nodes/${hostname}/state`);
        return text ? JSON.parse(text) : undefined;
      }, 'retained node state');
      assert.equal(state.status, 'ACTIVE');
      assert.equal(state.ip, sim.ips[0]);
      assert.equal(await retained(broker, `${prefix}/status`), 'online');
      const summary = JSON.parse((await waitFor(() => retained(broker, `${prefix}/cluster`), 'retained summary'))!);
      assert.equal(summary.gatewayId, id);

      // An abrupt loss of the connection: the broker publishes the last will, then the gateway is back online.
      await watcher.subscribe(`${prefix}/status`, 1);
      await watcher.waitFor((m) => m.payload.toString() === 'online', 'online');
      gw.gateway.mqtt.connection!['client']!.stream.destroy();
      await watcher.waitFor((m) => m.payload.toString() === 'offline', 'last will offline');
      await waitFor(() => watcher.messages.filter((m) => m.payload.toString() === 'online').length >= 2, 'online again');
    } finally {
      await watcher.close();
      await sim?.stop();
      await gw.stop();
    }
    assert.equal(await retained(broker, `${prefix}/status`), 'offline', 'a clean stop publishes offline');
  });

  it('answers commands from independent clients: mosquitto_pub → emulated node → response; MQTT 5 response topic via mosquitto_rr', async () => {
    const id = gatewayId();
    const prefix = `spore/${id}`;
    // Answers outside the gateway's prefix only to the topics allowed (issue 12 item 11).
    const gw = await startTestGateway({ ...mqttConfig({ protocolVersion: 5, commands: { allowResponseTopics: [`rr/${id}/#`, 'replies/+'] } }), gateway: { id } });
    let sim: TestSim | undefined;
    const responses = await MqttRecorder.connect(broker.url, { username: USER, password: PASSWORD });
    try {
      await bridgeUp(gw);
      sim = await startSim(gw, 1);
      await waitFor(() => gw.gateway.registry.activeNodes().length === 1, 'one ACTIVE node');
      const hostname = sim.hostnames[0]!;
      await responses.subscribe(`${prefix}/nodes/+/command/response`, 1);

      await pub(broker, `${prefix}/nodes/${hostname}/command`, JSON.stringify({ id: 'r1', method: 'POST', uri: '/api/relay', params: [{ name: 'state', value: 'on', location: 'body' }] }), ['-q', '1']);
      const r1 = JSON.parse((await responses.waitFor((m) => m.payload.includes('"r1"'), 'relay answer')).payload.toString());
      assert.equal(r1.status, 200);
      assert.equal(r1.body.state, 'on');
      assert.equal(sim.node(0).model.relay, 'on');

      await pub(broker, `${prefix}/nodes/not-a-node/command`, JSON.stringify({ id: 'r2', method: 'GET', uri: '/api/node/status' }));
      const r2 = JSON.parse((await responses.waitFor((m) => m.payload.includes('"r2"'), 'non-node answer')).payload.toString());
      assert.deepEqual(Object.keys(r2).sort(), ['error', 'id', 'message']);
      assert.equal(r2.error, 'node_not_found');

      await pub(broker, `${prefix}/nodes/${hostname}/command`, JSON.stringify({ id: 'r3', method: 'GET', uri: '/api/%2e%2e/secret' }));
      const r3 = JSON.parse((await responses.waitFor((m) => m.payload.includes('"r3"'), 'bad uri answer')).payload.toString());
      assert.equal(r3.error, 'invalid_uri');

      // mosquitto_rr: MQTT 5 request/response; the answer goes to its response topic.
      const { stdout } = await run(MOSQUITTO_RR!, [
        ...broker.clientArgs(USER), '-V', '5',
        '-t', `${prefix}/nodes/${hostname}/command`, '-e', `rr/${id}/answer`, '-m', JSON.stringify({ method: 'GET', uri: '/api/relay' }), '-W', '10',
      ]);
      assert.deepEqual(JSON.parse(stdout).body, { state: 'on' });

      // Correlation data comes back with the answer.
      const v5 = await mqtt.connectAsync(broker.url, { username: USER, password: PASSWORD, protocolVersion: 5, reconnectPeriod: 0 });
      try {
        const got = new Promise<{ payload: Buffer; correlation: Buffer | undefined }>((resolve) => {
          v5.on('message', (_t, payload, packet) => resolve({ payload, correlation: packet.properties?.correlationData }));
        });
        await v5.subscribeAsync(`replies/${id}`, { qos: 1 });
        await v5.publishAsync(`${prefix}/nodes/${hostname}/command`, JSON.stringify({ method: 'GET', uri: '/api/node/status' }), {
          qos: 1,
          properties: { responseTopic: `replies/${id}`, correlationData: Buffer.from('corr-42') },
        });
        const reply = await got;
        assert.equal(reply.correlation?.toString(), 'corr-42');
        assert.equal(JSON.parse(reply.payload.toString()).status, 200);
      } finally {
        await v5.endAsync(true);
      }
    } finally {
      await responses.close();
      await sim?.stop();
      await gw.stop();
    }
  });

  it('wrong credentials: one clear log line, health shows it, the process keeps running', async () => {
    const port = await freePort();
    const p = spawnTs('src/cli/gateway-main.ts', ['-port', String(port), '-bind', '127.0.0.1', '-udp-port', String(await freeUdpPort()), '-mqtt', broker.url, '-mqtt-reconnect', '300', '-data-dir', broker.dir + '/gw-data'], {
      MQTT_USER: USER,
      MQTT_PASSWORD: 'not-the-password',
    });
    try {
      const url = `http://127.0.0.1:${port}`;
      const health = await waitFor(async () => {
        const h = (await http(`${url}/api/health`)).body;
        return h.components.mqtt.reconnects >= 2 ? h : undefined;
      }, 'two failed attempts', 45_000);
      assert.equal(health.status, 'degraded');
      assert.equal(health.components.mqtt.status, 'down');
      assert.match(health.components.mqtt.error, /refused the credentials.*MQTT_USER/);
      const lines = p.stdout().split('\n').filter((l) => l.includes('refused the credentials'));
      assert.equal(lines.length, 1, 'one line for the problem, not one per attempt');
      const entry = JSON.parse(lines[0]!);
      assert.equal(entry.level, 50);
      assert.match(entry.msg, /mqtt:\/\/127\.0\.0\.1:\d+.*refused the credentials.*MQTT_USER \/ MQTT_PASSWORD/);
      assert.doesNotMatch(p.stdout(), /not-the-password/, 'the password is never logged');
      assert.equal(p.child.exitCode, null, 'still running');
      assert.equal((await http(`${url}/api/discovery/nodes`)).status, 200);
    } finally {
      await p.kill();
    }
  });
});
