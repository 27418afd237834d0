import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { waitFor } from '../helpers/net.js';

describe('POST /api/node/update limits (CONTRACT §4)', () => {
  let gw: TestGateway;
  let sim: TestSim;
  let ip: string;
  const LIMIT = 64 * 1024; // bytes, lowered for the test

  before(async () => {
    gw = await startTestGateway({ http: { uploadLimitBytes: LIMIT } });
    sim = await startSim(gw, 1);
    ip = sim.ips[0]!;
    await waitFor(() => gw.gateway.registry.getByIp(ip), 'node discovered');
  });
  after(async () => {
    await sim?.stop();
    await gw?.stop();
  });

  const upload = async (target: string, bytes: number, field = 'file') => {
    const form = new FormData();
    form.append(field, new Blob([Buffer.alloc(bytes, 0xe9)]), 'fw.bin');
    const res = await fetch(`${gw.url}/api/node/update?ip=${target}`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 413 for an oversize image and never contacts the node', async () => {
    const res = await upload(ip, LIMIT + 1);
    assert.equal(res.status, 413);
    assert.equal(res.body.error, 'payload_too_large');
    const big = await upload(ip, LIMIT * 4);
    assert.equal(big.status, 413);
    assert.equal(sim.uploadsReceived(0), 0, 'no upload reached the node');
    const leftovers = await readdir(join(gw.dataDir, 'tmp')).catch(() => []);
    assert.deepEqual(leftovers, [], 'spooled parts are deleted');
  });

  it('accepts an image exactly at the limit', async () => {
    const res = await upload(ip, LIMIT);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.success, true);
    assert.equal(res.body.size, LIMIT);
  });

  it('refuses an unknown node, a malformed IP, a missing file field and a non-multipart body', async () => {
    assert.equal((await upload('10.1.1.1', 10)).status, 404);
    assert.equal((await upload('bad', 10)).status, 400);
    const noFile = await upload(ip, 10, 'firmware');
    assert.equal(noFile.status, 400);
    assert.equal(noFile.body.error, 'missing_file');
    const json = await http(`${gw.url}/api/node/update?ip=${ip}`, { body: { file: 'x' } });
    assert.equal(json.status, 400);
    assert.equal(json.body.error, 'missing_file');
  });
});
