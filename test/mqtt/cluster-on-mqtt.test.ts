import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';

/**
 * The cluster on MQTT with the embedded broker and emulated nodes: retained
 * node state and cluster summary, events, availability, commands through the
 * NodeAccess safety rules, Home Assistant discovery.
 */
describe('cluster on MQTT (embedded broker, emulated nodes)', () => {
  const gatewayId = `gw-${randomBytes(3).toString('hex')}`;
  const prefix = `spore/${gatewayId}`;
  let gw: TestGateway;
  let sim: TestSim;
  let client: MqttRecorder;

  before(async () => {
    gw = await startTestGateway({
      gateway: { id: gatewayId },
      // A DEAD node (4 s silent in tests) leaves the registry 0.5 s later, for the removal test.
      nodes: { removeDeadAfterMs: 500 },
      // MQTT 3.1.1 (the default towards other brokers): the gateway recognises its own echoes
      // itself. Over MQTT 5, the embedded broker's default, No Local does it (home-assistant-v5.test.ts).
      mqtt: { url: 'embedded', protocolVersion: 4, embedded: { host: '127.0.0.1', port: 0 }, reconnectPeriodMs: 300, homeAssistant: { enabled: true }, cluster: { statePublishIntervalMs: 500, commandConcurrency: 2, commandQueue: 2 } },
    });
    await waitFor(() => gw.gateway.mqtt.connection?.connected, 'bridge connected');
    client = await MqttRecorder.connect(`mqtt://127.0.0.1:${gw.gateway.mqtt.embeddedBroker!.port}`);
    await client.subscribe(`${prefix}/#`, 1);
    await client.subscribe('homeassistant/#', 1);
    sim = await startSim(gw, 2);
    await waitFor(() => gw.gateway.registry.activeNodes().length === 2, 'two ACTIVE nodes');
  });
  after(async () => {
    await client?.close();
    await sim?.stop();
    await gw?.stop();
  });

  it('publishes a retained state per node and a retained cluster summary', async () => {
    const hostname = sim.hostnames[0]!;
    const stateMsg = await client.waitFor((m) => m.topic === `${prefix}/nodes/${hostname}/state` && JSON.parse(m.payload.toString()).latency !== null, "node state after a status poll");
    const state = JSON.parse(stateMsg.payload.toString());
    assert.equal(state.hostname, hostname);
    assert.equal(state.ip, sim.ips[0]);
    assert.equal(state.status, 'ACTIVE');
    assert.equal(typeof state.latency, 'number');
    assert.match(state.lastSeen, /Z$/);
    assert.equal(typeof state.labels, 'object');
    // A client that arrives later gets the state from the broker: it is retained.
    const late = await MqttRecorder.connect(`mqtt://127.0.0.1:${gw.gateway.mqtt.embeddedBroker!.port}`);
    try {
      await late.subscribe(`${prefix}/nodes/+/state`);
      await late.subscribe(`${prefix}/cluster`);
      await late.waitFor((m) => m.topic === `${prefix}/nodes/${sim.hostnames[1]}/state`, 'retained state of node 2');
      const summary = await late.waitFor((m) => m.topic === `${prefix}/cluster` && JSON.parse(m.payload.toString()).totalNodes === 2, 'retained summary');
      assert.equal(summary.packet.retain, true);
      const s = JSON.parse(summary.payload.toString());
      assert.equal(s.active, 2);
      assert.ok(sim.ips.includes(s.primaryNode));
      assert.deepEqual(s.nodes.map((n: any) => n.hostname).sort(), [...sim.hostnames].sort());
    } finally {
      await late.close();
    }
  });

  it('publishes events and availability, and never forwards them back to the WebSocket', async () => {
    const ws = await WsRecorder.connect(gw.url);
    try {
      await sim.sendEvent(0, 'button', { pressed: true });
      const ev = await client.waitFor((m) => m.topic === `${prefix}/events/cluster/event`, 'cluster/event on MQTT');
      assert.deepEqual(JSON.parse(ev.payload.toString()).data, { pressed: true });
      await ws.waitFor((m) => m.topic === 'cluster/event', 'the same event on the WebSocket (from the bus)');
      const online = client.on(`${prefix}/status`);
      assert.equal(online.at(-1)?.payload.toString(), 'online');
      // Something published after the event marks the point by which any echo would have arrived.
      await client.publish('marker/echo', 'm');
      await ws.waitFor((m) => m.topic === 'marker/echo', 'marker');
      assert.deepEqual(ws.messages.filter((m) => m.source === 'mqtt' && m.topic.startsWith(prefix)), [], 'no own publication echoed');
      assert.ok(gw.gateway.mqtt.stats().ownEchoesSuppressed > 0, 'echoes recognised by the gateway (MQTT 3.1.1)');
    } finally {
      ws.close();
    }
  });

  it('runs a command on an emulated node and answers on …/command/response', async () => {
    const hostname = sim.hostnames[1]!;
    await client.publish(
      `${prefix}/nodes/${hostname}/command`,
      JSON.stringify({ id: 'led-1', method: 'POST', uri: '/api/led', params: [{ name: 'color', value: '#00ff00', location: 'body' }] }),
      { qos: 1 },
    );
    const res = await client.waitFor((m) => m.topic === `${prefix}/nodes/${hostname}/command/response` && JSON.parse(m.payload.toString()).id === 'led-1', 'command response');
    const answer = JSON.parse(res.payload.toString());
    assert.equal(answer.status, 200);
    assert.equal(answer.body.color, '#00ff00');
    assert.equal(sim.node(1).model.led.color, '#00ff00', 'the node itself changed');

    await client.publish(`${prefix}/nodes/${hostname}/command`, JSON.stringify({ id: 'st', method: 'GET', uri: '/api/node/status' }));
    const st = JSON.parse((await client.waitFor((m) => m.topic.endsWith('/command/response') && JSON.parse(m.payload.toString()).id === 'st', 'status response')).payload.toString());
    assert.equal(st.status, 200);
    assert.equal(typeof st.body.freeHeap, 'number');
  });

  it('refuses a command to a non-node, a bad uri, a bad method or bad JSON with {error, message}', async () => {
    const hostname = sim.hostnames[0]!;
    const cases: Array<[string, string, string]> = [
      ['no-such-node', JSON.stringify({ id: 'n1', method: 'GET', uri: '/api/node/status' }), 'node_not_found'],
      [hostname, JSON.stringify({ id: 'n2', method: 'GET', uri: '/../etc/passwd' }), 'invalid_uri'],
      [hostname, JSON.stringify({ id: 'n3', method: 'GET', uri: 'http://evil.example/' }), 'invalid_uri'],
      [hostname, JSON.stringify({ id: 'n4', method: 'TRACE', uri: '/api/node/status' }), 'invalid_method'],
    ];
    for (const [host, payload, error] of cases) {
      const id = JSON.parse(payload).id;
      await client.publish(`${prefix}/nodes/${host}/command`, payload);
      const res = await client.waitFor((m) => m.topic === `${prefix}/nodes/${host}/command/response` && JSON.parse(m.payload.toString()).id === id, `answer to ${id}`);
      const body = JSON.parse(res.payload.toString());
      assert.deepEqual(Object.keys(body).sort(), ['error', 'id', 'message'], id);
      assert.equal(body.error, error, id);
      assert.ok(body.message.length > 10, id);
    }
    await client.publish(`${prefix}/nodes/${hostname}/command`, 'not json');
    const bad = await client.waitFor((m) => m.topic === `${prefix}/nodes/${hostname}/command/response` && JSON.parse(m.payload.toString()).error === 'invalid_json', 'invalid JSON answer');
    assert.deepEqual(Object.keys(JSON.parse(bad.payload.toString())).sort(), ['error', 'message']);
    const stats = (await http(`${gw.url}/api/mqtt/stats`)).body.commands;
    assert.ok(stats.refused >= 5);
  });

  it('bounds the commands in flight: past the queue a command is answered "busy"', async () => {
    const hostname = sim.hostnames[0]!;
    const room = 2 + 2; // commandConcurrency + commandQueue of this gateway
    sim.slow(0, 1000);
    try {
      const ids = Array.from({ length: room + 3 }, (_, i) => `flood-${i}`);
      await Promise.all(ids.map((id) => client.publish(`${prefix}/nodes/${hostname}/command`, JSON.stringify({ id, method: 'GET', uri: '/api/relay' }))));
      const busy = await client.waitFor(
        (m) => m.topic === `${prefix}/nodes/${hostname}/command/response` && JSON.parse(m.payload.toString()).error === 'busy',
        'a busy answer',
      );
      assert.match(JSON.parse(busy.payload.toString()).message, /\w/);
    } finally {
      sim.slow(0, 0);
      await waitFor(() => {
        const c = gw.gateway.mqtt.stats().commands;
        return c !== null && c.running === 0 && c.queued === 0;
      }, 'the accepted commands drained');
    }
  });

  it('never executes a retained command', async () => {
    const hostname = sim.hostnames[0]!;
    const before = sim.node(0).model.relay;
    await client.publish(`${prefix}/nodes/${hostname}/command`, JSON.stringify({ method: 'POST', uri: '/api/relay', params: [{ name: 'state', value: 'toggle' }] }), { retain: true, qos: 1 });
    // A retained message reaches current subscribers with retain=0 (MQTT-3.3.1-9), so it runs once now; on a
    // new subscription (a reconnection) it arrives with retain=1 and must not run again.
    await waitFor(() => sim.node(0).model.relay !== before, 'the live command ran');
    const toggled = sim.node(0).model.relay;
    gw.gateway.mqtt.connection!['client']!.stream.destroy();
    await waitFor(() => gw.gateway.mqtt.stats().connections >= 2 && gw.gateway.mqtt.connection!.connected, 'reconnected', 20_000);
    await waitFor(() => (gw.gateway.mqtt.stats().commands?.ignoredRetained ?? 0) >= 1, 'retained command ignored');
    assert.equal(sim.node(0).model.relay, toggled);
    await client.publish(`${prefix}/nodes/${hostname}/command`, '', { retain: true, qos: 1 });
  });

  it('announces each node to Home Assistant and removes it when the node leaves', async () => {
    const hostname = sim.hostnames[0]!;
    const topicOf = (key: string): string => `homeassistant/sensor/spore_${gatewayId.replace(/[^a-zA-Z0-9_-]/g, '_')}_${hostname.replace(/[^a-zA-Z0-9_-]/g, '_')}/${key}/config`;
    for (const key of ['status', 'free_heap', 'latency', 'last_seen']) {
      const m = await client.waitFor((x) => x.topic === topicOf(key) && x.payload.length > 0, `HA config ${key}`);
      const config = JSON.parse(m.payload.toString());
      assert.equal(config.state_topic, `${prefix}/nodes/${hostname}/state`);
      assert.equal(config.availability_topic, `${prefix}/status`);
      assert.equal(config.device.name, hostname);
      assert.ok(config.unique_id.endsWith(key));
    }
    // The node leaves the registry: its entities are removed with empty retained configs, its state cleared.
    sim.kill(0);
    await client.waitFor((x) => x.topic === topicOf('status') && x.payload.length === 0, 'HA config removed', 20_000);
    await client.waitFor((x) => x.topic === `${prefix}/nodes/${hostname}/state` && x.payload.length === 0, 'retained state cleared', 20_000);
  });
});
