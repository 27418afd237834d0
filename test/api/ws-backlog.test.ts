import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { http, startTestGateway, WsRecorder } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';

describe('WebSocket backlog policy (CONTRACT §5)', () => {
  it('drops a client that reads nothing; the others keep receiving', async () => {
    const gw = await startTestGateway({ websocket: { maxBacklogBytes: 64 * 1024 } });
    const good = await WsRecorder.connect(gw.url);
    // A raw TCP client that completes the upgrade, then never reads again.
    const port = Number(new URL(gw.url).port);
    const stalled = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => stalled.once('connect', () => r()));
    stalled.write(
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise<void>((r) => stalled.once('data', () => r()));
    stalled.pause();
    try {
      await waitFor(() => gw.gateway.wsHub.clientCount === 2, 'two clients');
      const big = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 400 && gw.gateway.wsHub.stats().slowClientsDropped === 0; i++) {
        await http(`${gw.url}/api/test/websocket`, { body: { message: big } });
      }
      assert.equal(gw.gateway.wsHub.stats().slowClientsDropped, 1, 'the stalled client was dropped');
      await waitFor(() => gw.gateway.wsHub.clientCount === 1, 'one client left', 5000);
      const before = good.byTopic('test/websocket').length;
      assert.ok(before > 10);
      await http(`${gw.url}/api/test/websocket`, { body: { message: 'after' } });
      await good.waitFor((m) => m.topic === 'test/websocket' && m.message === 'after', 'good client still served');
      const health = await http(`${gw.url}/api/health`);
      assert.equal(health.body.components.websocket.slowClientsDropped, 1);
    } finally {
      stalled.destroy();
      good.close();
      await gw.stop();
    }
  });
});
