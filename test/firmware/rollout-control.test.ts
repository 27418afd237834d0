import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { sleep, waitFor } from '../helpers/net.js';
import { getRollout, isTerminal, storeFirmware, waitRollout } from './firmware-helpers.js';

/** 96 KiB at 32 KiB/s: each upload takes about 3 s, long enough to act while it runs. */
const IMAGE_BYTES = 96 * 1024;
const FLASH_BYTES_PER_SEC = 32 * 1024;

describe('rollouts: pause, resume, cancel (issue 4 §3)', () => {
  let gw: TestGateway;
  let sim: TestSim;
  let firmwareId: string;

  before(async () => {
    gw = await startTestGateway({ firmware: { verifyPollIntervalMs: 100 } });
    sim = await startSim(gw, 4, { labels: { fleet: 'ctl' }, flashBytesPerSec: FLASH_BYTES_PER_SEC });
    await waitFor(() => sim.ips.every((ip) => gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered');
    firmwareId = await storeFirmware(gw.url, makeFirmwareImage({ version: '2.0.0', size: IMAGE_BYTES }), 'ctl-app', '2.0.0');
  });
  after(async () => {
    await sim?.stop();
    await gw?.stop();
  });

  const post = (path: string) => http(`${gw.url}${path}`, { method: 'POST' });
  const nodeIn = (r: any, state: string) => r.nodes.find((n: any) => n.state === state);

  it('pauses between nodes, resumes, and cancels mid-upload leaving untouched nodes untouched', async () => {
    const created = await http(`${gw.url}/api/rollouts`, {
      body: { firmwareId, target: { labels: { fleet: 'ctl' } }, batchSize: 1, maxFailures: 0, bootTimeoutSec: 10 },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    const order = created.body.batches.flat() as string[];

    // Pause while the first node uploads: it finishes, nobody else starts.
    await waitRollout(gw.url, id, (r) => nodeIn(r, 'uploading'), 'first node uploading');
    const paused = await post(`/api/rollouts/${id}/pause`);
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.status, 'paused');
    assert.equal((await post(`/api/rollouts/${id}/pause`)).status, 409, 'pausing twice is a conflict');
    const settled = await waitRollout(gw.url, id, (r) => r.nodes.find((n: any) => n.ip === order[0]).state === 'succeeded', 'first node done');
    assert.equal(settled.status, 'paused');
    await sleep(1500); // a few heartbeats: long enough for a wrongly started node to show
    const still = await getRollout(gw.url, id);
    assert.equal(still.status, 'paused');
    assert.deepEqual(
      still.nodes.filter((n: any) => n.ip !== order[0]).map((n: any) => n.state),
      ['pending', 'pending', 'pending'],
      'no node starts while paused',
    );
    for (const ip of order.slice(1)) assert.equal(sim.uploadsReceived(sim.ips.indexOf(ip)), 0);

    // Resume: the second node starts; cancel it mid-upload.
    const resumed = await post(`/api/rollouts/${id}/resume`);
    assert.equal(resumed.status, 200, resumed.text);
    assert.equal(resumed.body.status, 'running');
    assert.equal((await post(`/api/rollouts/${id}/resume`)).status, 409, 'resuming a running rollout is a conflict');
    await waitRollout(gw.url, id, (r) => r.nodes.find((n: any) => n.ip === order[1]).state === 'uploading', 'second node uploading');
    const cancelled = await post(`/api/rollouts/${id}/cancel`);
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.status, 'cancelled');
    const done = await waitRollout(gw.url, id, isTerminal, 'rollout closed');
    assert.equal(done.status, 'cancelled');
    assert.match(done.error, /cancelled/);
    const second = done.nodes.find((n: any) => n.ip === order[1]);
    assert.equal(second.state, 'skipped');
    assert.match(second.error, /upload cancelled/);
    assert.equal(sim.node(sim.ips.indexOf(order[1]!)).version, '1.0.0', 'the cancelled upload changed nothing');
    for (const ip of order.slice(2)) {
      const n = done.nodes.find((x: any) => x.ip === ip);
      assert.equal(n.state, 'skipped');
      assert.match(n.error, /cancelled/);
      assert.equal(sim.uploadsReceived(sim.ips.indexOf(ip)), 0, 'never reached');
    }
    assert.equal(sim.node(sim.ips.indexOf(order[0]!)).version, '2.0.0');
    assert.equal((await post(`/api/rollouts/${id}/cancel`)).status, 409, 'cancelling twice is a conflict');
    assert.equal((await post(`/api/rollouts/${id}/resume`)).status, 409);
  });

  it('cancels a paused rollout, keeps a node out of two rollouts, and refuses a single-node OTA to a node mid-rollout', async () => {
    const target = { ips: [sim.ips[1], sim.ips[2]] };
    const created = await http(`${gw.url}/api/rollouts`, { body: { firmwareId, target, batchSize: 1, bootTimeoutSec: 10 } });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    const first = created.body.batches[0][0] as string;
    await waitRollout(gw.url, id, (r) => nodeIn(r, 'uploading'), 'uploading');

    const clash = await http(`${gw.url}/api/rollouts`, { body: { firmwareId, target: { ips: [sim.ips[2]] } } });
    assert.equal(clash.status, 409, clash.text);
    assert.match(clash.body.message, /already belongs to rollout/);
    const form = new FormData();
    form.append('file', new Blob([makeFirmwareImage({ version: '9.9.9' })]), 'x.bin');
    const direct = await fetch(`${gw.url}/api/node/update?ip=${first}`, { method: 'POST', body: form });
    assert.equal(direct.status, 409, 'a node mid-rollout is not updated twice at once');
    assert.match(((await direct.json()) as any).message, /being updated by rollout/);
    const inUse = await http(`${gw.url}/api/firmware/${firmwareId}`, { method: 'DELETE' });
    assert.equal(inUse.status, 409, 'firmware in use by a rollout cannot be deleted');
    assert.match(inUse.body.message, new RegExp(id));

    assert.equal((await post(`/api/rollouts/${id}/pause`)).status, 200);
    const cancelled = await post(`/api/rollouts/${id}/cancel`);
    assert.equal(cancelled.status, 200);
    const done = await waitRollout(gw.url, id, isTerminal, 'closed');
    assert.equal(done.status, 'cancelled');
    assert.ok(done.nodes.every((n: any) => ['skipped', 'succeeded'].includes(n.state)), JSON.stringify(done.nodes));
    assert.ok(done.nodes.some((n: any) => n.state === 'skipped'));
  });
});
