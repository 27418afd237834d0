import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http, startTestGateway, WsRecorder } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { mergeConfig, validateConfig } from '../../src/config/load-config.js';

describe('pipeline configuration applied without a restart (issue 7)', () => {
  it('adds a connector at run time; an existing device keeps counting seq with no gap', async () => {
    let n = 0;
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ v: ++n }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const connector = (id: string, device: string) => ({ id, type: 'http', url, pollMs: 100, device, channels: { v: '$.v' } });
    const gw = await startTestGateway({ pipeline: { connectors: [connector('a', 'alpha')], sinks: [{ id: 'ws', type: 'websocket' }] } });
    const ws = await WsRecorder.connect(gw.url);
    try {
      await waitFor(() => ws.byTopic('telemetry/alpha').length >= 3, 'alpha records');
      const next = validateConfig(
        mergeConfig(gw.gateway.config as unknown as Record<string, unknown>, {
          pipeline: { connectors: [connector('a', 'alpha'), connector('b', 'beta')], sinks: [{ id: 'ws', type: 'websocket' }] },
        }),
      );
      assert.deepEqual(await gw.gateway.applyConfig(next), { applied: ['pipeline'], needRestart: [] });
      await waitFor(() => ws.byTopic('telemetry/beta').length >= 2, 'records from the new connector');
      const before = ws.byTopic('telemetry/alpha').length;
      await waitFor(() => ws.byTopic('telemetry/alpha').length >= before + 2, 'alpha goes on');
      const seqs = ws.byTopic('telemetry/alpha').map((m) => m.seq as number);
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), 'seq 1, 2, 3… across the reconfiguration');
      const devices = (await http(`${gw.url}/api/devices`)).body.devices.map((d: { id: string }) => d.id);
      assert.deepEqual(devices, ['alpha', 'beta']);
      const health = (await http(`${gw.url}/api/health`)).body;
      assert.ok('connector:b' in health.components, 'the new connector has its health component');
    } finally {
      ws.close();
      await gw.stop();
      server.close();
    }
  });
});
