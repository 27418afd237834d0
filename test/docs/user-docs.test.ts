import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { http, startTestGateway, spawnTs } from '../helpers/gateway-harness.js';
import type { GatewayConfig } from '../../src/config/schema.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';

/** What a user of the repository reads (issue 12 items 19, 20). */
describe('user documentation speaks of the project only and agrees with the code', () => {
  const readme = readFileSync('README.md', 'utf8');

  it('README cites no internal contract section or issue number', () => {
    for (const pattern of [/CONTRACT/, /§\s?\d/, /\bissue \d+/i]) assert.doesNotMatch(readme, pattern);
  });

  it('the "Running it" block pairs a gateway and an emulator that work together', () => {
    const block = /## Running it\n+```sh\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    const nodePort = /npx spore-gateway[^\n]*-node-port (\d+)/.exec(block)?.[1];
    const simPort = /npx spore-sim[^\n]*-http-port (\d+)/.exec(block)?.[1];
    assert.ok(nodePort && simPort, block);
    assert.equal(nodePort, simPort, "the gateway's -node-port is the emulator's -http-port");
  });

  it('docs/pipeline.md and docs/configuration.md say what the gateway does: a pipeline change applies live', async () => {
    const pipelineDoc = readFileSync('docs/pipeline.md', 'utf8');
    const configDoc = readFileSync('docs/configuration.md', 'utf8');
    assert.doesNotMatch(pipelineDoc, /pipeline`? section[^.]*applies at the next restart/);
    assert.match(configDoc, /apply at once[^.]*`pipeline`/s);
    const gw = await startTestGateway();
    try {
      const current = (gw.gateway as unknown as { current: GatewayConfig }).current;
      const next = { ...current, pipeline: { ...current.pipeline, connectors: [] } } as GatewayConfig;
      const change = await gw.gateway.applyConfig(next);
      assert.ok(!change.needRestart.includes('pipeline'), `the gateway applies pipeline changes live: ${JSON.stringify(change)}`);
    } finally {
      await gw.stop();
    }
  });

  it('npm run demo takes the gateway port flags: -mqtt-port moves the embedded broker', async () => {
    const mqttPort = await freePort();
    const port = await freePort();
    const demo = spawnTs('src/cli/demo-main.ts', ['-count', '1', '-port', String(port), '-bind', '127.0.0.1', '-udp-port', String(await freeUdpPort()), '-mqtt-port', String(mqttPort), '-mqtt-bind', '127.0.0.1', '-node-port', String(await freePort())]);
    try {
      await waitFor(async () => (await http(`http://127.0.0.1:${port}/api/health`).catch(() => null))?.status === 200, 'demo up', 60_000);
      const listening = await new Promise<boolean>((resolve) => {
        const s = connect(mqttPort, '127.0.0.1', () => (s.destroy(), resolve(true)));
        s.once('error', () => resolve(false));
      });
      assert.ok(listening, `the embedded broker listens on -mqtt-port ${mqttPort}`);
      assert.match(demo.stdout(), new RegExp(`:${mqttPort}`), 'and the demo says so');
    } finally {
      await demo.kill();
    }
  });
});
