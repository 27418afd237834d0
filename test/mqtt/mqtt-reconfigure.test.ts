import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestGateway, WsRecorder } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';
import { validateConfig, mergeConfig } from '../../src/config/load-config.js';

describe('MQTT configuration applied without a restart (issue 7)', () => {
  it('rebuilds the bridge on a new configuration and keeps forwarding to connected WebSocket clients', async () => {
    const gw = await startTestGateway({ mqtt: { url: 'embedded', embedded: { host: '127.0.0.1', port: 0 }, subscriptions: [{ topic: 'before/#', qos: 0 }] } });
    const ws = await WsRecorder.connect(gw.url);
    let pub: MqttRecorder | undefined;
    try {
      await waitFor(() => gw.gateway.mqtt.connection?.connected, 'connected');
      const next = validateConfig(mergeConfig(gw.gateway.config as unknown as Record<string, unknown>, { mqtt: { subscriptions: [{ topic: 'after/#', qos: 1 }] } }));
      const result = await gw.gateway.applyConfig(next);
      assert.deepEqual(result, { applied: ['mqtt'], needRestart: [] });
      await waitFor(() => gw.gateway.mqtt.connection?.connected, 'connected again');
      await waitFor(() => gw.gateway.mqtt.stats().subscriptions.every((s) => s.granted !== null), 'subscribed');
      const topics = gw.gateway.mqtt.stats().subscriptions.map((s) => s.topic);
      assert.ok(topics.includes('after/#') && !topics.includes('before/#'), topics.join());
      pub = await MqttRecorder.connect(`mqtt://127.0.0.1:${gw.gateway.mqtt.embeddedBroker!.port}`);
      await pub.publish('after/x', 'new filter');
      const m = await ws.waitFor((x) => x.topic === 'after/x', 'forwarded under the new configuration');
      assert.equal(m.data, 'new filter');

      const portChange = validateConfig(mergeConfig(next as unknown as Record<string, unknown>, { udp: { port: 1 } }));
      assert.deepEqual((await gw.gateway.applyConfig(portChange)).needRestart, ['udp'], 'a port waits for a restart');
      assert.notEqual(gw.gateway.config.udp.port, 1, 'the running value stays in force');
    } finally {
      await pub?.close();
      ws.close();
      await gw.stop();
    }
  });
});
