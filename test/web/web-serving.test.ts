/**
 * The gateway serves the built UI at `/` (issue 5): index.html, hashed assets
 * cached for a year, gzip twins, SPA fallback for client routes, and the
 * API's JSON 404 kept for unknown /api paths.
 */
import { strict as assert } from 'node:assert';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync, gunzipSync } from 'node:zlib';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';

let gw: TestGateway;
let root: string;
const js = `console.log(${JSON.stringify('x'.repeat(4000))});`;

before(async () => {
  // A stand-in build, so this test does not depend on (or wait for) Vite.
  root = await mkdtemp(join(tmpdir(), 'spore-web-root-'));
  await mkdir(join(root, 'assets'));
  await writeFile(join(root, 'index.html'), '<!doctype html><title>SPORE</title><div id="app"></div>');
  await writeFile(join(root, 'assets', 'index-abc123.js'), js);
  await writeFile(join(root, 'assets', 'index-abc123.js.gz'), gzipSync(js));
  await writeFile(join(root, 'favicon.svg'), '<svg/>');
  gw = await startTestGateway({ web: { root } });
});
after(async () => {
  await gw.stop();
  await rm(root, { recursive: true, force: true });
});

test('GET / answers index.html, revalidated on every load', async () => {
  const res = await fetch(`${gw.url}/`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/html/);
  assert.equal(res.headers.get('cache-control'), 'no-cache');
  assert.match(await res.text(), /<div id="app">/);
});

test('client routes fall back to index.html (a reload on /nodes/<ip> works)', async () => {
  for (const path of ['/nodes/10.0.0.5', '/events', '/firmware?x=1', '/devices/', '/some/deep/path.with.dots']) {
    const res = await fetch(`${gw.url}${path}`);
    assert.equal(res.status, 200, path);
    assert.match(await res.text(), /<div id="app">/, path);
  }
});

test('hashed assets are immutable for a year, gzip-encoded when accepted', async () => {
  const plain = await fetch(`${gw.url}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'identity' } });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers.get('cache-control'), 'public, max-age=31536000, immutable');
  assert.match(plain.headers.get('content-type') ?? '', /javascript/);
  assert.equal(plain.headers.get('content-encoding'), null);
  assert.equal(await plain.text(), js);

  // fetch() would decode gzip itself; read the raw bytes with node:http instead.
  const { request } = await import('node:http');
  const raw = await new Promise<{ headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const req = request(`${gw.url}/assets/index-abc123.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
  assert.equal(raw.headers['content-encoding'], 'gzip');
  assert.match(String(raw.headers['content-type']), /javascript/);
  assert.equal(gunzipSync(raw.body).toString(), js);
  assert.ok(raw.body.length < js.length / 4);
});

test('a missing hashed asset is a 404, not the HTML page', async () => {
  const res = await http(`${gw.url}/assets/index-gone.js`);
  assert.equal(res.status, 404);
  assert.equal(res.body.error, 'not_found');
});

test('unknown /api paths keep the JSON 404; API routes are unaffected', async () => {
  for (const path of ['/api/nope', '/api', '/ws/x', '/metrics/x', '/rpc/x', '/API/firmware', '//api/firmware', '/Api;x']) {
    const res = await http(`${gw.url}${path}`);
    assert.equal(res.status, 404, path);
    assert.equal(res.body.error, 'not_found', path);
  }
  const nodes = await http(`${gw.url}/api/discovery/nodes`);
  assert.equal(nodes.status, 200);
  assert.ok(Array.isArray(nodes.body.nodes));
});

test('path tricks never leave the UI directory', async () => {
  for (const path of ['/..%2f..%2fetc%2fpasswd', '/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2f..%2fpackage.json']) {
    const res = await fetch(`${gw.url}${path}`);
    const text = await res.text();
    assert.doesNotMatch(text, /root:|"name": "spore-gateway"/, path);
  }
});

test('without a build, / explains how to build the UI', async () => {
  const bare = await startTestGateway({ web: { root: join(root, 'missing') } });
  try {
    const res = await fetch(`${bare.url}/`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run build/);
  } finally {
    await bare.stop();
  }
});

test('web.enabled: false leaves / to the API 404', async () => {
  const off = await startTestGateway({ web: { enabled: false } });
  try {
    const res = await http(`${off.url}/`);
    assert.equal(res.status, 404);
    assert.equal(res.body.error, 'not_found');
  } finally {
    await off.stop();
  }
});
