import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WsRecorder } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { gatewaySuite } from '../helpers/suites.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';

const ENTITIES_PER_NODE = 4; // status, free heap, latency, last seen (mqtt/ha-discovery.ts)

describe('the gateway on its embedded broker speaks MQTT 5; Home Assistant discovery with an MQTT 5 client (issue 19)', () => {
  const gatewayId = `gw-${randomBytes(3).toString('hex')}`;
  const suite = gatewaySuite({
    nodes: 2,
    config: { gateway: { id: gatewayId }, mqtt: { url: 'embedded', embedded: { host: '127.0.0.1', port: 0 }, homeAssistant: { enabled: true } } },
  });
  const brokerUrl = () => `mqtt://127.0.0.1:${suite.gw.gateway.mqtt.embeddedBroker!.port}`;

  it('the bridge connects with MQTT 5 by default: user properties reach the WebSocket, its own publications are not echoed', async () => {
    await waitFor(() => suite.gw.gateway.mqtt.connection?.connected, 'bridge connected');
    assert.equal(suite.gw.gateway.mqtt.stats().protocolVersion, 5);
    const ws = await WsRecorder.connect(suite.gw.url);
    const pub = await MqttRecorder.connect(brokerUrl(), { protocolVersion: 5 });
    try {
      await pub.publish('s19/sensor', '21.5', { qos: 1, properties: { userProperties: { unit: 'C' }, contentType: 'text/plain' } });
      const msg = await waitFor(() => ws.messages.find((m: any) => m.topic === 's19/sensor'), 'the message on /ws') as any;
      assert.equal(msg.data, '21.5');
      assert.deepEqual(msg.userProperties, { unit: 'C' }, 'MQTT 5 properties are only there when the bridge speaks 5');
      assert.equal(msg.contentType, 'text/plain');
      // No Local (MQTT 5 only): the cluster state the gateway publishes does not come back to it.
      assert.ok(ws.messages.every((m: any) => !(typeof m.topic === 'string' && m.topic.startsWith(`spore/${gatewayId}/`))));
    } finally {
      ws.close();
      await pub.close();
    }
  });

  it('Home Assistant\'s birth message (homeassistant/status online) from an MQTT 5 client republishes discovery', async () => {
    const ha = await MqttRecorder.connect(brokerUrl(), { protocolVersion: 5, clientId: `s19-ha-${process.pid}` });
    try {
      await ha.subscribe('homeassistant/sensor/#', 1);
      const configs = () => ha.messages.filter((m) => m.topic.endsWith('/config') && m.payload.length > 0);
      // The retained configs first (the gateway announced the nodes when they appeared).
      await waitFor(() => configs().length >= 2 * ENTITIES_PER_NODE, 'retained discovery configs');
      assert.ok(configs().every((m) => m.packet.retain), 'retained ones, from before');
      const before = configs().length;
      await ha.publish('homeassistant/status', 'online', { qos: 1 });
      await waitFor(() => configs().length >= before + 2 * ENTITIES_PER_NODE, 'discovery republished after the birth message');
      const fresh = configs().slice(before);
      for (const hostname of suite.sim.hostnames) {
        assert.ok(fresh.some((m) => JSON.parse(m.payload.toString()).device?.name === hostname), `${hostname} announced again`);
      }
      // `offline` (Home Assistant's last will) republishes nothing.
      const count = configs().length;
      await ha.publish('homeassistant/status', 'offline', { qos: 1 });
      await ha.publish('homeassistant/status', 'online', { qos: 1 });
      await waitFor(() => configs().length >= count + 2 * ENTITIES_PER_NODE, 'republished once more');
      assert.equal(configs().length, count + 2 * ENTITIES_PER_NODE, 'only the online birth republished');
    } finally {
      await ha.close();
    }
  });
});
