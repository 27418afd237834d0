import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { FAST_NODES, http } from '../helpers/gateway-harness.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { getRollout, isTerminal, restartableGateway, storeFirmware, waitFleet, waitRollout, type RestartableGateway } from './firmware-helpers.js';

describe('rollouts survive a gateway crash (SIGKILL) and finish correctly (issue 4 §3)', () => {
  let gw: RestartableGateway;
  let sim: TestSim;
  const url = () => gw.url;

  before(async () => {
    gw = await restartableGateway('spore-crash-', { nodes: FAST_NODES, firmware: { verifyPollIntervalMs: 100 } });
    // 64 KiB at 32 KiB/s: each upload takes about 2 s, so the gateway can die in the middle of one.
    sim = await startSim({ udpPort: gw.udpPort, nodePort: gw.nodePort }, 6, { labels: { fleet: 'crash' }, flashBytesPerSec: 32 * 1024 });
    await gw.start();
    await waitFleet(url(), 'crash', 6);
  });
  after(async () => {
    await gw?.destroy();
    await sim?.stop();
  });

  it('resumes after SIGKILL mid-upload and mid-reboot: every node ends on the new version, none left stuck', async () => {
    const firmwareId = await storeFirmware(url(), makeFirmwareImage({ version: '2.0.0', size: 64 * 1024 }), 'crash-app', '2.0.0');
    const created = await http(`${url()}/api/rollouts`, {
      body: { firmwareId, target: { labels: { fleet: 'crash' } }, batchSize: 2, maxFailures: 0, bootTimeoutSec: 8 },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;

    // Crash 1: in the middle of the first batch's uploads.
    const midUpload = await waitRollout(url(), id, (r) => r.nodes.some((n: any) => n.state === 'uploading' && n.progress >= 10), 'an upload under way');
    const interrupted = midUpload.nodes.filter((n: any) => n.state === 'uploading').map((n: any) => n.ip);
    assert.equal(await gw.kill('SIGKILL'), null, 'killed by a signal');
    await gw.start();
    const resumed = await getRollout(url(), id);
    assert.ok(['running', 'pending'].includes(resumed.status), `still running after the restart (${resumed.status})`);

    // Crash 2: while a node of a later batch reboots into the new image.
    const rebooting = await waitRollout(
      url(),
      id,
      (r) => r.nodes.some((n: any) => !interrupted.includes(n.ip) && (n.state === 'rebooting' || n.state === 'verifying')),
      'a node rebooting',
      60_000,
    );
    const caught = rebooting.nodes.filter((n: any) => !interrupted.includes(n.ip) && (n.state === 'rebooting' || n.state === 'verifying')).map((n: any) => n.ip);
    await gw.kill('SIGKILL');
    await gw.start();

    const done = await waitRollout(url(), id, isTerminal, 'rollout finished after two crashes', 120_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done, null, 1));
    for (const node of done.nodes) {
      assert.equal(node.state, 'succeeded', JSON.stringify(node));
      const i = sim.ips.indexOf(node.ip);
      assert.equal(sim.node(i).version, '2.0.0', `${node.ip} runs the new version`);
      assert.ok(sim.uploadsReceived(i) >= 1 && sim.uploadsReceived(i) <= 2, `${node.ip}: at most one retry (${sim.uploadsReceived(i)} uploads)`);
    }
    for (const ip of caught) {
      assert.equal(sim.uploadsReceived(sim.ips.indexOf(ip)), 1, `${ip} was already on the new version after the restart: no second upload`);
    }
    assert.ok(interrupted.length >= 1);
    const list = await http(`${url()}/api/rollouts?status=running,paused,pending`);
    assert.deepEqual(list.body, [], 'nothing left running');
  });
});
