import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { sleep, waitFor } from '../helpers/net.js';
import { getRollout, isTerminal, storeFirmware, waitRollout } from './firmware-helpers.js';

/** 384 KiB at 128 KiB/s: each upload takes about 3 s, long enough to act while it runs, and more than loopback buffers hold at first. */
const IMAGE_BYTES = 384 * 1024;
const FLASH_BYTES_PER_SEC = 128 * 1024;

describe('rollouts: pause, resume, cancel (issue 4 §3)', () => {
  const suite = gatewaySuite({ nodes: 4, config: { firmware: { verifyPollIntervalMs: 100 } }, sim: { labels: { fleet: 'ctl' }, flashBytesPerSec: FLASH_BYTES_PER_SEC } });
  let firmwareId: string;

  before(async () => {
    await waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered');
    firmwareId = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '2.0.0', size: IMAGE_BYTES }), 'ctl-app', '2.0.0');
  });

  const post = (path: string) => http(`${suite.gw.url}${path}`, { method: 'POST' });
  const nodeIn = (r: any, state: string) => r.nodes.find((n: any) => n.state === state);
  /** Ended, and every node the cancel cut off has been checked on its return (issue 17 §4). */
  const checked = (r: any) => isTerminal(r) && r.nodes.every((n: any) => !/checked when it returns/.test(n.error ?? ''));

  it('pauses between nodes, resumes, and cancels mid-upload leaving untouched nodes untouched', async () => {
    const created = await http(`${suite.gw.url}/api/rollouts`, {
      body: { firmwareId, target: { labels: { fleet: 'ctl' } }, batchSize: 1, maxFailures: 0, bootTimeoutSec: 5 },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    const order = created.body.batches.flat() as string[];

    // Pause while the first node uploads: it finishes, nobody else starts.
    await waitRollout(suite.gw.url, id, (r) => nodeIn(r, 'uploading'), 'first node uploading');
    const paused = await post(`/api/rollouts/${id}/pause`);
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.status, 'paused');
    assert.equal((await post(`/api/rollouts/${id}/pause`)).status, 409, 'pausing twice is a conflict');
    const settled = await waitRollout(suite.gw.url, id, (r) => r.nodes.find((n: any) => n.ip === order[0]).state === 'succeeded', 'first node done');
    assert.equal(settled.status, 'paused');
    await sleep(1500); // a few heartbeats: long enough for a wrongly started node to show
    const still = await getRollout(suite.gw.url, id);
    assert.equal(still.status, 'paused');
    assert.deepEqual(
      still.nodes.filter((n: any) => n.ip !== order[0]).map((n: any) => n.state),
      ['pending', 'pending', 'pending'],
      'no node starts while paused',
    );
    for (const ip of order.slice(1)) assert.equal(suite.sim.uploadsReceived(suite.sim.ips.indexOf(ip)), 0);

    // Resume: the second node starts; cancel it mid-upload.
    const resumed = await post(`/api/rollouts/${id}/resume`);
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.body.status, 'running');
    assert.equal((await post(`/api/rollouts/${id}/resume`)).status, 409, 'resuming a running rollout is a conflict');
    await waitRollout(suite.gw.url, id, (r) => r.nodes.find((n: any) => n.ip === order[1]).state === 'uploading', 'second node uploading');
    const cancelled = await post(`/api/rollouts/${id}/cancel`);
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.status, 'cancelled');
    await waitRollout(suite.gw.url, id, isTerminal, 'rollout closed');
    const done = await waitRollout(suite.gw.url, id, checked, 'the cut-off node checked');
    assert.equal(done.status, 'cancelled');
    assert.match(done.error, /cancelled/);
    // Cut mid-upload, the node keeps its firmware — and whatever happened, the record says what it runs.
    const second = done.nodes.find((n: any) => n.ip === order[1]);
    const secondVersion = suite.sim.node(suite.sim.ips.indexOf(order[1]!)).version;
    if (second.state === 'cancelled') {
      assert.match(second.error, /upload cancelled: the node kept its previous firmware/);
      assert.equal(secondVersion, '1.0.0', 'the cancelled upload changed nothing');
    } else {
      assert.equal(second.state, 'succeeded', JSON.stringify(second));
      assert.equal(secondVersion, '2.0.0', 'the node had the whole image before the cancel');
    }
    for (const ip of order.slice(2)) {
      const n = done.nodes.find((x: any) => x.ip === ip);
      assert.equal(n.state, 'skipped');
      assert.match(n.error, /cancelled/);
      assert.equal(suite.sim.uploadsReceived(suite.sim.ips.indexOf(ip)), 0, 'never reached');
    }
    assert.equal(suite.sim.node(suite.sim.ips.indexOf(order[0]!)).version, '2.0.0');
    assert.equal((await post(`/api/rollouts/${id}/cancel`)).status, 409, 'cancelling twice is a conflict');
    assert.equal((await post(`/api/rollouts/${id}/resume`)).status, 409);
  });

  it('cancels a paused rollout, keeps a node out of two rollouts, and refuses a single-node OTA to a node mid-rollout', async () => {
    const target = { ips: [suite.sim.ips[1], suite.sim.ips[2]] };
    const created = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target, batchSize: 1, bootTimeoutSec: 5 } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    const first = created.body.batches[0][0] as string;
    await waitRollout(suite.gw.url, id, (r) => nodeIn(r, 'uploading'), 'uploading');

    const clash = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { ips: [suite.sim.ips[2]] } } });
    assert.equal(clash.status, 409, clash.text);
    assert.match(clash.body.message, /already belongs to rollout/);
    const form = new FormData();
    form.append('file', new Blob([makeFirmwareImage({ version: '9.9.9' })]), 'x.bin');
    const direct = await fetch(`${suite.gw.url}/api/node/update?ip=${first}`, { method: 'POST', body: form });
    assert.equal(direct.status, 409, 'a node mid-rollout is not updated twice at once');
    assert.match(((await direct.json()) as any).message, /being updated by rollout/);
    const inUse = await http(`${suite.gw.url}/api/firmware/${firmwareId}`, { method: 'DELETE' });
    assert.equal(inUse.status, 409, 'firmware in use by a rollout cannot be deleted');
    assert.match(inUse.body.message, new RegExp(id));

    assert.equal((await post(`/api/rollouts/${id}/pause`)).status, 200);
    const cancelled = await post(`/api/rollouts/${id}/cancel`);
    assert.equal(cancelled.status, 200);
    const done = await waitRollout(suite.gw.url, id, checked, 'closed');
    assert.equal(done.status, 'cancelled');
    assert.ok(done.nodes.every((n: any) => ['skipped', 'cancelled', 'succeeded'].includes(n.state)), JSON.stringify(done.nodes));
    assert.ok(done.nodes.some((n: any) => n.state === 'skipped'));
  });

  it('records a node as it really is when the cancel came after the whole image had left the gateway', async () => {
    const i = 3;
    const small = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '3.0.0', size: 16 * 1024 }), 'ctl-small', '3.0.0');
    // The node starts reading its upload only after 2.5 s: meanwhile the 16 KiB wait, whole, in the kernel's buffers.
    suite.sim.slow(i, 2500);
    try {
      const uploadsBefore = suite.sim.uploadsReceived(i);
      const created = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId: small, target: { ips: [suite.sim.ips[i]] }, bootTimeoutSec: 10 } });
      assert.equal(created.status, 201, created.text);
      await waitRollout(suite.gw.url, created.body.id, (r) => r.nodes[0].state === 'uploading', 'uploading');
      await sleep(500); // every byte has left the gateway; the node has not answered
      assert.equal((await post(`/api/rollouts/${created.body.id}/cancel`)).status, 200);
      const closed = await waitRollout(suite.gw.url, created.body.id, isTerminal, 'closed');
      assert.equal(closed.status, 'cancelled');
      // Issue 17 §4: the rollout ends at once; the node cut off is recorded cancelled, then as it really is.
      const done = await waitRollout(suite.gw.url, created.body.id, checked, 'the node checked on its return');
      assert.equal(suite.sim.uploadsReceived(i), uploadsBefore + 1, 'the node received the whole image after the cancel');
      const node = done.nodes[0];
      // The record matches what the node runs — here, the image it received in full.
      assert.equal(node.state, 'succeeded', JSON.stringify(node));
      assert.match(node.error, /had received the whole image before the cancel/);
      assert.equal(suite.sim.node(i).version, '3.0.0');
    } finally {
      suite.sim.slow(i, 0);
    }
  });
});
