import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import mqtt, { type ErrorWithReasonCode, type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { MOSQUITTO_PUB, MOSQUITTO_SUB } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { HAVE_MOSQUITTO } from './helpers/mosquitto-clients.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';

const run = promisify(execFile);
const ADMIN_KEY = `admin-${randomBytes(12).toString('hex')}`;
const READ_KEY = `read-${randomBytes(12).toString('hex')}`;
const NOT_AUTHORIZED = 0x87; // MQTT 5 reason code
const BAD_CREDENTIALS = 0x86; // MQTT 5 reason code

/** What a connection attempt ended with: connected, or the CONNACK's code (3.1.1 return code / 5.0 reason code). */
async function connectResult(url: string, options: mqtt.IClientOptions): Promise<{ client?: MqttClient; code?: number }> {
  try {
    return { client: await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options }) };
  } catch (err) {
    return { code: (err as ErrorWithReasonCode).code as number };
  }
}

/**
 * Issue 12 item 10 (and issue 19's "API-key authentication works for both versions"): with API
 * keys configured, the embedded broker of the real gateway process wants a key as the MQTT
 * password, an admin key to publish commands, any key to subscribe, and its WebSocket listener
 * checks Origin against the HTTP allow-list. Before the fix an anonymous client ran commands.
 */
describe('embedded broker with API keys: MQTT 5 and 3.1.1 (issue 12 item 10)', () => {
  let gw: GatewayProcess;
  let sim: TestSim;
  let configDir: string;
  let mqttPort: number;
  let wsPort: number;
  const id = `k${randomBytes(3).toString('hex')}`;
  const prefix = `spore/${id}`;
  const url = () => `mqtt://127.0.0.1:${mqttPort}`;
  let hostname: string;
  const command = (cid: string): string => JSON.stringify({ id: cid, method: 'POST', uri: '/api/relay', params: [{ name: 'state', value: 'toggle', location: 'body' }] });
  let adminWatcher: MqttRecorder;
  /** Answers to command `cid` seen so far. */
  const answers = (cid: string) => adminWatcher.messages.filter((m) => m.topic.startsWith(`${prefix}/nodes/`) && m.topic.endsWith('/command/response') && m.payload.includes(`"${cid}"`));

  before(async () => {
    configDir = await mkdtemp(join(tmpdir(), 'spore-i12-broker-'));
    mqttPort = await freePort();
    wsPort = await freePort();
    const nodePort = await freePort();
    const config = {
      gateway: { id },
      nodes: { port: nodePort },
      auth: { apiKeys: [{ name: 'ops', key: ADMIN_KEY, scope: 'admin' }, { name: 'dash', key: READ_KEY, scope: 'read' }] },
      mqtt: { url: 'embedded', embedded: { host: '127.0.0.1', port: mqttPort, wsPort }, reconnectPeriodMs: 300 },
    };
    await writeFile(join(configDir, 'gateway.json'), JSON.stringify(config));
    gw = await startGatewayProcess({ args: ['-config', join(configDir, 'gateway.json')] });
    sim = await startSim({ udpPort: gw.udpPort, nodePort }, 1);
    hostname = sim.hostnames[0]!;
    await waitFor(async () => {
      const nodes = (await (await fetch(`${gw.url}/api/discovery/nodes`)).json()) as { nodes?: Array<{ status: string }> };
      return nodes.nodes?.some((n) => n.status === 'ACTIVE');
    }, 'the emulated node ACTIVE', 30_000);
    adminWatcher = await MqttRecorder.connect(url(), { protocolVersion: 5, username: 'ops', password: ADMIN_KEY });
    await adminWatcher.subscribe(`${prefix}/#`, 1);
    // The gateway's own bridge got in (it has its own secret), so the cluster state is published.
    await adminWatcher.waitFor((m) => m.topic === `${prefix}/status` && m.payload.toString() === 'online', 'the gateway online on its broker', 20_000);
  });
  after(async () => {
    await adminWatcher?.close();
    await sim?.stop();
    await gw?.stop();
    if (configDir) await rm(configDir, { recursive: true, force: true });
  });

  it('no key or a wrong key: refused at CONNECT (5.0: 0x87 / 0x86; 3.1.1: 5 / 4)', async () => {
    const cases = [
      { protocolVersion: 5 as const, options: {}, code: NOT_AUTHORIZED, what: '5.0, anonymous' },
      { protocolVersion: 5 as const, options: { username: 'x', password: 'not-a-key-at-all' }, code: BAD_CREDENTIALS, what: '5.0, wrong key' },
      { protocolVersion: 4 as const, options: {}, code: 5, what: '3.1.1, anonymous' },
      { protocolVersion: 4 as const, options: { username: 'x', password: 'not-a-key-at-all' }, code: 4, what: '3.1.1, wrong key' },
      { protocolVersion: 4 as const, options: { username: 'spore-gateway' }, code: 5, what: "3.1.1, the bridge's user name without its secret" },
    ];
    for (const c of cases) {
      const r = await connectResult(url(), { protocolVersion: c.protocolVersion, ...c.options });
      await r.client?.endAsync(true);
      assert.equal(r.code, c.code, c.what);
    }
  });

  it('a read key subscribes (5.0 and 3.1.1) but cannot send a command; an admin key can (both versions)', async () => {
    const node = sim.node(0);
    for (const protocolVersion of [5, 4] as const) {
      const v = `v${protocolVersion}`;
      // Read key: subscribing works, the node's state arrives.
      const reader = await MqttRecorder.connect(url(), { protocolVersion, username: 'dash', password: READ_KEY });
      await reader.subscribe(`${prefix}/nodes/+/state`, 1);
      await reader.waitFor((m) => m.topic === `${prefix}/nodes/${hostname}/state`, `${v}: the read key gets node state`);
      // Read key: a command is refused — MQTT 5 with PUBACK 0x87, 3.1.1 by closing the connection (MQTT-3.3.5-2).
      const before = node.model.relay;
      const closed = new Promise<void>((r) => reader.client.once('close', () => r()));
      const published = reader.client.publishAsync(`${prefix}/nodes/${hostname}/command`, command(`read-${v}`), { qos: 1 });
      if (protocolVersion === 5) {
        const err = (await published.then(() => undefined, (e: ErrorWithReasonCode) => e)) as ErrorWithReasonCode | undefined;
        assert.equal(err?.code, NOT_AUTHORIZED, 'MQTT 5: PUBACK not authorized');
        await reader.close();
      } else {
        published.catch(() => undefined);
        await closed;
        await reader.close();
      }
      // An admin command afterwards is answered: the refused one never ran before it.
      const admin = await MqttRecorder.connect(url(), { protocolVersion, username: 'anything', password: ADMIN_KEY });
      await admin.publish(`${prefix}/nodes/${hostname}/command`, command(`admin-${v}`), { qos: 1 });
      const answer = JSON.parse((await waitFor(() => answers(`admin-${v}`)[0], `${v}: the admin command answered`)).payload.toString());
      assert.equal(answer.status, 200, JSON.stringify(answer));
      assert.notEqual(node.model.relay, before, `${v}: the admin command toggled the relay once`);
      assert.equal(answers(`read-${v}`).length, 0, `${v}: the read-key command never ran`);
      await admin.close();
    }
  });

  it('mosquitto_pub / mosquitto_sub -V mqttv5 and -V mqttv311 with a key as password', { skip: skipUnlessPeer('mosquitto', HAVE_MOSQUITTO) }, async () => {
    for (const version of ['mqttv5', 'mqttv311']) {
      const args = ['-h', '127.0.0.1', '-p', String(mqttPort), '-V', version];
      // Anonymous: refused.
      const anonymous = await run(MOSQUITTO_SUB!, [...args, '-t', `${prefix}/status`, '-C', '1', '-W', '5']).then(() => 0, (e: { code: number }) => e.code);
      assert.notEqual(anonymous, 0, `${version}: mosquitto_sub without a key is refused`);
      // Read key: the retained availability arrives.
      const { stdout } = await run(MOSQUITTO_SUB!, [...args, '-u', 'dash', '-P', READ_KEY, '-t', `${prefix}/status`, '-C', '1', '-W', '10']);
      assert.equal(stdout.trim(), 'online', `${version}: mosquitto_sub with a read key`);
      // Admin key: a command runs and is answered.
      const cid = `pub-${version}`;
      await run(MOSQUITTO_PUB!, [...args, '-u', 'ops', '-P', ADMIN_KEY, '-q', '1', '-t', `${prefix}/nodes/${hostname}/command`, '-m', command(cid)]);
      await waitFor(() => answers(cid)[0], `${version}: mosquitto_pub's command answered`);
    }
  });

  it('the WebSocket listener: a foreign Origin gets 403; no Origin (not a browser) still needs a key', async () => {
    const upgrade = (origin?: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${wsPort}/`, 'mqtt', origin !== undefined ? { origin } : {});
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => resolve(0));
      });
    assert.equal(await upgrade('http://evil.example'), 403, 'a page on another site is refused');
    assert.equal(await upgrade(`http://127.0.0.1:${gw.httpPort}`), 101, "the gateway's own page (its HTTP origin) is accepted");
    assert.equal(await upgrade(`http://127.0.0.1:${gw.httpPort + (wsPort === gw.httpPort + 1 ? 2 : 1)}`), 403, 'another port on the same host is another origin');
    assert.equal(await upgrade('http://localhost:3000'), 101, 'the SPORE UI origin (the HTTP allow-list with keys) is accepted');
    assert.equal(await upgrade(), 101, 'a client without Origin reaches MQTT');
    const anonymous = await connectResult(`ws://127.0.0.1:${wsPort}`, { protocolVersion: 5 });
    assert.equal(anonymous.code, NOT_AUTHORIZED, 'but over WebSocket too, MQTT wants a key');
    const withKey = await connectResult(`ws://127.0.0.1:${wsPort}`, { protocolVersion: 4, username: 'dash', password: READ_KEY });
    assert.ok(withKey.client, 'a read key over WebSocket connects');
    await withKey.client!.endAsync(true);
    const stats = (await (await fetch(`${gw.url}/api/mqtt/stats`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).json()) as {
      embeddedBroker: { apiKeys: boolean; refused: { publish: number; websocketOrigin: number } };
    };
    assert.equal(stats.embeddedBroker.apiKeys, true);
    assert.ok(stats.embeddedBroker.refused.publish >= 2, 'the refused commands are counted');
    assert.equal(stats.embeddedBroker.refused.websocketOrigin, 2);
  });
});
