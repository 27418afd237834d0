import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { FirmwareStore } from '../../src/firmware/firmware-store.js';
import { silentLogger } from '../../src/logger.js';
import { spoolToDisk } from '../../src/store/upload-spool.js';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { uploadFirmware } from './firmware-helpers.js';

const LIMIT = 256 * 1024; // bytes, lowered for the test

describe('firmware store (issue 4 §1)', () => {
  let gw: TestGateway;
  const imagesDir = () => join(gw.dataDir, 'firmware', 'images');

  before(async () => {
    gw = await startTestGateway({ http: { uploadLimitBytes: LIMIT } });
  });
  after(async () => {
    await gw?.stop();
  });

  it('stores an image → 201 with its metadata, lists it, serves it back byte for byte', async () => {
    const image = makeFirmwareImage({ version: '1.4.0', size: 100_000 });
    const res = await uploadFirmware(gw.url, image, { name: 'spore-base', version: '1.4.0', labels: '{"board":"esp01","channel":"beta"}' });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const fw = res.body;
    assert.deepEqual(Object.keys(fw).sort(), ['compressed', 'createdAt', 'espImage', 'id', 'imageBytes', 'labels', 'name', 'sha256', 'signature', 'signedBy', 'size', 'version']);
    assert.equal(fw.signature, 'unsigned', 'no signature sent, none required: stored marked unsigned');
    assert.equal(fw.imageBytes, fw.size);
    assert.equal(fw.name, 'spore-base');
    assert.equal(fw.version, '1.4.0');
    assert.equal(fw.size, image.length);
    assert.equal(fw.sha256, createHash('sha256').update(image).digest('hex'));
    assert.deepEqual(fw.labels, { board: 'esp01', channel: 'beta' });
    assert.ok(!Number.isNaN(Date.parse(fw.createdAt)) && fw.createdAt.endsWith('Z'));

    const list = await http(`${gw.url}/api/firmware`);
    assert.equal(list.status, 200);
    assert.ok(list.body.some((f: any) => f.id === fw.id));
    assert.deepEqual((await http(`${gw.url}/api/firmware/${fw.id}`)).body, fw);

    const dl = await fetch(`${gw.url}/api/firmware/${fw.id}/download`);
    assert.equal(dl.status, 200);
    assert.equal(dl.headers.get('content-type'), 'application/octet-stream');
    assert.match(dl.headers.get('content-disposition') ?? '', /filename="spore-base-1\.4\.0\.bin"/);
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(image), 'the same bytes come back');
    assert.deepEqual(await readdir(imagesDir()), [`${fw.sha256}.bin`], 'stored under its sha256');
  });

  it('accepts the form fields in any order (file first)', async () => {
    const form = new FormData();
    form.append('file', new Blob([makeFirmwareImage({ version: '0.9.0' })]), 'a.bin');
    form.append('version', '0.9.0');
    form.append('name', 'order-test');
    const res = await fetch(`${gw.url}/api/firmware`, { method: 'POST', body: form });
    assert.equal(res.status, 201);
  });

  it('refuses the same name and version twice with 409, and deduplicates identical bytes', async () => {
    const image = makeFirmwareImage({ version: '3.0.0', size: 20_000 });
    const first = await uploadFirmware(gw.url, image, { name: 'dup', version: '3.0.0' });
    assert.equal(first.status, 201);
    const again = await uploadFirmware(gw.url, image, { name: 'dup', version: '3.0.0' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'conflict');
    assert.match(again.body.message, /dup 3\.0\.0 is already stored/);
    // Same bytes under another name (force: the marker says 3.0.0): stored once on disk.
    const alias = await uploadFirmware(gw.url, image, { name: 'dup-alias', version: '3.0.0-alias', force: 'true' });
    assert.equal(alias.status, 201);
    assert.equal(alias.body.sha256, first.body.sha256);
    const files = (await readdir(imagesDir())).filter((f) => f.startsWith(first.body.sha256));
    assert.equal(files.length, 1, 'identical images share one file');
    // Deleting one keeps the file for the other; deleting both removes it.
    assert.equal((await http(`${gw.url}/api/firmware/${first.body.id}`, { method: 'DELETE' })).status, 200);
    assert.ok((await readdir(imagesDir())).includes(`${first.body.sha256}.bin`));
    const dl = await fetch(`${gw.url}/api/firmware/${alias.body.id}/download`);
    assert.ok(Buffer.from(await dl.arrayBuffer()).equals(image));
    assert.equal((await http(`${gw.url}/api/firmware/${alias.body.id}`, { method: 'DELETE' })).status, 200);
    assert.ok(!(await readdir(imagesDir())).includes(`${first.body.sha256}.bin`), 'the last delete removes the bytes');
    assert.equal((await http(`${gw.url}/api/firmware/${alias.body.id}`)).status, 404);
    assert.equal((await http(`${gw.url}/api/firmware/${alias.body.id}`, { method: 'DELETE' })).status, 404);
  });

  it('refuses an image that is not an ESP8266 application image unless force=true', async () => {
    const zip = Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(2000, 1)]);
    const refused = await uploadFirmware(gw.url, zip, { name: 'notes', version: '1.0.0' });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, 'invalid_firmware');
    assert.match(refused.body.message, /first byte 0x50, expected 0xE9.*force=true/);
    // Issue 12 §18: the refusal says what overrides it, with a reason free of any adapter's wording for UI and CLI.
    assert.equal(refused.body.override, 'force');
    assert.doesNotMatch(refused.body.reason, /force|form field/);
    const forced = await uploadFirmware(gw.url, zip, { name: 'notes', version: '1.0.0', force: 'true' });
    assert.equal(forced.status, 201);
    assert.equal(forced.body.espImage, false, 'an image stored with force is flagged');
    const empty = await uploadFirmware(gw.url, Buffer.alloc(0), { name: 'empty', version: '1.0.0', force: 'true' });
    assert.equal(empty.status, 400);
    assert.match(empty.body.message, /empty/);
    // The marker disagreeing with the declared version is a mistake worth stopping.
    const mismatch = await uploadFirmware(gw.url, makeFirmwareImage({ version: '5.0.0' }), { name: 'mm', version: '5.0.1' });
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.body.message, /declares version "5\.0\.0".*"5\.0\.1"/);
  });

  it('answers 413 past the upload limit, before or while reading, and keeps nothing', async () => {
    const over = await uploadFirmware(gw.url, makeFirmwareImage({ version: '6.0.0', size: LIMIT + 1 }), { name: 'big', version: '6.0.0' });
    assert.equal(over.status, 413);
    assert.equal(over.body.error, 'payload_too_large');
    const wayOver = await uploadFirmware(gw.url, makeFirmwareImage({ version: '6.0.0', size: LIMIT * 4 }), { name: 'big', version: '6.0.0' });
    assert.equal(wayOver.status, 413);
    const atLimit = await uploadFirmware(gw.url, makeFirmwareImage({ version: '6.0.0', size: LIMIT }), { name: 'big', version: '6.0.0' });
    assert.equal(atLimit.status, 201, 'exactly at the limit is fine');
    assert.deepEqual(await readdir(join(gw.dataDir, 'firmware', 'tmp')), [], 'no spooled leftovers');
  });

  it('refuses path tricks and malformed names, versions and labels with 400 naming the field', async () => {
    const image = makeFirmwareImage({ version: '1.0.0', size: 4096 });
    const names = ['../../etc/passwd', '..', 'a/b', 'a\\b', '.hidden', '-rf', 'x'.repeat(65), 'a\u0000b', 'name with space', '%2e%2e', 'a..b'];
    for (const name of names) {
      const res = await uploadFirmware(gw.url, image, { name, version: '1.0.0' });
      assert.equal(res.status, 400, `name ${JSON.stringify(name)} → ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error, 'invalid_name');
      assert.match(res.body.message, /^name /);
    }
    for (const version of ['../1.0', '1.0/2', '', '1..0']) {
      const res = await uploadFirmware(gw.url, image, { name: 'ok', version });
      assert.equal(res.status, 400, `version ${JSON.stringify(version)}`);
      assert.match(res.body.message, /version/);
    }
    const missing = await uploadFirmware(gw.url, image, { version: '1.0.0' });
    assert.equal(missing.status, 400);
    assert.match(missing.body.message, /"name" is missing/);
    for (const labels of ['[1]', '{"a":1}', 'not json', '{"../x":"y"}']) {
      const res = await uploadFirmware(gw.url, image, { name: 'ok', version: '1.0.0', labels });
      assert.equal(res.status, 400, `labels ${labels}`);
      assert.match(res.body.message, /label/);
    }
    // A hostile multipart file name is irrelevant: images are stored by sha256.
    const hostile = await uploadFirmware(gw.url, image, { name: 'ok', version: '1.0.0' }, '../../../../tmp/evil.bin');
    assert.equal(hostile.status, 201);
    assert.ok((await readdir(imagesDir())).every((f) => /^[0-9a-f]{64}\.bin$/.test(f)));
    assert.equal((await http(`${gw.url}/api/firmware/..%2F..%2Fetc%2Fpasswd`)).status, 404);
    assert.equal((await http(`${gw.url}/api/firmware/..%2F..%2Fetc%2Fpasswd/download`)).status, 404);
    const notMultipart = await http(`${gw.url}/api/firmware`, { body: { name: 'x' } });
    assert.equal(notMultipart.status, 400);
    assert.equal(notMultipart.body.error, 'missing_file');
    const noFile = new FormData();
    noFile.append('name', 'x');
    noFile.append('version', '1.0.0');
    const res = await fetch(`${gw.url}/api/firmware`, { method: 'POST', body: noFile });
    assert.equal(res.status, 400);
  });

  it('keeps metadata across a restart of the store, cleans spooled leftovers and orphan image files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-fw-store-'));
    try {
      const store = new FirmwareStore(dir, silentLogger());
      await store.start();
      const image = makeFirmwareImage({ version: '7.0.0', size: 10_000 });
      const file = await spoolToDisk(Readable.from([image]), store.tmpDir, LIMIT);
      const record = await store.add({ file, name: 'keep', version: '7.0.0' });
      store.stop();
      await writeFile(join(dir, 'firmware', 'images', `${'0'.repeat(64)}.bin`), 'orphan');
      await writeFile(join(dir, 'firmware', 'tmp', 'upload-half.bin'), 'half an upload');
      const again = new FirmwareStore(dir, silentLogger());
      await again.start();
      try {
        assert.deepEqual(again.list(), [record]);
        assert.deepEqual(await readdir(join(dir, 'firmware', 'images')), [`${record.sha256}.bin`]);
        assert.deepEqual(await readdir(join(dir, 'firmware', 'tmp')), []);
        assert.equal(again.getStored(record.id).imageVersion, '7.0.0');
      } finally {
        again.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
