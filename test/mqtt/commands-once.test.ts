import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { HAVE_MOSQUITTO } from './helpers/mosquitto-clients.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';

const skip = skipUnlessPeer('mosquitto', HAVE_MOSQUITTO);

interface Site {
  version: '5' | '3.1.1';
  gw: GatewayProcess;
  sim: TestSim;
  prefix: string;
  hostname: string;
}

async function commandStats(gw: GatewayProcess): Promise<{ received: number; running: number; queued: number; refused: number }> {
  const stats = (await (await fetch(`${gw.url}/api/mqtt/stats`)).json()) as { commands: { received: number; running: number; queued: number; refused: number } };
  return stats.commands;
}

/**
 * Issue 12 items 11 and 12 on Mosquitto, with the real gateway process. Item 12: the bridge's `#`
 * subscription overlaps its command subscription; Mosquitto sends MQTT 5 clients one copy per
 * subscription, and before the fix both copies ran (a toggle toggled twice). Item 11: an MQTT 5
 * response topic outside the gateway's prefix (`victim/lamp/set`) was answered on.
 */
describe('MQTT commands on Mosquitto: one command, one execution; answers only where allowed (issue 12 items 11, 12)', { skip }, () => {
  let broker: Mosquitto;
  let dir: string;
  const sites: Site[] = [];

  before(async () => {
    broker = await Mosquitto.start();
    dir = await mkdtemp(join(tmpdir(), 'spore-i12-commands-'));
    await Promise.all(
      (['5', '3.1.1'] as const).map(async (version) => {
        const id = `c${randomBytes(3).toString('hex')}`;
        const nodePort = await freePort();
        const file = join(dir, `${id}.json`);
        await writeFile(file, JSON.stringify({ gateway: { id }, nodes: { port: nodePort }, mqtt: { reconnectPeriodMs: 300, commands: { allowResponseTopics: ['apps/+/replies'] } } }));
        const gw = await startGatewayProcess({ args: ['-config', file, '-mqtt', broker.url, '-mqtt-protocol', version] });
        const sim = await startSim({ udpPort: gw.udpPort, nodePort }, 1);
        sites.push({ version, gw, sim, prefix: `spore/${id}`, hostname: sim.hostnames[0]! });
      }),
    );
    for (const s of sites) {
      await waitFor(async () => {
        const [nodes, mqtt] = await Promise.all([fetch(`${s.gw.url}/api/discovery/nodes`).then((r) => r.json()), fetch(`${s.gw.url}/api/mqtt/stats`).then((r) => r.json())]);
        return (nodes as { nodes: Array<{ status: string }> }).nodes.some((n) => n.status === 'ACTIVE') && (mqtt as { state: string }).state === 'connected';
      }, `MQTT ${s.version}: node ACTIVE and bridge connected`, 30_000);
    }
  });
  after(async () => {
    for (const s of sites) {
      await s.sim.stop();
      await s.gw.stop();
    }
    await broker?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a toggle published once runs once, over MQTT 5 and 3.1.1 (the bridge subscribes # too)', async () => {
    for (const s of sites) {
      const v = `MQTT ${s.version}`;
      const answers = await MqttRecorder.connect(broker.url, { protocolVersion: 5 });
      try {
        await answers.subscribe(`${s.prefix}/nodes/+/command/response`, 1);
        const answered = (cid: string) => answers.messages.filter((m) => m.payload.includes(`"${cid}"`));
        const start = await commandStats(s.gw);
        const relay = s.sim.node(0).model.relay;
        const command = `${s.prefix}/nodes/${s.hostname}/command`;
        await answers.publish(command, JSON.stringify({ id: 'toggle', method: 'POST', uri: '/api/relay', params: [{ name: 'state', value: 'toggle', location: 'body' }] }), { qos: 1 });
        await waitFor(() => answered('toggle')[0], `${v}: toggle answered`, 20_000);
        // A second command after it: every copy of the first has arrived before it (one connection, in order).
        await answers.publish(command, JSON.stringify({ id: 'read', method: 'GET', uri: '/api/relay' }), { qos: 1 });
        await waitFor(() => answered('read')[0], `${v}: read answered`, 20_000);
        const end = await waitFor(async () => {
          const st = await commandStats(s.gw);
          return st.running === 0 && st.queued === 0 ? st : undefined;
        }, `${v}: commands settled`);
        assert.equal(end.received - start.received, 2, `${v}: two commands received, not four`);
        assert.equal(answered('toggle').length, 1, `${v}: one answer to the toggle`);
        assert.notEqual(s.sim.node(0).model.relay, relay, `${v}: the relay toggled exactly once`);
        assert.equal(JSON.parse(answered('read')[0]!.payload.toString()).body.state, s.sim.node(0).model.relay);
      } finally {
        await answers.close();
      }
    }
  });

  it('MQTT 5 response topics: under the prefix and in mqtt.commands.allowResponseTopics answered; elsewhere refused, not run', async () => {
    const s = sites.find((x) => x.version === '5')!;
    const client = await MqttRecorder.connect(broker.url, { protocolVersion: 5 });
    try {
      await client.subscribe('victim/#', 1);
      await client.subscribe('apps/+/replies', 1);
      await client.subscribe(`${s.prefix}/#`, 1);
      const command = `${s.prefix}/nodes/${s.hostname}/command`;
      const ask = (cid: string, responseTopic: string, uri = '/api/relay', method = 'GET', params: unknown[] = []) =>
        client.publish(command, JSON.stringify({ id: cid, method, uri, params }), { qos: 1, properties: { responseTopic, correlationData: Buffer.from(cid) } });

      await ask('own', `${s.prefix}/replies/me`);
      const own = await client.waitFor((m) => m.topic === `${s.prefix}/replies/me`, 'answer under the prefix', 20_000);
      assert.equal(own.packet.properties?.correlationData?.toString(), 'own');

      await ask('app', 'apps/dash/replies');
      const app = await client.waitFor((m) => m.topic === 'apps/dash/replies', 'answer on an allowed topic', 20_000);
      assert.equal(JSON.parse(app.payload.toString()).status, 200);

      const relay = s.sim.node(0).model.relay;
      await ask('attack', 'victim/lamp/set', '/api/relay', 'POST', [{ name: 'state', value: 'toggle', location: 'body' }]);
      const refusal = await client.waitFor((m) => m.topic === `${s.prefix}/nodes/${s.hostname}/command/response` && m.payload.includes('"attack"'), 'the refusal on the default topic', 20_000);
      const body = JSON.parse(refusal.payload.toString());
      assert.equal(body.error, 'forbidden');
      assert.match(body.message, /allowResponseTopics/);
      assert.equal(refusal.packet.properties?.correlationData?.toString(), 'attack', 'the correlation data comes back with the refusal');
      assert.equal(s.sim.node(0).model.relay, relay, 'the refused command did not run');
      assert.equal(client.messages.filter((m) => m.topic.startsWith('victim/')).length, 0, 'nothing was published on victim/…');
    } finally {
      await client.close();
    }
  });
});
