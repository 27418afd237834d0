import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { http } from '../helpers/gateway-harness.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import { randomBaseIp, sleep, waitFor } from '../helpers/net.js';

/** Sends `request` as is and reads until the server answers or closes (at most `ms`). */
function exchange(port: number, request: Buffer, ms = 20_000): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, ms);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      answer += d;
      if (/\r\n\r\n/.test(answer) && /content-length: (\d+)/i.test(answer)) {
        const length = Number(/content-length: (\d+)/i.exec(answer)![1]);
        if (answer.length >= answer.indexOf('\r\n\r\n') + 4 + length) done();
      }
    });
    socket.on('close', done);
    socket.on('error', done);
  });
}

const statusOf = (answer: string): number => Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);

/** A multipart body that stops in the middle of the file: no closing boundary. */
function truncatedForm(path: string, fields: Record<string, string>): Buffer {
  const parts = Object.entries(fields).map(([k, v]) => `--XX\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  const body = Buffer.concat([
    Buffer.from(parts.join('') + '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\nContent-Type: application/octet-stream\r\n\r\n'),
    Buffer.alloc(4096, 0xe9),
  ]);
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: ${body.length}\r\n\r\n`), body]);
}

async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile() && /^upload-/.test(entry.name)) out.push(join(entry.parentPath ?? '', entry.name));
  }
  return out;
}

describe('truncated and malformed multipart uploads (issue 12 item 3)', () => {
  it('answer 400 at once and leave no descriptor or temporary file behind', async () => {
    const gw = await startGatewayProcess({ args: ['-log-level', 'warn'] });
    const nodeIp = randomBaseIp();
    const udp = dgram.createSocket('udp4');
    try {
      // A node the gateway knows, so /api/node/update reads the body.
      await new Promise<void>((r) => udp.bind(0, nodeIp, () => r()));
      udp.send('CLUSTER_HEARTBEAT:upload-node', gw.udpPort, '127.0.0.1');
      await waitFor(async () => (await http(`${gw.url}/api/discovery/nodes`)).body?.nodes?.length === 1, 'node known');

      const pid = gw.child.pid!;
      // Warm up: the first requests open files (database, modules) that stay open.
      const warm = await exchange(gw.httpPort, truncatedForm('/api/firmware', { name: 'fw', version: '1.0.0' }));
      assert.equal(statusOf(warm), 400, `a truncated firmware upload answers 400: ${warm.slice(0, 300)}`);
      await sleep(200);
      const before = await openFds(pid);
      for (let i = 0; i < 5; i++) {
        const store = await exchange(gw.httpPort, truncatedForm('/api/firmware', { name: 'fw', version: '1.0.0' }));
        assert.equal(statusOf(store), 400, `POST /api/firmware, truncated: ${store.slice(0, 300)}`);
        assert.match(store, /"error":"bad_request".*truncated/);
        const update = await exchange(gw.httpPort, truncatedForm(`/api/node/update?ip=${nodeIp}`, {}));
        assert.equal(statusOf(update), 400, `POST /api/node/update, truncated: ${update.slice(0, 300)}`);
      }
      // No boundary in the Content-Type: a 400 naming the problem, not a 500.
      const noBoundary = await exchange(gw.httpPort, Buffer.from('POST /api/firmware HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 4\r\n\r\nabcd'));
      assert.equal(statusOf(noBoundary), 400, noBoundary.slice(0, 300));
      assert.match(noBoundary, /boundary/i);
      await sleep(300);
      const after = await openFds(pid);
      assert.ok(after <= before + 1, `descriptors: ${before} before, ${after} after 10 truncated uploads`);
      assert.deepEqual(await filesUnder(gw.dataDir), [], 'no temporary upload file is left');
      assert.equal(gw.child.exitCode, null);
      assert.doesNotMatch(gw.lines().join('\n'), /"level":50|TEST-HOOK/, 'no error logged');
    } finally {
      udp.close();
      await gw.stop();
    }
  });
});
