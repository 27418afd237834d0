import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { MEMBERS_MAX_RESPONSE_BYTES, NodeClient } from '../../src/node-client/node-client.js';
import { GatewayError } from '../../src/errors.js';

/** A node answering in pieces (as a loaded ESP8266 or a 7 MB member list does), with and without Content-Length. */
const payload = Buffer.from(JSON.stringify({ before: 1, members: Array.from({ length: 400 }, (_, i) => ({ hostname: `esp-${i}`, ip: `10.1.${i >> 8}.${i & 255}`, latency: i, status: 'ACTIVE', resources: { freeHeap: 30_000 + i, text: 'ü €'.repeat(20) }, api: [{ uri: '/api/node/status', method: 'GET' }] })), after: 'x' }));

describe('NodeClient answer bodies and the member list read element by element (issue 19)', () => {
  let server: http.Server;
  let client: NodeClient;
  let small: NodeClient;
  let smallMembers: NodeClient;
  before(async () => {
    server = http.createServer((req, res) => {
      const declared = req.url !== '/chunked';
      res.writeHead(200, { 'content-type': 'application/json', ...(declared ? { 'content-length': payload.length } : {}) });
      // In 7 pieces of uneven size, each its own write.
      let at = 0;
      const next = (): void => {
        if (at >= payload.length) return void res.end();
        const n = Math.min(payload.length - at, 1 + Math.floor(payload.length / 7));
        res.write(payload.subarray(at, (at += n)));
        setImmediate(next);
      };
      next();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    client = new NodeClient({ port, timeoutMs: 5000 });
    small = new NodeClient({ port, timeoutMs: 5000, maxResponseBytes: payload.length - 1 });
    smallMembers = new NodeClient({ port, timeoutMs: 5000, maxMembersResponseBytes: payload.length - 1 });
  });
  after(async () => {
    client.close();
    small.close();
    smallMembers.close();
    await new Promise((r) => server.close(r));
  });

  it('gives the same bytes with and without Content-Length', async () => {
    for (const path of ['/declared', '/chunked']) {
      const res = await client.request('127.0.0.1', 'GET', path);
      assert.equal(res.status, 200);
      assert.ok(res.body.equals(payload), path);
    }
  });

  it('refuses an answer over maxResponseBytes either way', async () => {
    for (const path of ['/declared', '/chunked']) {
      await assert.rejects(small.request('127.0.0.1', 'GET', path), (err: unknown) => err instanceof GatewayError && /more than/.test(err.message));
    }
  });

  it('bounds the member list by its own limit, not the general one (it grows with the cluster)', async () => {
    assert.ok(MEMBERS_MAX_RESPONSE_BYTES >= 4 * 8 * 1024 * 1024, 'well above the general 8 MiB');
    const got = await small.getMembers('127.0.0.1');
    assert.equal(got.members.length, 400, 'a list larger than maxResponseBytes is still read');
    await assert.rejects(smallMembers.getMembers('127.0.0.1'), (err: unknown) => err instanceof GatewayError && err.code === 'node_bad_response' && /more than/.test(err.message));
    const res = await smallMembers.request('127.0.0.1', 'GET', '/declared');
    assert.ok(res.body.equals(payload), 'other answers keep the general limit');
  });

  it('reads the member list element by element into the same answer as a whole parse', async () => {
    const got = await client.getMembers('127.0.0.1');
    const whole = JSON.parse(payload.toString('utf8')) as { members: unknown[] };
    assert.deepEqual(Object.keys(got), ['before', 'members', 'after'], 'the keys in their place');
    assert.deepEqual(got.members, whole.members);
    assert.equal(got.members[1]!.api, got.members[0]!.api, 'one API list shared');
  });
});
