import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '../helpers/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { waitFor } from '../helpers/net.js';

const KEY = 'remote-key-0123456789abcdef';
const FILE_KEY = 'file-key-0123456789abcdefgh';
const DOCUMENT = JSON.stringify({ auth: { apiKeys: [{ name: 'ops', key: KEY, scope: 'admin' }] } });

type Mode = 'ok' | 'stall' | 'reset' | 'garbage' | 'huge';

/**
 * A configuration server at the socket level, so it can misbehave the way a
 * broken or hostile one does: stall after the headers, reset, answer garbage,
 * or stream 200 MB (counting what the gateway actually read).
 */
class BadConfigServer {
  mode: Mode = 'ok';
  hugeBytesSent = 0;
  readonly server = net.createServer((socket) => this.serve(socket));
  private sockets = new Set<net.Socket>();
  port = 0;

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.once('data', () => {
      const head = (type: string, length: number) => `HTTP/1.1 200 OK\r\ncontent-type: ${type}\r\ncontent-length: ${length}\r\netag: "${this.mode}"\r\n\r\n`;
      switch (this.mode) {
        case 'ok':
          return void socket.end(head('application/json', Buffer.byteLength(DOCUMENT)) + DOCUMENT);
        case 'stall':
          return void socket.write(head('application/json', 5000) + '{"auth":'); // …and nothing more
        case 'reset':
          return void socket.resetAndDestroy();
        case 'garbage':
          return void socket.end(head('application/json', 9) + '{{{{{{{{{');
        case 'huge': {
          // Chunked, no length: the gateway has to stop reading by itself.
          socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n');
          const chunk = Buffer.alloc(64 * 1024, 0x20);
          const frame = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]);
          const total = 200 * 1024 * 1024;
          const pump = (): void => {
            while (this.hugeBytesSent < total && !socket.destroyed) {
              this.hugeBytesSent += chunk.length;
              if (!socket.write(frame)) return void socket.once('drain', pump);
            }
            if (!socket.destroyed) socket.end('0\r\n\r\n');
          };
          return pump();
        }
      }
    });
  }
  listen(): Promise<void> {
    return new Promise((r) => this.server.listen(0, '127.0.0.1', () => ((this.port = (this.server.address() as net.AddressInfo).port), r())));
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}/gateway.json`;
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const configHealth = async (gw: GatewayProcess) => (await http(`${gw.url}/api/health`)).body.components.config;
const refresh = (gw: GatewayProcess, key: string) =>
  http(`${gw.url}/api/discovery/refresh`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });

describe('remote configuration failures (issue 12 item 1)', () => {
  it('a stalling, oversize or garbage remote never ends the gateway; a reset at start falls back to the cache, then the file', async () => {
    const server = new BadConfigServer();
    await server.listen();
    const dataDir = await mkdtemp(join(tmpdir(), 'spore-remote-fail-'));
    const env = { SPORE_REMOTE_CONFIG_POLL_INTERVAL_MS: '1000', SPORE_REMOTE_CONFIG_TIMEOUT_MS: '700' };
    const args = ['-log-level', 'warn', '-config-url', server.url];
    let gw = await startGatewayProcess({ dataDir, args, env });
    try {
      assert.equal((await configHealth(gw)).source, 'remote');
      assert.equal((await refresh(gw, KEY)).status, 200, "the remote's key is in force");

      for (const [mode, reason] of [
        ['stall', /no complete answer within 700 ms/],
        ['huge', /larger than 1048576 bytes/],
        ['garbage', /not valid JSON or YAML/],
        ['reset', /unreachable/],
      ] as const) {
        server.mode = mode;
        const health = await waitFor(async () => {
          const h = await configHealth(gw);
          return h.status === 'down' && reason.test(h.error) ? h : null;
        }, `health reports the ${mode} remote`, 15_000);
        assert.equal(health.source, 'remote', `${mode}: the configuration in force stays`);
        assert.equal(gw.child.exitCode, null, `${mode}: the gateway keeps running (stderr: ${gw.stderr()})`);
        assert.equal((await refresh(gw, KEY)).status, 200, `${mode}: the key in force still works`);
      }
      // Reading stopped at the limit: the server could not push anywhere near 200 MB into the gateway.
      assert.ok(server.hugeBytesSent < 40 * 1024 * 1024, `the gateway read ${server.hugeBytesSent} bytes of a 200 MB answer`);
      assert.doesNotMatch(gw.stderr(), /TEST-HOOK/);
      assert.equal(await gw.stop(), 0, 'a clean shutdown');

      // A remote that resets at start: the cached copy is used.
      server.mode = 'reset';
      gw = await startGatewayProcess({ dataDir, args, env });
      const health = await configHealth(gw);
      assert.equal(health.source, 'cache');
      assert.equal(health.status, 'down');
      assert.equal((await refresh(gw, KEY)).status, 200, "the cached copy's key is in force");
      assert.equal(await gw.stop(), 0);

      // No cache (fresh data directory): the local file.
      const file = join(dataDir, 'local.json');
      await writeFile(file, JSON.stringify({ auth: { apiKeys: [{ name: 'file', key: FILE_KEY, scope: 'admin' }] } }));
      const fresh = await mkdtemp(join(tmpdir(), 'spore-remote-fail-'));
      gw = await startGatewayProcess({ dataDir: fresh, args: [...args, '-config', file], env });
      assert.equal((await configHealth(gw)).source, 'file');
      assert.equal((await refresh(gw, FILE_KEY)).status, 200, "the file's key is in force");
      assert.equal(await gw.stop(), 0);
      await rm(fresh, { recursive: true, force: true });
      assert.doesNotMatch(gw.stderr(), /TEST-HOOK/);
    } finally {
      await gw.stop();
      await server.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
