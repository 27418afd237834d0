import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { isWindowOpen, nextWindowOpen } from '../../src/firmware/maintenance-window.js';
import { FAST_NODES, http } from '../helpers/gateway-harness.js';
import { sleep } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { getRollout, isTerminal, restartableGateway, storeFirmware, waitFleet, waitRollout, type RestartableGateway } from './firmware-helpers.js';

describe('maintenance windows (issue 17 §5)', () => {
  it('opens on its days in its time zone, across midnight too', () => {
    const w = { days: ['sat' as const], from: '02:00', to: '05:00', timezone: 'Europe/Berlin' };
    // Saturday 5 December 2026: 02:30 in Berlin is 01:30 UTC (CET, UTC+1).
    assert.equal(isWindowOpen(w, Date.parse('2026-12-05T01:30:00Z')), true);
    assert.equal(isWindowOpen(w, Date.parse('2026-12-05T00:59:00Z')), false);
    assert.equal(isWindowOpen(w, Date.parse('2026-12-05T04:00:00Z')), false, '05:00 Berlin: closed');
    assert.equal(isWindowOpen(w, Date.parse('2026-12-06T01:30:00Z')), false, 'Sunday');
    assert.equal(nextWindowOpen(w, Date.parse('2026-12-01T12:00:00Z')), Date.parse('2026-12-05T01:00:00Z'));
    const night = { days: ['fri' as const], from: '22:00', to: '02:00', timezone: 'UTC' };
    assert.equal(isWindowOpen(night, Date.parse('2026-12-04T23:00:00Z')), true, 'Friday 23:00');
    assert.equal(isWindowOpen(night, Date.parse('2026-12-05T01:00:00Z')), true, 'Saturday 01:00 belongs to Friday night');
    assert.equal(isWindowOpen(night, Date.parse('2026-12-05T23:00:00Z')), false);
  });
});

describe('a window rollout waits, runs inside its window, pauses at its end and survives SIGKILL (issue 17 §5)', () => {
  let gw: RestartableGateway;
  let sim: TestSim;
  const url = () => gw.url;
  /** The gateway's injected clock (SPORE_CLOCK_FILE): the test moves time. */
  const clockFile = () => join(gw.dataDir, 'clock');
  const setClock = (iso: string) => writeFile(clockFile(), iso);

  before(async () => {
    gw = await restartableGateway('spore-window-', { nodes: FAST_NODES, firmware: { verifyPollIntervalMs: 100 } }, (dir) => ({ SPORE_CLOCK_FILE: join(dir, 'clock') }));
    // Saturday 5 December 2026, 01:00 UTC: an hour before the window.
    await setClock('2026-12-05T01:00:00Z');
    // 96 KiB at 48 KiB/s: about 2 s per node, so the window can close while one uploads.
    sim = await startSim({ udpPort: gw.udpPort, nodePort: gw.nodePort }, 3, { labels: { fleet: 'window' }, flashBytesPerSec: 48 * 1024 });
    await gw.start();
    await waitFleet(url(), 'window', 3);
  });
  after(async () => {
    await gw?.destroy();
    await sim?.stop();
  });

  it('scheduled → running in the window → scheduled when it closes → done in the next one, across two SIGKILLs', async () => {
    const firmwareId = await storeFirmware(url(), makeFirmwareImage({ version: '2.0.0', size: 96 * 1024 }), 'window-app', '2.0.0');
    const created = await http(`${url()}/api/rollouts`, {
      body: { firmwareId, target: { labels: { fleet: 'window' } }, batchSize: 1, bootTimeoutSec: 10, window: { days: ['sat'], from: '02:00', to: '03:00', timezone: 'UTC' } },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    assert.equal(created.body.status, 'scheduled');
    assert.equal(created.body.waitingFor, 'window');
    assert.equal(created.body.nextRunAt, '2026-12-05T02:00:00.000Z');
    await sleep(1500); // three schedule checks: nothing may start before the window
    assert.equal((await getRollout(url(), id)).status, 'scheduled');
    assert.equal(sim.cluster.nodes.reduce((n, node) => n + node.uploads.length, 0), 0, 'no upload before the window');

    // Crash 1 while scheduled: it is still scheduled after the restart.
    await gw.kill('SIGKILL');
    await gw.start();
    const afterCrash = await getRollout(url(), id);
    assert.equal(afterCrash.status, 'scheduled');
    assert.equal(afterCrash.nextRunAt, '2026-12-05T02:00:00.000Z');

    // The window opens: the first node updates.
    await setClock('2026-12-05T02:00:30Z');
    const uploading = await waitRollout(url(), id, (r) => r.nodes.some((n: any) => n.state === 'uploading'), 'first node uploading inside the window', 30_000);
    assert.equal(uploading.status, 'running');
    assert.equal(uploading.waitingFor, null);
    const first = uploading.nodes.find((n: any) => n.state === 'uploading').ip as string;

    // It closes while that node uploads: the node finishes, no other starts; the rollout waits for next Saturday.
    await setClock('2026-12-05T03:00:00Z');
    const paused = await waitRollout(url(), id, (r) => r.status === 'scheduled' && r.nodes.find((n: any) => n.ip === first).state === 'succeeded', 'paused by the window end', 30_000);
    assert.equal(paused.waitingFor, 'window');
    assert.equal(paused.nextRunAt, '2026-12-12T02:00:00.000Z');
    assert.deepEqual(paused.nodes.filter((n: any) => n.ip !== first).map((n: any) => n.state), ['pending', 'pending']);
    await sleep(1500);
    assert.equal(sim.cluster.nodes.reduce((n, node) => n + node.uploads.length, 0), 1, 'only the node that started inside the window');

    // Crash 2 while paused by the window, then the next window.
    await gw.kill('SIGKILL');
    await gw.start();
    assert.equal((await getRollout(url(), id)).status, 'scheduled');
    await setClock('2026-12-12T02:10:00Z');
    const done = await waitRollout(url(), id, isTerminal, 'finished in the next window', 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.nodes));
    for (const node of sim.cluster.nodes) assert.equal(node.version, '2.0.0');
    for (const node of sim.cluster.nodes) assert.equal(node.uploads.length, 1, `${node.ip}: updated once`);
  });

  it('startAt holds a rollout until then; pause and cancel work while scheduled; bad schedules are refused naming the field', async () => {
    const firmwareId = await storeFirmware(url(), makeFirmwareImage({ version: '3.0.0', size: 16 * 1024 }), 'window-app', '3.0.0');
    const created = await http(`${url()}/api/rollouts`, { body: { firmwareId, target: { labels: { fleet: 'window' } }, startAt: '2026-12-24T18:00:00+01:00' } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'scheduled');
    assert.equal(created.body.waitingFor, 'start');
    assert.equal(created.body.nextRunAt, '2026-12-24T17:00:00.000Z');
    const paused = await http(`${url()}/api/rollouts/${created.body.id}/pause`, { method: 'POST' });
    assert.equal(paused.body.status, 'paused');
    const cancelled = await http(`${url()}/api/rollouts/${created.body.id}/cancel`, { method: 'POST' });
    assert.equal(cancelled.body.status, 'cancelled');
    assert.ok(cancelled.body.nodes.every((n: any) => n.state === 'skipped'));
    const bad = await http(`${url()}/api/rollouts`, { body: { firmwareId, target: {}, startAt: 'next friday', window: { days: [], from: '2:00', to: '05:00' } } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /startAt: must be an RFC3339 date-time/);
    assert.match(bad.body.message, /window\.days: give at least one of mon/);
    assert.match(bad.body.message, /window\.from: a local time "HH:MM"/);
  });
});
