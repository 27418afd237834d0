import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, spawnTs, type SpawnedProcess } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';
import { configCachePath } from '../../src/config/remote-config.js';

const KEY_A = 'key-a-0123456789abcdef';
const KEY_B = 'key-b-0123456789abcdef';

/** A configuration server whose document and availability the test controls. */
class ConfigServer {
  document: unknown;
  version = 1;
  requests = 0;
  notModified = 0;
  private server: Server;
  constructor(document: unknown) {
    this.document = document;
    this.server = createServer((req, res) => {
      this.requests++;
      const etag = `"v${this.version}"`;
      if (req.headers['if-none-match'] === etag) {
        this.notModified++;
        res.writeHead(304, { etag });
        return res.end();
      }
      const body = typeof this.document === 'string' ? this.document : JSON.stringify(this.document);
      res.writeHead(200, { 'content-type': 'application/json', etag });
      res.end(body);
    });
  }
  set(document: unknown): void {
    this.document = document;
    this.version++;
  }
  listen(port: number): Promise<void> {
    return new Promise((r) => this.server.listen(port, '127.0.0.1', () => r()));
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const withKey = (key: string) => ({ auth: { apiKeys: [{ name: 'ops', key, scope: 'admin' }] } });

describe('remote-first configuration (issue 7)', () => {
  it('applies, caches, hot-reloads, refuses an invalid document, and starts from the cache when the remote is gone', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'spore-remote-'));
    const configPort = await freePort();
    const server = new ConfigServer(withKey(KEY_A));
    await server.listen(configPort);
    const httpPort = await freePort();
    const udpPort = await freeUdpPort();
    const url = `http://127.0.0.1:${httpPort}`;
    const start = (): SpawnedProcess =>
      spawnTs('src/cli/gateway-main.ts', ['-port', String(httpPort), '-udp-port', String(udpPort), '-data-dir', dataDir, '-log-level', 'warn', '--config-url', `http://127.0.0.1:${configPort}/gateway.json`], {
        SPORE_REMOTE_CONFIG_POLL_INTERVAL_MS: '1000',
      });
    const refresh = (key?: string) => http(`${url}/api/discovery/refresh`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {} });
    let gw = start();
    try {
      await waitFor(async () => (await http(`${url}/api/health`)).status === 200, 'gateway up', 20_000);
      let health = (await http(`${url}/api/health`)).body;
      assert.equal(health.components.config.source, 'remote');
      assert.equal(health.components.config.status, 'up');
      assert.equal((await refresh()).status, 401, 'the remote\'s keys are in force');
      assert.equal((await refresh(KEY_A)).status, 200);
      const cache = await stat(configCachePath(dataDir));
      assert.equal(cache.mode & 0o077, 0, 'the cache (it may hold secrets) is private to its owner');

      await waitFor(() => server.notModified > 0, 'a poll answered 304 (ETag sent)');

      // Changed remotely → applied without a restart.
      server.set(withKey(KEY_B));
      await waitFor(async () => (await refresh(KEY_B)).status === 200, 'new key in force', 15_000);
      assert.equal((await refresh(KEY_A)).status, 401, 'the old key is gone');
      assert.equal(gw.child.exitCode, null, 'same process: no restart');

      // Made invalid → the working configuration stays, the reason shows in health.
      server.set({ auth: { apiKeys: [{ name: 'ops', key: 'short', scope: 'admin' }] }, nodes: { activeThresholdMs: 'soon' } });
      health = await waitFor(async () => {
        const h = (await http(`${url}/api/health`)).body;
        return h.components.config.status === 'down' ? h : undefined;
      }, 'invalid remote reported', 15_000);
      assert.equal(health.status, 'degraded');
      assert.match(health.components.config.error, /invalid/);
      assert.match(health.components.config.error, /auth\.apiKeys\[0\]\.key/);
      assert.match(health.components.config.error, /nodes\.activeThresholdMs/);
      assert.equal((await refresh(KEY_B)).status, 200, 'the working configuration is kept');

      // Unreachable, and the gateway restarted → it starts from the cache.
      await server.close();
      assert.equal(await gw.kill('SIGTERM'), 0);
      gw = start();
      await waitFor(async () => (await http(`${url}/api/health`)).status === 200, 'gateway up again', 20_000);
      health = (await http(`${url}/api/health`)).body;
      assert.equal(health.components.config.source, 'cache');
      assert.equal(health.components.config.status, 'down');
      assert.match(health.components.config.error, /unreachable/);
      assert.equal((await refresh(KEY_B)).status, 200, 'the cached configuration is in force');
      assert.ok(!gw.stdout().includes(KEY_B) && !gw.stderr().includes(KEY_B), 'keys never reach the log');
    } finally {
      await gw.kill('SIGKILL');
      await server.close().catch(() => undefined);
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
