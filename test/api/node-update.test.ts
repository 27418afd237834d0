import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';

describe('POST /api/node/update limits (CONTRACT §4)', () => {
  const LIMIT = 64 * 1024; // bytes, lowered for the test
  const suite = gatewaySuite({ nodes: 1, config: { http: { uploadLimitBytes: LIMIT } } });
  let ip: string;
  before(() => {
    ip = suite.sim.ips[0]!;
  });

  const upload = async (target: string, bytes: number, field = 'file') => {
    const form = new FormData();
    form.append(field, new Blob([Buffer.alloc(bytes, 0xe9)]), 'fw.bin');
    const res = await fetch(`${suite.gw.url}/api/node/update?ip=${target}`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('answers 413 for an oversize image and never contacts the node', async () => {
    const res = await upload(ip, LIMIT + 1);
    assert.equal(res.status, 413);
    assert.equal(res.body.error, 'payload_too_large');
    const big = await upload(ip, LIMIT * 4);
    assert.equal(big.status, 413);
    assert.equal(suite.sim.uploadsReceived(0), 0, 'no upload reached the node');
    const leftovers = await readdir(join(suite.gw.dataDir, 'tmp')).catch(() => []);
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
    const json = await http(`${suite.gw.url}/api/node/update?ip=${ip}`, { body: { file: 'x' } });
    assert.equal(json.status, 400);
    assert.equal(json.body.error, 'missing_file');
  });
});
