import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, spawnTs, WsRecorder } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';
import { testMessages } from '../../src/mqtt/test-messages.js';
import { MqttRecorder } from './helpers/mqtt-recorder.js';

/** What the gateway should forward for one test message (CONTRACT §5). */
function expectedData(payload: Buffer): { data: string; encoding?: string } {
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return { data: text.decode(payload) };
  } catch {
    return { data: payload.toString('base64'), encoding: 'base64' };
  }
}

describe('spore-gateway -mqtt embedded, npm run mqtt:test and npm run mqtt:broker', () => {
  it('forwards all 16 message kinds of mqtt:test from the embedded broker started by -mqtt embedded -mqtt-port', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-mqtt-cli-'));
    const httpPort = await freePort();
    const mqttPort = await freePort();
    const gateway = spawnTs('src/cli/gateway-main.ts', [
      '-port', String(httpPort), '-bind', '127.0.0.1', '-udp-port', String(await freeUdpPort()), '-data-dir', dir,
      '-mqtt', 'embedded', '-mqtt-port', String(mqttPort), '-mqtt-bind', '127.0.0.1', '-log-level', 'warn',
    ]);
    const url = `http://127.0.0.1:${httpPort}`;
    try {
      await waitFor(async () => (await http(`${url}/api/health`)).body?.components?.mqtt?.status === 'up', 'bridge up in the gateway process', 20_000);
      const ws = await WsRecorder.connect(url);
      const tool = spawnTs('src/cli/mqtt-test-main.ts', ['-url', `mqtt://127.0.0.1:${mqttPort}`, '-delay', '0', '-qos', '1']);
      assert.equal(await tool.exited, 0, tool.stderr());
      const expected = testMessages();
      assert.equal(expected.length, 16);
      assert.equal(tool.stdout().split('\n').filter((l) => /^\s*\d+\. /.test(l)).length, 16);
      await waitFor(() => expected.every((m) => ws.byTopic(m.topic).length > 0), 'all 16 kinds on the WebSocket', 20_000);
      for (const m of expected) {
        const got = ws.byTopic(m.topic)[0];
        const want = expectedData(m.payload);
        // The tool stamps its JSON payloads with the time of the run.
        const untimed = (text: string): string => text.replace(/"timestamp":"[^"]+"/, '"timestamp":"T"');
        assert.equal(untimed(got.data), untimed(want.data), m.kind);
        assert.equal(got.encoding, want.encoding, m.kind);
      }
      const stored = (await http(`${url}/api/mqtt/messages?topic=edge/large`)).body;
      assert.equal(stored.messages[0].data.length, 200 * 1024);
      ws.close();
    } finally {
      await gateway.kill();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('npm run mqtt:broker starts a broker that independent clients use', async () => {
    const port = await freePort();
    const broker = spawnTs('src/cli/mqtt-broker-main.ts', ['-port', String(port), '-bind', '127.0.0.1']);
    try {
      await waitFor(() => /MQTT broker on mqtt:\/\//.test(broker.stderr()), 'broker banner', 20_000);
      const sub = await MqttRecorder.connect(`mqtt://127.0.0.1:${port}`);
      await sub.subscribe('#');
      const tool = spawnTs('src/cli/mqtt-test-main.ts', ['-url', `tcp://127.0.0.1:${port}`, '-delay', '0', '-large-bytes', '1000']);
      assert.equal(await tool.exited, 0, tool.stderr());
      await waitFor(() => sub.messages.length === 16, '16 messages');
      assert.equal(sub.on('edge/large')[0]!.payload.length, 1000);
      assert.equal(sub.on('edge/empty')[0]!.payload.length, 0);
      await sub.close();
    } finally {
      await broker.kill();
    }
    const bad = spawnTs('src/cli/mqtt-test-main.ts', ['-url', 'http://x']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.stderr(), /-url.*tcp:\/\//);
  });
});
