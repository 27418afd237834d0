import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { MOSQUITTO, MOSQUITTO_PASSWD, Mosquitto, OPENSSL } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';

const skip = skipUnlessPeer('mosquitto', MOSQUITTO !== undefined && MOSQUITTO_PASSWD !== undefined) || skipUnlessPeer('openssl', OPENSSL !== undefined);

describe('mqtt connector and sink with credentials and TLS', { skip }, () => {
  let broker: Mosquitto;
  let gw: TestGateway;
  const sinkHealth = async (id: string) => (await http(`${gw.url}/api/health`)).body.components[`sink:${id}`];

  before(async () => {
    // The TLS listener's certificate is signed by a throwaway CA: broker.caFile.
    broker = await Mosquitto.start({ tls: true, users: { gw: 's3cret', feeder: 'feed' } });
    process.env.SPORE_TEST_MQTT_PASSWORD = 's3cret';
    const tls = { caFile: broker.caFile };
    gw = await startTestGateway({
      gateway: { id: 'secure' },
      pipeline: {
        connectors: [
          { id: 'in', type: 'mqtt', url: broker.tlsUrl, username: 'gw', password: 's3cret', tls, reconnectPeriodMs: 200, subscribe: [{ topic: 'in/+', device: '{1}', channels: { v: '$.v' } }] },
        ],
        sinks: [
          { id: 'cloud', type: 'mqtt', url: broker.tlsUrl.replace('mqtts://', 'tls://'), username: 'gw', passwordEnv: 'SPORE_TEST_MQTT_PASSWORD', tls, reconnectPeriodMs: 200 },
          { id: 'wrong-password', type: 'mqtt', url: broker.tlsUrl, username: 'gw', password: 'nope', tls, reconnectPeriodMs: 200 },
          { id: 'untrusted', type: 'mqtt', url: broker.tlsUrl, username: 'gw', password: 's3cret', reconnectPeriodMs: 200 },
          { id: 'self-signed-ok', type: 'mqtt', url: broker.tlsUrl, username: 'gw', password: 's3cret', tls: { allowSelfSigned: true }, reconnectPeriodMs: 200 },
          { id: 'no-ca-file', type: 'mqtt', url: broker.tlsUrl, tls: { caFile: join(broker.dir, 'missing.pem') } },
        ],
      },
    });
  });

  after(async () => {
    delete process.env.SPORE_TEST_MQTT_PASSWORD;
    await gw?.stop();
    await broker?.destroy();
  });

  it('exports over TLS with a password from the environment; bad credentials or an untrusted certificate stay down', async () => {
    const received: string[] = [];
    const sub = await mqtt.connectAsync(broker.tlsUrl, { username: 'feeder', password: 'feed', ca: await readFile(broker.caFile), reconnectPeriod: 0 });
    try {
      sub.on('message', (_topic, payload) => received.push(payload.toString()));
      await sub.subscribeAsync('telemetry/#', { qos: 1 });
      await waitFor(async () => (await sinkHealth('cloud')).status === 'up', 'the TLS sink to connect');
      await waitFor(async () => (await sinkHealth('self-signed-ok')).status === 'up', 'the sink that opted into any certificate');
      await waitFor(async () => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0].state === 'connected', 'the TLS connector to connect');
      await sub.publishAsync('in/meter', JSON.stringify({ v: 7 }), { qos: 1 });
      await waitFor(() => received.length >= 1, 'the record over TLS');
      const record = JSON.parse(received[0]!);
      assert.equal(record.gateway, 'secure');
      assert.deepEqual(record.values, { v: 7 });

      const wrong = await waitFor(async () => {
        const h = await sinkHealth('wrong-password');
        return h.lastError ? h : undefined;
      }, 'the refused login to be reported');
      assert.equal(wrong.status, 'down');
      assert.match(wrong.lastError, /not authori[sz]ed|bad user name or password/i);
      const untrusted = await waitFor(async () => {
        const h = await sinkHealth('untrusted');
        return h.lastError ? h : undefined;
      }, 'the untrusted certificate to be reported');
      assert.equal(untrusted.status, 'down');
      assert.match(untrusted.lastError, /certificate|ECONNRESET|socket|closed/i);
      const missing = await sinkHealth('no-ca-file');
      assert.equal(missing.status, 'down');
      assert.match(missing.lastError, /tls\.caFile: cannot read .*missing\.pem \(ENOENT\)/);
      const stats = (await http(`${gw.url}/api/pipeline/stats`)).body.sinks;
      assert.equal(stats.find((s: { id: string }) => s.id === 'cloud').sent, 1);
      assert.equal(stats.find((s: { id: string }) => s.id === 'wrong-password').queued, 1, 'kept for when the credentials are fixed');
      assert.equal((await http(`${gw.url}/api/health`)).body.status, 'degraded');
    } finally {
      await sub.endAsync(true);
    }
  });
});
