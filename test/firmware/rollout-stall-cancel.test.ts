import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';
import { isTerminal, storeFirmware, waitRollout } from './firmware-helpers.js';

describe('stalled uploads, forced cancel and retry (issue 17 §4)', () => {
  // 128 KiB/s flash: a 384 KiB upload takes about 3 s, long enough to cancel it in the middle. On
  // loopback the kernel buffers the whole image at once, so the node's answer is the only progress
  // left to see: the stall timeout must exceed the 3 s the node flashes.
  const suite = gatewaySuite({
    nodes: 3,
    config: { firmware: { verifyPollIntervalMs: 100, stallTimeoutMs: 4500 } },
    sim: { labels: { fleet: 'stall' }, flashBytesPerSec: 128 * 1024, freeSketchSpace: 4 * 1024 * 1024 },
  });
  before(() => waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered'));
  const post = (path: string) => http(`${suite.gw.url}${path}`, { method: 'POST' });
  const byIp = (r: any, ip: string) => r.nodes.find((n: any) => n.ip === ip);
  const indexOf = (ip: string) => suite.sim.ips.indexOf(ip);
  let stalledRollout: string;
  let stalledIp: string;

  it('a node whose upload stalls fails after stallTimeoutMs with that reason; the rollout goes on', async () => {
    const firmwareId = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '2.0.0', size: 64 * 1024, seed: 2 }), 'stall-app', '2.0.0');
    const plan = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { labels: { fleet: 'stall' } }, dryRun: true } });
    stalledIp = plan.body.batches.flat()[0];
    suite.sim.failNextUpdate(indexOf(stalledIp), 'stall');
    const created = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { labels: { fleet: 'stall' } }, batchSize: 1, maxFailures: 1, bootTimeoutSec: 10 } });
    assert.equal(created.status, 201, created.text);
    stalledRollout = created.body.id;
    const done = await waitRollout(suite.gw.url, stalledRollout, isTerminal, 'rollout done');
    assert.equal(done.status, 'succeeded', 'one failure within maxFailures 1: the rollout went on');
    const stalled = byIp(done, stalledIp);
    assert.equal(stalled.state, 'failed');
    assert.match(stalled.error, /the upload stalled: node .* made no progress for 4\.5 s \(firmware\.stallTimeoutMs\)/);
    assert.equal(suite.sim.node(indexOf(stalledIp)).version, '1.0.0');
    for (const n of done.nodes.filter((x: any) => x.ip !== stalledIp)) {
      assert.equal(n.state, 'succeeded');
      assert.equal(suite.sim.node(indexOf(n.ip)).version, '2.0.0');
    }
  });

  it('retry starts a new rollout of the same image for the nodes that failed', async () => {
    const retried = await post(`/api/rollouts/${stalledRollout}/retry`);
    assert.equal(retried.status, 201, retried.text);
    assert.equal(retried.body.kind, 'retry');
    assert.equal(retried.body.parentId, stalledRollout);
    assert.deepEqual(retried.body.target, { ips: [stalledIp] });
    assert.deepEqual(retried.body.nodes.map((n: any) => n.ip), [stalledIp], 'only the failed node');
    assert.equal(retried.body.maxFailures, 1, 'same thresholds');
    const done = await waitRollout(suite.gw.url, retried.body.id, isTerminal, 'retry done');
    assert.equal(done.status, 'succeeded');
    assert.equal(suite.sim.node(indexOf(stalledIp)).version, '2.0.0');
    const again = await post(`/api/rollouts/${retried.body.id}/retry`);
    assert.equal(again.status, 409);
    assert.match(again.body.message, /no failed node/);
    assert.equal((await post('/api/rollouts/no-such-rollout/retry')).status, 404);
    const rpc = await http(`${suite.gw.url}/rpc`, { body: { jsonrpc: '2.0', id: 1, method: 'rollouts.retry', params: { id: retried.body.id } } });
    assert.match(JSON.stringify(rpc.body), /no failed node/, 'JSON-RPC has retry too');
  });

  it('cancel during an upload ends the rollout at once; the node cut off is recorded cancelled, then as it really is', async () => {
    const firmwareId = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '3.0.0', size: 384 * 1024, seed: 3 }), 'stall-app', '3.0.0');
    const created = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { labels: { fleet: 'stall' } }, batchSize: 1, bootTimeoutSec: 5 } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id;
    const active = await http(`${suite.gw.url}/api/rollouts/${id}/retry`, { method: 'POST' });
    assert.equal(active.status, 409, 'a running rollout is not retried');
    const uploading = await waitRollout(suite.gw.url, id, (r) => r.nodes.some((n: any) => n.state === 'uploading'), 'an upload under way');
    const cutIp = uploading.nodes.find((n: any) => n.state === 'uploading').ip;

    const cancelled = await post(`/api/rollouts/${id}/cancel`);
    assert.equal(cancelled.status, 200, cancelled.text);
    // The answer to the cancel already shows the rollout ended: no waiting on the node.
    assert.equal(cancelled.body.status, 'cancelled');
    assert.notEqual(cancelled.body.finishedAt, null, 'finished when the cancel answered');
    assert.equal(byIp(cancelled.body, cutIp).state, 'cancelled');
    assert.ok(cancelled.body.nodes.every((n: any) => ['succeeded', 'skipped', 'cancelled', 'failed'].includes(n.state)), 'no node left in flight');
    assert.deepEqual((await http(`${suite.gw.url}/api/rollouts?status=pending,scheduled,running,paused`)).body, []);

    // What it runs is then recorded: the upload was cut in the middle, the node kept its firmware.
    const checked = await waitRollout(suite.gw.url, id, (r) => !/checked when it returns/.test(byIp(r, cutIp).error ?? ''), 'the cut-off node checked');
    const node = byIp(checked, cutIp);
    assert.equal(node.state, 'cancelled', JSON.stringify(node));
    assert.match(node.error, /upload cancelled: the node kept its previous firmware \(2\.0\.0\)/);
    assert.equal(suite.sim.node(indexOf(cutIp)).version, '2.0.0');
  });
});
