import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { WsRecorder } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';

describe('single-node OTA: answer first, then verify the return (issue 4 §2, CONTRACT §4)', () => {
  const suite = gatewaySuite({ nodes: 4, config: { firmware: { verifyPollIntervalMs: 100, bootTimeoutMs: 8000 } } });
  let ws: WsRecorder;

  before(async () => {
    await waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.version), 'nodes discovered with versions');
    ws = await WsRecorder.connect(suite.gw.url);
  });
  after(() => ws?.close());

  const update = async (i: number, image: Uint8Array, query = '') => {
    const form = new FormData();
    form.append('file', new Blob([image]), 'fw.bin');
    const res = await fetch(`${suite.gw.url}/api/node/update?ip=${suite.sim.ips[i]}${query}`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as any };
  };
  const outcome = (i: number) =>
    ws.waitFor((m) => m.topic === 'firmware/upload' && m.nodeIp === suite.sim.ips[i] && (m.status === 'verified' || m.status === 'unverified'), `verification of node ${i}`, 15_000);

  it('answers as soon as the node answers, then reports verified with the new version', async () => {
    const image = makeFirmwareImage({ version: '2.1.0', size: 48 * 1024 });
    const res = await update(0, image);
    assert.equal(res.status, 200);
    assert.equal(res.body.success, true);
    assert.equal(res.body.nodeIp, suite.sim.ips[0]);
    assert.equal(res.body.size, image.length);
    assert.match(res.body.sha256, /^[0-9a-f]{64}$/);
    assert.equal(res.body.nodeResponse.status, 'OK');
    const before = ws.byTopic('firmware/upload').filter((m) => m.nodeIp === suite.sim.ips[0] && m.status === 'verified');
    assert.equal(before.length, 0, 'the answer came before the verification');
    const verdict = await outcome(0);
    assert.equal(verdict.status, 'verified');
    assert.equal(verdict.version, '2.1.0');
    assert.equal(suite.sim.node(0).version, '2.1.0');
    const statuses = ws.byTopic('firmware/upload').filter((m) => m.nodeIp === suite.sim.ips[0]).map((m) => m.status);
    assert.deepEqual([statuses[0], statuses.at(-2), statuses.at(-1)], ['started', 'succeeded', 'verified']);
  });

  it('reports unverified when the node comes back on the old version', async () => {
    suite.sim.failNextUpdate(1, 'old-version');
    const res = await update(1, makeFirmwareImage({ version: '2.2.0' }));
    assert.equal(res.body.success, true, 'the node accepted the image');
    const verdict = await outcome(1);
    assert.equal(verdict.status, 'unverified');
    assert.equal(verdict.version, '1.0.0');
    assert.match(verdict.error, /came back on version 1\.0\.0, expected 2\.2\.0/);
  });

  it('reports unverified when the node never comes back (boot timeout from the query)', async () => {
    suite.sim.failNextUpdate(2, 'never-return');
    const res = await update(2, makeFirmwareImage({ version: '2.3.0' }), '&bootTimeoutSec=2');
    assert.equal(res.body.success, true);
    const verdict = await outcome(2);
    assert.equal(verdict.status, 'unverified');
    assert.match(verdict.error, /did not come back within the boot timeout \(2 s\)/);
    await suite.sim.revive(2);
  });

  it('verifies by the reboot alone when the image carries no version marker', async () => {
    const image = Buffer.alloc(20 * 1024, 0x11);
    image[0] = 0xe9;
    const res = await update(3, image);
    assert.equal(res.body.success, true);
    const verdict = await outcome(3);
    assert.equal(verdict.status, 'verified', JSON.stringify(verdict));
  });

  it('passes a refused image through as success:false with no verification, and validates bootTimeoutSec', async () => {
    const notEsp = Buffer.alloc(4096, 0x42);
    const res = await update(0, notEsp);
    assert.equal(res.status, 200, 'the gateway streams whatever it is given (CONTRACT §4)');
    assert.equal(res.body.success, false);
    assert.equal(res.body.nodeResponse.status, 'FAIL');
    const bad = await update(0, notEsp, '&bootTimeoutSec=0');
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /bootTimeoutSec.*1-3600/);
  });
});
