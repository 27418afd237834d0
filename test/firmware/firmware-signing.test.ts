import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { decodeSignature, generateKeyPair, parsePrivateKey, parsePublicKey, signImage } from '../../src/firmware/firmware-signing.js';
import { validateConfig } from '../../src/config/load-config.js';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { isTerminal, uploadFirmware, waitRollout } from './firmware-helpers.js';

/** Uploads with a detached signature in the form field `signature` (base64) or as a `.sig` file part. */
async function uploadSigned(url: string, image: Buffer, fields: Record<string, string>, signature?: Buffer, asFile = false): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  if (signature && !asFile) form.append('signature', signature.toString('base64'));
  form.append('file', new Blob([image]), 'app.bin');
  if (signature && asFile) form.append('signature', new Blob([signature]), 'app.bin.sig');
  const res = await fetch(`${url}/api/firmware`, { method: 'POST', body: form });
  return { status: res.status, body: await res.json() };
}

describe('signed images (issue 17 §1)', () => {
  const k1 = generateKeyPair();
  const k2 = generateKeyPair();
  const stranger = generateKeyPair();
  let dataDir: string;
  let gw: TestGateway;
  let sim: TestSim;
  const signing = (extra: Record<string, unknown> = {}) => ({
    required: true,
    // Rotation: two keys trusted at once, one as PEM, one as base64 of its raw bytes.
    trustedKeys: [
      { id: 'k1', publicKey: k1.publicKeyPem },
      { id: 'k2', publicKey: k2.publicKeyBase64 },
    ],
    ...extra,
  });
  const startGateway = (extra: Record<string, unknown> = {}, ports?: { udpPort: number; nodePort: number }) =>
    startTestGateway({
      dataDir,
      firmware: { verifyPollIntervalMs: 100, signing: signing(extra) },
      ...(ports ? { udp: { port: ports.udpPort }, nodes: { port: ports.nodePort } } : {}),
    });

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'spore-signing-'));
    gw = await startGateway();
    sim = await startSim(gw, 2, { labels: { fleet: 'signed' } });
    await waitFor(() => sim.ips.every((ip) => gw.gateway.registry.getByIp(ip)?.status === 'ACTIVE'), 'nodes discovered');
  });
  after(async () => {
    await sim?.stop();
    await gw?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keys and signatures parse in every documented form; a bad key is refused by the configuration with its path', () => {
    const image = makeFirmwareImage({ version: '1.0.0', size: 4096 });
    const sig = signImage(image, parsePrivateKey(k1.privateKeyPem));
    assert.equal(sig.length, 64);
    assert.deepEqual(decodeSignature(sig), sig, 'raw 64 bytes');
    assert.deepEqual(decodeSignature(`${sig.toString('base64')}\n`), sig, 'base64 with a newline, as a .sig file');
    assert.equal(decodeSignature('not a signature'), null);
    assert.equal(decodeSignature(Buffer.alloc(10)), null);
    assert.equal(parsePublicKey(k1.publicKeyBase64).asymmetricKeyType, 'ed25519');
    assert.throws(() => parsePublicKey('AAAA'), /./);
    assert.throws(
      () => validateConfig({ firmware: { signing: { required: true, trustedKeys: [{ id: 'bad', publicKey: 'bm9wZQ==' }] } } }),
      (e: Error) => /firmware\.signing\.trustedKeys\[0\]\.publicKey/.test(e.message) && /ed25519 public key/.test(e.message),
    );
    assert.throws(() => validateConfig({ firmware: { signing: { required: true } } }), /firmware\.signing\.trustedKeys: signing is required but no trusted, unrevoked key/);
  });

  it('verifies a signed image and records its key; refuses unsigned and badly signed images when signing is required; accepts a rotated key', async () => {
    const image = makeFirmwareImage({ version: '2.0.0', size: 32 * 1024, seed: 1 });
    const unsigned = await uploadFirmware(gw.url, image, { name: 'signed-app', version: '2.0.0' });
    assert.equal(unsigned.status, 400);
    assert.equal(unsigned.body.error, 'invalid_signature');
    assert.match(unsigned.body.message, /requires signed images/);

    const bySomeoneElse = await uploadSigned(gw.url, image, { name: 'signed-app', version: '2.0.0' }, signImage(image, parsePrivateKey(stranger.privateKeyPem)));
    assert.equal(bySomeoneElse.status, 400);
    assert.equal(bySomeoneElse.body.error, 'invalid_signature');
    assert.match(bySomeoneElse.body.message, /does not verify with any trusted key \(k1, k2\)/);

    const tampered = Buffer.from(image);
    tampered[100] ^= 1;
    const sig1 = signImage(image, parsePrivateKey(k1.privateKeyPem));
    assert.equal((await uploadSigned(gw.url, tampered, { name: 'signed-app', version: '2.0.0' }, sig1)).status, 400, 'one flipped bit: refused');
    assert.equal((await uploadSigned(gw.url, image, { name: 'signed-app', version: '2.0.0' }, Buffer.from('short'))).body.error, 'invalid_signature');

    const ok = await uploadSigned(gw.url, image, { name: 'signed-app', version: '2.0.0' }, sig1);
    assert.equal(ok.status, 201, JSON.stringify(ok.body));
    assert.equal(ok.body.signature, 'verified');
    assert.equal(ok.body.signedBy, 'k1');

    // The rotated-in key, its signature sent as a .sig file part.
    const image3 = makeFirmwareImage({ version: '3.0.0', size: 32 * 1024, seed: 3 });
    const rotated = await uploadSigned(gw.url, image3, { name: 'signed-app', version: '3.0.0' }, signImage(image3, parsePrivateKey(k2.privateKeyPem)), true);
    assert.equal(rotated.status, 201, JSON.stringify(rotated.body));
    assert.equal(rotated.body.signedBy, 'k2');
    assert.equal((await http(`${gw.url}/api/firmware/${rotated.body.id}`)).body.signedBy, 'k2', 'recorded');

    // The signed image rolls out and the nodes come back on it.
    const created = await http(`${gw.url}/api/rollouts`, { body: { firmwareId: ok.body.id, target: { labels: { fleet: 'signed' } }, batchSize: 2, bootTimeoutSec: 10 } });
    assert.equal(created.status, 201, created.text);
    const done = await waitRollout(gw.url, created.body.id, isTerminal, 'signed rollout done');
    assert.equal(done.status, 'succeeded', JSON.stringify(done.nodes));
    for (let i = 0; i < 2; i++) assert.equal(sim.node(i).version, '2.0.0');
  });

  it("a revoked key's images cannot start new rollouts; the other key's still can", async () => {
    const list = (await http(`${gw.url}/api/firmware`)).body as any[];
    const byK1 = list.find((f) => f.signedBy === 'k1');
    const byK2 = list.find((f) => f.signedBy === 'k2');
    assert.ok(byK1 && byK2);
    // Restart with k1 revoked (same data directory and ports: the nodes keep sending to it).
    const ports = { udpPort: gw.udpPort, nodePort: gw.nodePort };
    await gw.gateway.stop();
    gw = await startGateway({ revokedKeys: ['k1'] }, ports);
    await waitFor(() => sim.ips.every((ip) => gw.gateway.registry.getByIp(ip)?.labels.fleet === 'signed'), 'nodes seen by the restarted gateway');

    const refused = await http(`${gw.url}/api/rollouts`, { body: { firmwareId: byK1.id, target: { labels: { fleet: 'signed' } }, dryRun: true } });
    assert.equal(refused.status, 400, refused.text);
    assert.equal(refused.body.error, 'invalid_signature');
    assert.match(refused.body.message, /signed with key "k1", which is revoked/);
    const rpc = await http(`${gw.url}/rpc`, { body: { jsonrpc: '2.0', id: 1, method: 'rollouts.start', params: { firmwareId: byK1.id, target: {} } } });
    assert.match(JSON.stringify(rpc.body), /revoked/, 'JSON-RPC refuses it too');

    const image = makeFirmwareImage({ version: '4.0.0', size: 8 * 1024, seed: 4 });
    const newByK1 = await uploadSigned(gw.url, image, { name: 'signed-app', version: '4.0.0' }, signImage(image, parsePrivateKey(k1.privateKeyPem)));
    assert.equal(newByK1.status, 400, 'new signatures by a revoked key are refused');

    const allowed = await http(`${gw.url}/api/rollouts`, { body: { firmwareId: byK2.id, target: { labels: { fleet: 'signed' } }, batchSize: 2, bootTimeoutSec: 10 } });
    assert.equal(allowed.status, 201, allowed.text);
    const done = await waitRollout(gw.url, allowed.body.id, isTerminal, 'k2 rollout done');
    assert.equal(done.status, 'succeeded');
    for (let i = 0; i < 2; i++) assert.equal(sim.node(i).version, '3.0.0');
  });
});
