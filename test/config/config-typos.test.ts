import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, spawnTs } from '../helpers/gateway-harness.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';

const TYPO = { auth: { apikeys: [{ name: 'ops', key: 'typo-key-0123456789abcdef', scope: 'admin' }], protectreads: true } };

async function exitOf(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  const p = spawnTs('src/cli/gateway-main.ts', ['-port', '0', '-udp-port', '0', '-bind', '127.0.0.1', ...args], env);
  const timer = setTimeout(() => void p.kill('SIGKILL'), 90_000);
  const code = await p.exited;
  clearTimeout(timer);
  return { code, stderr: p.stderr() };
}

describe('typos in the configuration are errors with the closest key (issue 12 item 8)', () => {
  it('in the file, the environment and the remote source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-typo-'));
    const file = join(dir, 'gateway.json');
    await writeFile(file, JSON.stringify(TYPO));
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(TYPO)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const fromFile = await exitOf(['-config', file, '-data-dir', dir]);
      assert.equal(fromFile.code, 2, fromFile.stderr);
      assert.match(fromFile.stderr, /auth\.apikeys: unknown key "apikeys" \(did you mean apiKeys\?\)/);
      assert.match(fromFile.stderr, /auth\.protectreads: unknown key "protectreads" \(did you mean protectReads\?\)/);

      const fromEnv = await exitOf(['-data-dir', dir], { SPORE_AUTH_PROTECTREADS: 'true' });
      assert.equal(fromEnv.code, 2, fromEnv.stderr);
      assert.match(fromEnv.stderr, /SPORE_AUTH_PROTECTREADS names no setting \(did you mean SPORE_AUTH_PROTECT_READS\?\)/);

      // A remote document with typos is refused (never a half-read configuration) and says why in health.
      const gw = await startGatewayProcess({ args: ['-config-url', `http://127.0.0.1:${(server.address() as AddressInfo).port}/gateway.json`] });
      try {
        const config = (await http(`${gw.url}/api/health`)).body.components.config;
        assert.equal(config.status, 'down');
        assert.notEqual(config.source, 'remote');
        assert.match(config.error, /did you mean apiKeys\?/);
      } finally {
        await gw.stop();
      }
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
