import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { ESP_IMAGE_MAGIC, makeFirmwareImage, VERSION_MARKER } from '../../emulator/index.js';
import { doesNotFit, otaRoom } from '../../src/firmware/flash-fit.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';
import { isTerminal, storeFirmware, uploadFirmware, waitRollout } from './firmware-helpers.js';

const MB = 1024 * 1024;

/** An application image that compresses well (zeros after the header and marker), `size` bytes once inflated. */
function compressibleImage(version: string, size: number): Buffer {
  const image = Buffer.alloc(size);
  Buffer.from([ESP_IMAGE_MAGIC, 0x03, 0x02, 0x20]).copy(image, 0);
  Buffer.from(`${VERSION_MARKER}${version}\0`, 'ascii').copy(image, 8);
  return image;
}

describe('flash-space checks and .bin.gz images (issue 17 §2, §3)', () => {
  // Nodes 0 and 1: ESP-01 (1 MB); node 0 reports freeSketchSpace (480 KiB), node 1 does not (older firmware).
  // Nodes 2 and 3: 4 MB boards.
  const suite = gatewaySuite({
    nodes: 4,
    config: { firmware: { verifyPollIntervalMs: 100 } },
    sim: { labels: { fleet: 'flash' }, flashChipSize: (i) => (i < 2 ? MB : 4 * MB), freeSketchSpace: (i) => (i === 1 ? null : undefined) },
  });
  before(() => waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.resources?.flashChipSize), 'node resources known'));
  const stateOf = (r: any, i: number) => r.nodes.find((n: any) => n.ip === suite.sim.ips[i]);

  it('computes the room for OTA from freeSketchSpace, else from the 1 MB / 4 MB layouts', () => {
    assert.deepEqual(otaRoom({ flashChipSize: MB, freeSketchSpace: 491_520 }), { bytes: 491_520, source: 'reported' });
    assert.deepEqual(otaRoom({ flashChipSize: MB }), { bytes: 481_280, source: 'layout' }); // (1 MB − 84 KiB) / 2 = 470 KiB
    assert.deepEqual(otaRoom({ flashChipSize: 4 * MB }), { bytes: 0xfeff0, source: 'layout' });
    assert.equal(otaRoom({}), null);
    assert.equal(doesNotFit(612 * 1024, { flashChipSize: MB, freeSketchSpace: 480 * 1024 }), 'image 612 KiB does not fit the 480 KiB free for OTA on this node');
    assert.equal(doesNotFit(400 * 1024, { flashChipSize: MB, freeSketchSpace: 480 * 1024 }), null);
    assert.equal(suite.gw.gateway.registry.getByIp(suite.sim.ips[0]!)?.resources?.freeSketchSpace, 480 * 1024, 'the emulator reports freeSketchSpace');
  });

  it('skips 1 MB nodes an image does not fit, with the reason, in the dry run and the rollout; 4 MB nodes update', async () => {
    const firmwareId = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '2.0.0', size: 612 * 1024 }), 'big-app', '2.0.0');
    const body = { firmwareId, target: { labels: { fleet: 'flash' } }, batchSize: 2, bootTimeoutSec: 10 };
    const plan = await http(`${suite.gw.url}/api/rollouts`, { body: { ...body, dryRun: true } });
    assert.equal(plan.status, 201, plan.text);
    assert.equal(stateOf(plan.body, 0).state, 'skipped');
    assert.equal(stateOf(plan.body, 0).error, 'image 612 KiB does not fit the 480 KiB free for OTA on this node');
    assert.equal(stateOf(plan.body, 1).state, 'skipped');
    assert.match(stateOf(plan.body, 1).error, /^image 612 KiB does not fit the 470 KiB free for OTA on this node \(computed from its 1 MB flash\)$/);
    assert.deepEqual(plan.body.batches.flat().sort(), [suite.sim.ips[2], suite.sim.ips[3]].sort());

    const created = await http(`${suite.gw.url}/api/rollouts`, { body });
    assert.equal(created.status, 201, created.text);
    const done = await waitRollout(suite.gw.url, created.body.id, isTerminal, 'rollout done');
    assert.equal(done.status, 'succeeded', JSON.stringify(done.nodes));
    for (const i of [0, 1]) {
      assert.equal(stateOf(done, i).state, 'skipped');
      assert.equal(suite.sim.uploadsReceived(i), 0, 'not a byte sent to a node the image does not fit');
      assert.equal(suite.sim.node(i).version, '1.0.0');
    }
    for (const i of [2, 3]) {
      assert.equal(stateOf(done, i).state, 'succeeded');
      assert.equal(suite.sim.node(i).version, '2.0.0');
    }
  });

  it('stores a .bin.gz as uploaded, reads the magic and version inside, checks the inflated size, and updates nodes with it', async () => {
    // 600 KiB inflated, a few KiB compressed: it would pass a check of the compressed size on 1 MB nodes.
    const raw = compressibleImage('3.0.0', 600 * 1024);
    const gz = gzipSync(raw);
    assert.ok(gz.length < 50 * 1024);
    const stored = await uploadFirmware(suite.gw.url, gz, { name: 'gz-app', version: '3.0.0' }, 'gz-app.bin.gz');
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    assert.equal(stored.body.compressed, true);
    assert.equal(stored.body.size, gz.length, 'stored as uploaded');
    assert.equal(stored.body.imageBytes, raw.length, 'inflated size recorded');
    assert.equal(stored.body.sha256, createHash('sha256').update(gz).digest('hex'));
    const download = await fetch(`${suite.gw.url}/api/firmware/${stored.body.id}/download`);
    assert.match(download.headers.get('content-disposition') ?? '', /gz-app-3\.0\.0\.bin\.gz/);
    assert.deepEqual(Buffer.from(await download.arrayBuffer()), gz);

    // The version marker inside must match the form; a gzip of something else is not an ESP8266 image.
    const mismatch = await uploadFirmware(suite.gw.url, gz, { name: 'gz-app', version: '3.0.1' }, 'x.bin.gz');
    assert.equal(mismatch.status, 400);
    assert.match(mismatch.body.message, /declares version "3\.0\.0"/);
    const notEsp = await uploadFirmware(suite.gw.url, gzipSync(Buffer.from('hello world')), { name: 'gz-text', version: '1.0.0' }, 'x.bin.gz');
    assert.equal(notEsp.status, 400);
    assert.match(notEsp.body.message, /does not inflate to an ESP8266 application image/);
    const broken = await uploadFirmware(suite.gw.url, Buffer.concat([gz.subarray(0, 100)]), { name: 'gz-broken', version: '3.0.0' }, 'x.bin.gz');
    assert.equal(broken.status, 400);
    assert.match(broken.body.message, /gzip/);

    const created = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId: stored.body.id, target: { labels: { fleet: 'flash' } }, batchSize: 2, bootTimeoutSec: 10 } });
    assert.equal(created.status, 201, created.text);
    const done = await waitRollout(suite.gw.url, created.body.id, isTerminal, 'gz rollout done');
    assert.equal(done.status, 'succeeded', JSON.stringify(done.nodes));
    for (const i of [0, 1]) {
      assert.match(stateOf(done, i).error, /image 600 KiB does not fit the 4[78]0 KiB free/, 'the inflated size is what must fit');
    }
    for (const i of [2, 3]) {
      assert.equal(stateOf(done, i).state, 'succeeded');
      assert.equal(suite.sim.node(i).version, '3.0.0', 'the node inflated the image and reports its version');
      assert.equal(suite.sim.lastFirmwareSha256(i), stored.body.sha256, 'sent as it is, compressed');
    }
  });
});
