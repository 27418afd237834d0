import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { rm } from 'node:fs/promises';
import { spawnTs } from '../helpers/gateway-harness.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import { freePort, randomBaseIp } from '../helpers/net.js';

describe('a second gateway on the same UDP port (issue 12 item 14)', () => {
  it('refuses to start, naming the port; emulated nodes on their own addresses still share it', async () => {
    const first = await startGatewayProcess({ args: ['-log-level', 'warn'] });
    try {
      // An emulated node binds its own 127.x address on the same port, as spore-sim does.
      const node = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      await new Promise<void>((resolve, reject) => {
        node.once('error', reject);
        node.bind(first.udpPort, randomBaseIp(), () => resolve());
      });
      node.close();

      const second = spawnTs('src/cli/gateway-main.ts', ['-port', String(await freePort()), '-bind', '127.0.0.1', '-udp-port', String(first.udpPort), '-data-dir', `${first.dataDir}-second`]);
      const timer = setTimeout(() => void second.kill('SIGKILL'), 90_000);
      const code = await second.exited;
      clearTimeout(timer);
      assert.equal(code, 2, `the second gateway refuses to start (stderr: ${second.stderr()})`);
      const lines = second.stderr().trim().split('\n');
      assert.equal(lines.length, 1, second.stderr());
      assert.match(lines[0]!, new RegExp(`UDP port ${first.udpPort}\\b`));
      assert.equal(first.child.exitCode, null, 'the first gateway runs on');
    } finally {
      await rm(`${first.dataDir}-second`, { recursive: true, force: true });
      await first.stop();
    }
  });
});
