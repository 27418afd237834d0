import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import mqtt, { type IConnackPacket, type IDisconnectPacket, type MqttClient } from 'mqtt';
import { EmbeddedBroker } from '../../src/mqtt/embedded-broker.js';
import { silentLogger } from '../../src/logger.js';
import { Mosquitto, MOSQUITTO_PUB, MOSQUITTO_SUB } from '../helpers/mosquitto.js';
import { sleep } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { HAVE_MOSQUITTO } from './helpers/mosquitto-clients.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';
import { rawConnect, type ConnectSpec } from './helpers/raw-connect.js';

const run = promisify(execFile);
const MAX_PACKET = 4096; // bytes, the test broker's maximum packet size
const MAX_SESSION_EXPIRY = 60; // s
const ASSIGNED_CLIENT_ID = 0x12; // MQTT 5 §3.2.2.3.7
const MAXIMUM_PACKET_SIZE = 0x27; // MQTT 5 §3.2.2.3.6
const SESSION_EXPIRY = 0x11; // MQTT 5 §3.2.2.3.2

/** The CONNACK mqtt.js keeps (a private field in its types). */
const connack = (client: MqttClient): IConnackPacket => (client as unknown as { connackPacket: IConnackPacket }).connackPacket;

const unique = (what: string) => `s19/${what}/${randomBytes(4).toString('hex')}`;

/**
 * mosquitto_sub for one message with MQTT 5 fields printed (`-F`): subscribes, then
 * `publish()` is repeated until the message arrives (nothing tells when the subscription is in).
 */
async function mosquittoSubOnce(port: number, version: 'mqttv5' | 'mqttv311', topic: string, publish: () => Promise<void>): Promise<string> {
  const child = spawn(MOSQUITTO_SUB!, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-t', topic, '-C', '1', '-W', '10', '-F', '%t|%p|%P|%R|%D|%C|%E'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  let done = false;
  void exited.then(() => (done = true));
  while (!done) {
    await publish();
    await Promise.race([sleep(200), exited]);
  }
  assert.equal(await exited, 0, `mosquitto_sub -V ${version} got a message`);
  return out.trim();
}

const V5_PROPERTIES = ['-D', 'publish', 'user-property', 'origin', 'paho', '-D', 'publish', 'response-topic', 'reply/here', '-D', 'publish', 'correlation-data', 'c0ffee', '-D', 'publish', 'content-type', 'text/plain', '-D', 'publish', 'message-expiry-interval', '300'];

describe('embedded broker: MQTT 5, 3.1.1 and 3.1 (issue 19)', () => {
  let broker: EmbeddedBroker;
  let mosquitto: Mosquitto | undefined;

  before(async () => {
    broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, maxPacketBytes: MAX_PACKET, maxSessionExpirySeconds: MAX_SESSION_EXPIRY }, silentLogger());
    await broker.start();
    if (HAVE_MOSQUITTO) mosquitto = await Mosquitto.start();
  });
  after(async () => {
    await broker?.stop();
    await mosquitto?.destroy();
  });
  const url = () => `mqtt://127.0.0.1:${broker.port}`;

  it('client id rules, with raw CONNECT packets: as the specs say, and as Mosquitto answers', { skip: skipUnlessPeer('mosquitto', HAVE_MOSQUITTO) }, async () => {
    const cases: Array<{ spec: ConnectSpec; code: number; closed: boolean; assigned?: boolean; rule: string }> = [
      { spec: { level: 3, clientId: '', clean: true }, code: 0x02, closed: true, rule: 'MQTT 3.1: a client id has 1-23 characters' },
      { spec: { level: 3, clientId: '', clean: false }, code: 0x02, closed: true, rule: 'MQTT 3.1: a client id has 1-23 characters' },
      { spec: { level: 3, clientId: 'sensor-31', clean: true }, code: 0x00, closed: false, rule: 'MQTT 3.1 with an id' },
      { spec: { level: 4, clientId: '', clean: true }, code: 0x00, closed: false, rule: 'MQTT-3.1.3-6/7: empty id with clean session 1 is accepted' },
      { spec: { level: 4, clientId: '', clean: false }, code: 0x02, closed: true, rule: 'MQTT-3.1.3-8: empty id with clean session 0 → 0x02, closed' },
      { spec: { level: 5, clientId: '', clean: true }, code: 0x00, closed: false, assigned: true, rule: 'MQTT-3.1.3-6 (5.0): an id is assigned and returned' },
      { spec: { level: 5, clientId: '', clean: false }, code: 0x00, closed: false, assigned: true, rule: 'MQTT-3.1.3-6 (5.0): with clean start 0 too' },
      { spec: { level: 6, clientId: 'x', clean: true }, code: 0x01, closed: true, rule: 'MQTT-3.1.2-2: unknown protocol level → 0x01' },
    ];
    for (const c of cases) {
      const ours = await rawConnect(broker.port, c.spec);
      const theirs = await rawConnect(mosquitto!.port, c.spec);
      const what = `${c.rule} (level ${c.spec.level}, clean ${c.spec.clean})`;
      assert.equal(ours.code, c.code, `embedded: ${what}`);
      assert.equal(ours.closed, c.closed, `embedded closes: ${what}`);
      assert.equal(ours.sessionPresent, false, `embedded: ${what}`);
      assert.equal(theirs.code, c.code, `Mosquitto: ${what}`);
      assert.equal(theirs.closed, c.closed, `Mosquitto closes: ${what}`);
      if (c.assigned) {
        const id = ours.properties.get(ASSIGNED_CLIENT_ID);
        assert.ok(typeof id === 'string' && id.length > 0, `embedded assigns an id: ${what}`);
        assert.ok(typeof theirs.properties.get(ASSIGNED_CLIENT_ID) === 'string', `Mosquitto assigns an id: ${what}`);
        assert.equal(ours.properties.get(MAXIMUM_PACKET_SIZE), MAX_PACKET, 'maximum packet size advertised');
      }
    }
  });

  it('mosquitto_pub / mosquitto_sub in -V mqttv5 and -V mqttv311: messages cross versions, MQTT 5 properties forwarded', { skip: skipUnlessPeer('mosquitto', HAVE_MOSQUITTO) }, async () => {
    const port = broker.port;
    const pub = (version: string, topic: string, payload: string, extra: string[] = []) => async () => {
      await run(MOSQUITTO_PUB!, ['-h', '127.0.0.1', '-p', String(port), '-V', version, '-t', topic, '-m', payload, ...extra]);
    };
    const t1 = unique('v5-to-v5');
    const got5 = await mosquittoSubOnce(port, 'mqttv5', t1, pub('mqttv5', t1, 'hello five', V5_PROPERTIES));
    const [topic, payload, userProps, responseTopic, correlation, contentType, expiry] = got5.split('|');
    assert.equal(topic, t1);
    assert.equal(payload, 'hello five');
    assert.equal(userProps, 'origin:paho');
    assert.equal(responseTopic, 'reply/here');
    assert.equal(correlation, 'c0ffee');
    assert.equal(contentType, 'text/plain');
    assert.ok(Number(expiry) > 0 && Number(expiry) <= 300, `message expiry forwarded: ${expiry}`);

    const t2 = unique('v5-to-v311');
    const got311 = await mosquittoSubOnce(port, 'mqttv311', t2, pub('mqttv5', t2, 'to an old client', V5_PROPERTIES));
    assert.equal(got311, `${t2}|to an old client|||||`, '3.1.1 gets the message without properties');

    const t3 = unique('v311-to-v5');
    assert.equal(await mosquittoSubOnce(port, 'mqttv5', t3, pub('mqttv311', t3, 'from an old client')), `${t3}|from an old client|||||`);
  });

  it('mqtt.js v5 and 3.1.1: user properties, response topic, correlation data forwarded; 3.1.1 unchanged', async () => {
    const topic = unique('mqttjs');
    const sub5 = await MqttRecorder.connect(url(), { protocolVersion: 5 });
    const sub4 = await MqttRecorder.connect(url(), { protocolVersion: 4 });
    const sub3 = await MqttRecorder.connect(url(), { protocolVersion: 3, protocolId: 'MQIsdp', clientId: `s19-31-${process.pid}` });
    const pub5 = await MqttRecorder.connect(url(), { protocolVersion: 5 });
    try {
      for (const s of [sub5, sub4, sub3]) await s.subscribe(topic, 1);
      await pub5.publish(topic, 'request', {
        qos: 1,
        properties: { userProperties: { trace: 'abc', unit: 'C' }, responseTopic: 'answers/s19', correlationData: Buffer.from('id-42'), contentType: 'application/json', payloadFormatIndicator: true },
      });
      const five = await sub5.waitFor((m) => m.topic === topic, 'v5 subscriber');
      const p = five.packet.properties!;
      assert.deepEqual({ ...p.userProperties }, { trace: 'abc', unit: 'C' });
      assert.equal(p.responseTopic, 'answers/s19');
      assert.equal(Buffer.from(p.correlationData!).toString(), 'id-42');
      assert.equal(p.contentType, 'application/json');
      for (const old of [sub4, sub3]) {
        const m = await old.waitFor((x) => x.topic === topic, '3.1.1 / 3.1 subscriber');
        assert.equal(m.payload.toString(), 'request');
        assert.equal(m.packet.properties, undefined, 'no properties on the old protocol');
      }
      // And back: a 3.1.1 publication reaches the v5 client.
      await sub4.publish(topic, 'from 3.1.1', { qos: 1 });
      await sub5.waitFor((m) => m.payload.toString() === 'from 3.1.1', 'v5 gets a 3.1.1 message');
    } finally {
      for (const c of [sub5, sub4, sub3, pub5]) await c.close();
    }
  });

  it('mqtt.js: an empty client id is assigned one over MQTT 5 and refused over 3.1.1 without a clean session', async () => {
    const five = await mqtt.connectAsync(url(), { protocolVersion: 5, clientId: '', reconnectPeriod: 0 });
    const assigned = connack(five).properties?.assignedClientIdentifier;
    assert.ok(assigned && assigned.length > 0, `assigned ${assigned}`);
    await five.endAsync();
    // mqtt.js itself refuses to send an empty id without a clean session (the raw test covers the broker).
    const four = await mqtt.connectAsync(url(), { protocolVersion: 4, clientId: '', clean: true, reconnectPeriod: 0 });
    assert.equal(four.connected, true);
    await four.endAsync();
  });

  it('session expiry: a v5 session and its queued message outlive a disconnect within the expiry, not after it', async () => {
    const topic = unique('session');
    const clientId = `s19-session-${process.pid}`;
    const connect = (expiry: number) => mqtt.connectAsync(url(), { protocolVersion: 5, clientId, clean: false, reconnectPeriod: 0, properties: { sessionExpiryInterval: expiry } });
    const first = await connect(30);
    await first.subscribeAsync(topic, { qos: 1 });
    await first.endAsync();
    const pub = await MqttRecorder.connect(url(), { protocolVersion: 5 });
    await pub.publish(topic, 'while away', { qos: 1 });
    await pub.close();

    const back = await MqttRecorder.connect(url(), { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 1 } });
    assert.equal(connack(back.client).sessionPresent, true, 'the session outlived the disconnect');
    await back.waitFor((m) => m.topic === topic && m.payload.toString() === 'while away', 'the queued message delivered');
    await back.close();
    // Now with a 1 s expiry: after 2.5 s away the session is gone.
    await sleep(2500);
    const late = await connect(0);
    assert.equal(connack(late).sessionPresent, false, 'an expired session is not present');
    await late.endAsync();
  });

  it('session expiry above the limit is clamped, and the client told in CONNACK', async () => {
    const ack = await rawConnectV5WithExpiry(broker.port, 7 * 86_400);
    assert.equal(ack.get(SESSION_EXPIRY), MAX_SESSION_EXPIRY);
  });

  it('message expiry: a retained message expires; a live one carries the remaining interval', async () => {
    const topic = unique('expiry');
    const pub = await MqttRecorder.connect(url(), { protocolVersion: 5 });
    await pub.publish(`${topic}/short`, 'soon gone', { qos: 1, retain: true, properties: { messageExpiryInterval: 1 } });
    await pub.publish(`${topic}/long`, 'stays', { qos: 1, retain: true, properties: { messageExpiryInterval: 600 } });
    await sleep(2200);
    const sub = await MqttRecorder.connect(url(), { protocolVersion: 5 });
    try {
      await sub.subscribe(`${topic}/#`, 1);
      const long = await sub.waitFor((m) => m.topic === `${topic}/long`, 'the unexpired retained message');
      const left = long.packet.properties?.messageExpiryInterval ?? 0;
      assert.ok(left > 0 && left <= 600, `remaining expiry ${left}`);
      await sleep(300);
      assert.equal(sub.on(`${topic}/short`).length, 0, 'the expired retained message is not delivered');
    } finally {
      await sub.close();
      await pub.close();
      // Clear the retained message.
      const c = await MqttRecorder.connect(url());
      await c.publish(`${topic}/long`, '', { qos: 1, retain: true });
      await c.close();
    }
  });

  it('maximum packet size: a larger packet gets DISCONNECT 0x95 over MQTT 5 and closes a 3.1.1 client', async () => {
    const five = await mqtt.connectAsync(url(), { protocolVersion: 5, reconnectPeriod: 0 });
    const disconnect = new Promise<IDisconnectPacket>((r) => five.on('disconnect', r));
    const closed5 = new Promise<void>((r) => five.on('close', () => r()));
    five.publish(unique('big'), Buffer.alloc(MAX_PACKET * 2), { qos: 0 });
    assert.equal((await disconnect).reasonCode, 0x95, 'Packet too large');
    await closed5;
    five.end(true);

    const four = await mqtt.connectAsync(url(), { protocolVersion: 4, reconnectPeriod: 0 });
    const closed4 = new Promise<void>((r) => four.on('close', () => r()));
    four.publish(unique('big'), Buffer.alloc(MAX_PACKET * 2), { qos: 0 });
    await closed4;
    four.end(true);
    // A packet within the limit still passes.
    const ok = await MqttRecorder.connect(url(), { protocolVersion: 4 });
    const topic = unique('fits');
    await ok.subscribe(topic);
    await ok.publish(topic, Buffer.alloc(MAX_PACKET - 200));
    await ok.waitFor((m) => m.topic === topic, 'a packet under the limit');
    await ok.close();
  });
});

/** An MQTT 5 CONNECT asking for a session expiry (seconds); returns the CONNACK's session expiry. */
async function rawConnectV5WithExpiry(port: number, seconds: number): Promise<Map<number, string | number>> {
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0, clean: false, clientId: `s19-clamp-${process.pid}`, properties: { sessionExpiryInterval: seconds } });
  try {
    return new Map([[SESSION_EXPIRY, connack(client).properties?.sessionExpiryInterval ?? -1]]);
  } finally {
    await client.endAsync();
  }
}

describe('embedded broker credentials over MQTT 5 and 3.1.1 (issue 19)', () => {
  let broker: EmbeddedBroker;
  before(async () => {
    broker = new EmbeddedBroker({ host: '127.0.0.1', port: 0, username: 'alice', password: 'wonderland' }, silentLogger());
    await broker.start();
  });
  after(async () => broker?.stop());

  it('refuses a wrong password with reason code 0x86 (5.0) and return code 4 (3.1.1); accepts the right one on both', async () => {
    const url = `mqtt://127.0.0.1:${broker.port}`;
    await assert.rejects(mqtt.connectAsync(url, { protocolVersion: 5, username: 'alice', password: 'nope', reconnectPeriod: 0 }), (err: Error & { code?: number }) => err.code === 0x86);
    await assert.rejects(mqtt.connectAsync(url, { protocolVersion: 4, username: 'alice', password: 'nope', reconnectPeriod: 0 }), (err: Error & { code?: number }) => err.code === 4);
    for (const protocolVersion of [5, 4, 3] as const) {
      const c = await mqtt.connectAsync(url, { protocolVersion, ...(protocolVersion === 3 ? { protocolId: 'MQIsdp' as const } : {}), clientId: `s19-auth-${protocolVersion}`, username: 'alice', password: 'wonderland', reconnectPeriod: 0 });
      assert.equal(c.connected, true);
      await c.endAsync();
    }
  });
});
