import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { MOSQUITTO, MOSQUITTO_PUB, MOSQUITTO_SUB } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { NetnsLan, skipUnlessNetns, type NetnsProcess } from '../helpers/netns.js';
import { skipUnlessPeer } from '../helpers/peers.js';

const ROOT = resolve(import.meta.dirname, '../..');
const bin = (p: string) => join(ROOT, 'dist', p);
const skip = skipUnlessNetns() || skipUnlessPeer('mosquitto and mosquitto-clients', !!(MOSQUITTO && MOSQUITTO_PUB && MOSQUITTO_SUB));

interface FleetGateway {
  gatewayId: string;
  availability: string;
  totalNodes: number;
  active: number;
  versions: Record<string, number>;
  nodes: Array<{ hostname: string; version: string }>;
}

/**
 * Issue 18 §3: many sites on one broker. Each site is its own network namespace with its own
 * gateway (its own id) and its own emulated nodes — with the same hostnames on both sites — and
 * both export to one Mosquitto on a third host of the LAN.
 */
describe('many sites on one broker', { skip }, () => {
  let lan: NetnsLan;
  let dir: string;
  let collector: NetnsProcess;
  const sites = [
    { id: 'site-a', host: 'sa', octet: 10, nodes: 2, version: '1.0.0' },
    { id: 'site-b', host: 'sb', octet: 20, nodes: 3, version: '1.1.0' },
  ];
  /** `topic payload` lines seen by a subscriber to spore/# and telemetry/# on the broker. */
  const lines = () =>
    collector
      .output()
      .split('\n')
      .filter(Boolean)
      .map((l) => ({ topic: l.split(' ', 1)[0]!, payload: l.slice(l.indexOf(' ') + 1) }));
  const fleet = async (): Promise<FleetGateway[]> => {
    const p = lan.spawn('broker', process.execPath, [bin('src/cli/spore-main.js'), '-mqtt', 'mqtt://127.0.0.1:1883', '-json', 'fleet', 'nodes']);
    const code = await p.exited;
    assert.equal(code, 0, p.output());
    return JSON.parse(p.output()).gateways;
  };
  const command = (site: string, hostname: string, body: Record<string, unknown>) =>
    lan.spawn('broker', MOSQUITTO_PUB!, ['-h', '127.0.0.1', '-t', `spore/${site}/nodes/${hostname}/command`, '-q', '1', '-m', JSON.stringify(body)]).exited;

  before(async () => {
    assert.ok(existsSync(bin('src/cli/gateway-main.js')), 'dist/ is missing: run `npm run build` first');
    dir = await mkdtemp(join(tmpdir(), 'spore-sites-'));
    await chmod(dir, 0o777); // mosquitto drops to its own user
    lan = await NetnsLan.create(`m18-${process.pid % 100000}`, (process.pid + 7) % 250);
    await lan.addHost('broker', [2]);
    for (const s of sites) await lan.addHost(s.host, [s.octet]);
    const conf = join(dir, 'mosquitto.conf');
    await writeFile(conf, 'listener 1883 0.0.0.0\nallow_anonymous true\npersistence false\nlog_dest stderr\nlog_type error\n');
    await chmod(conf, 0o644);
    lan.spawn('broker', MOSQUITTO!, ['-c', conf]);
    const broker = `mqtt://${lan.address(2)}:1883`;
    await waitFor(async () => (await lan.spawn('broker', MOSQUITTO_PUB!, ['-h', '127.0.0.1', '-t', 'probe', '-m', 'x']).exited) === 0, 'mosquitto in its namespace', 15_000, 300);
    collector = lan.spawn('broker', MOSQUITTO_SUB!, ['-h', '127.0.0.1', '-t', 'spore/#', '-t', 'telemetry/#', '-v', '-q', '1']);
    for (const s of sites) {
      const config = join(dir, `${s.id}.json`);
      // Node telemetry through the pipeline too: telemetry/<gateway id>/<device>.
      await writeFile(config, JSON.stringify({ pipeline: { connectors: [{ id: 'nodes', type: 'spore', pollMs: 500 }], sinks: [{ id: 'up', type: 'mqtt', url: broker, reconnectPeriodMs: 300 }] } }));
      lan.spawn(s.host, process.execPath, [bin('src/cli/gateway-main.js'), '-config', config, '-gateway-id', s.id, '-mqtt', broker, '-mqtt-reconnect', '300', '-port', '3001', '-udp-port', '4210', '-node-port', '8080', '-broadcast', '127.255.255.255', '-data-dir', join(dir, `data-${s.id}`), '-log-level', 'warn']);
      // The site's nodes on the site's own loopback: nothing of one site reaches the other but MQTT.
      lan.spawn(s.host, process.execPath, [bin('emulator/cli/sim-main.js'), '-count', String(s.nodes), '-base-ip', '127.0.1.1', '-gateway', '127.0.0.1', '-udp-port', '4210', '-http-port', '8080', '-version', s.version, '-heartbeat-ms', '500', '-latency-ms', '0-1', '-quiet']);
    }
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('spore fleet nodes lists every gateway on the broker: availability, node counts, versions', async () => {
    const gateways = await waitFor(async () => {
      const g = await fleet();
      const ok = sites.every((s) => g.find((x) => x.gatewayId === s.id && x.active === s.nodes && x.nodes.length === s.nodes && x.nodes.every((n) => n.version)));
      return ok ? g : undefined;
    }, 'both sites in the retained state', 60_000, 500);
    for (const s of sites) {
      const g = gateways.find((x) => x.gatewayId === s.id)!;
      assert.equal(g.availability, 'online');
      assert.equal(g.totalNodes, s.nodes);
      assert.deepEqual(g.versions, { [s.version]: s.nodes }, `${s.id}'s nodes run ${s.version}`);
      assert.deepEqual(g.nodes.map((n) => n.hostname), Array.from({ length: s.nodes }, (_, i) => `spore-sim-${i + 1}`));
    }
  });

  it('fleet nodes without a broker is a usage error naming -mqtt (exit 2)', async () => {
    const p = lan.spawn('broker', process.execPath, [bin('src/cli/spore-main.js'), 'fleet', 'nodes'], { SPORE_MQTT: '' });
    assert.equal(await p.exited, 2);
    assert.match(p.output(), /-mqtt mqtt:\/\/host/);
    const bad = lan.spawn('broker', process.execPath, [bin('src/cli/spore-main.js'), '-mqtt', 'http://x', 'fleet', 'nodes']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.output(), /-mqtt.*mqtt:\/\//);
  });

  it('topics never collide: each gateway under spore/<id>/ and telemetry/<id>/, with the same hostnames on both sites', async () => {
    await waitFor(() => sites.every((s) => lines().some((l) => l.topic === `telemetry/${s.id}/spore-sim-1`)), 'telemetry from both sites', 30_000, 200);
    for (const { topic, payload } of lines()) {
      const [root, gateway] = topic.split('/');
      assert.ok(sites.some((s) => s.id === gateway), `${topic} is under a gateway's id`);
      if (root === 'telemetry') assert.equal(JSON.parse(payload).gateway, gateway, `${topic}: the record says which gateway`);
      if (/^spore\/[^/]+\/nodes\/[^/]+\/state$/.test(topic) && payload) assert.equal(JSON.parse(payload).gatewayId, gateway);
    }
  });

  it('a command to one gateway’s node is executed by that gateway only', async () => {
    assert.equal(await command('site-a', 'spore-sim-1', { id: 'set-a', method: 'POST', uri: '/api/led', params: [{ name: 'color', value: '#ff0000', location: 'body' }] }), 0);
    const answer = await waitFor(() => lines().find((l) => l.topic.endsWith('/command/response') && l.payload.includes('"set-a"')), 'the answer', 15_000, 200);
    assert.equal(answer.topic, 'spore/site-a/nodes/spore-sim-1/command/response', 'answered by site-a');
    assert.equal(JSON.parse(answer.payload).status, 200);
    // Read the LED of spore-sim-1 on both sites.
    for (const s of sites) assert.equal(await command(s.id, 'spore-sim-1', { id: `get-${s.id}`, method: 'GET', uri: '/api/led' }), 0);
    const leds = await waitFor(() => {
      const got = sites.map((s) => lines().find((l) => l.topic.endsWith('/command/response') && l.payload.includes(`"get-${s.id}"`)));
      return got.every(Boolean) ? got.map((l) => ({ topic: l!.topic, color: JSON.parse(l!.payload).body.color })) : undefined;
    }, 'both LEDs', 15_000, 200);
    assert.equal(leds[0]!.topic, 'spore/site-a/nodes/spore-sim-1/command/response');
    assert.equal(leds[0]!.color, '#ff0000', "site-a's node executed the command");
    assert.equal(leds[1]!.topic, 'spore/site-b/nodes/spore-sim-1/command/response');
    assert.notEqual(leds[1]!.color, '#ff0000', "site-b's node with the same hostname did not");
    assert.equal(lines().filter((l) => l.topic.endsWith('/command/response') && l.payload.includes('"set-a"')).length, 1, 'one answer, from one gateway');
  });
});
