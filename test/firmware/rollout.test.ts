import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { waitFor } from '../helpers/net.js';
import { isTerminal, storeFirmware, waitRollout } from './firmware-helpers.js';

describe('rollouts: batches, the primary last, every node verified (issue 4 §3)', () => {
  let gw: TestGateway;
  let sim: TestSim;
  let ws: WsRecorder;
  const CANARY = [0, 1, 2, 3, 4, 5];

  before(async () => {
    gw = await startTestGateway({ firmware: { verifyPollIntervalMs: 100 } });
    // Six labelled nodes, two more that the rollout must not touch.
    sim = await startSim(gw, 8, { labels: (i) => ({ ring: i < 6 ? 'canary' : 'stable', zone: `z${i % 2}` }) });
    await waitFor(() => sim.ips.every((ip) => gw.gateway.registry.getByIp(ip)?.labels.ring), 'all nodes discovered with labels');
    ws = await WsRecorder.connect(gw.url);
  });
  after(async () => {
    ws?.close();
    await sim?.stop();
    await gw?.stop();
  });

  it('updates six labelled nodes two at a time, the primary last, and leaves the others alone', async () => {
    const primaryIp = sim.ips[2]!;
    assert.equal((await http(`${gw.url}/api/discovery/primary/${primaryIp}`, { method: 'POST' })).status, 200);
    const firmwareId = await storeFirmware(gw.url, makeFirmwareImage({ version: '2.0.0', size: 96 * 1024 }), 'spore-app', '2.0.0');

    const dry = await http(`${gw.url}/api/rollouts`, {
      body: { firmwareId, target: { labels: { ring: 'canary' } }, batchSize: 2, maxFailures: 0, bootTimeoutSec: 10, dryRun: true },
    });
    assert.equal(dry.status, 201, dry.text);
    assert.equal(dry.body.dryRun, true);
    assert.equal(dry.body.nodes.length, 6);
    assert.ok(dry.body.nodes.every((n: any) => n.state === 'pending'));
    assert.deepEqual(dry.body.batches.at(-1), [primaryIp], 'the primary is planned last and alone');
    assert.ok(dry.body.batches.slice(0, -1).every((b: string[]) => b.length <= 2 && !b.includes(primaryIp)));
    assert.equal((await http(`${gw.url}/api/rollouts/${dry.body.id}`)).status, 404, 'a dry run stores nothing');
    assert.equal(sim.cluster.nodes.reduce((n, node) => n + node.uploads.length, 0), 0, 'a dry run touches no node');

    const created = await http(`${gw.url}/api/rollouts`, {
      body: { firmwareId, target: { labels: { ring: 'canary' } }, batchSize: 2, maxFailures: 0, bootTimeoutSec: 10 },
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.status, 'running');
    assert.deepEqual(created.body.batches, dry.body.batches);
    assert.deepEqual(Object.keys(created.body.nodes[0]).sort(), ['error', 'hostname', 'ip', 'progress', 'state']);

    const done = await waitRollout(gw.url, created.body.id, isTerminal, 'rollout finished', 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    assert.ok(done.startedAt && done.finishedAt);
    assert.equal(done.firmware.id, firmwareId);
    for (const node of done.nodes) {
      assert.equal(node.state, 'succeeded', JSON.stringify(node));
      assert.equal(node.progress, 100);
      assert.equal(node.error, null);
    }
    for (const i of CANARY) {
      assert.equal(sim.node(i).version, '2.0.0', `node ${i} runs the new version`);
      assert.equal(sim.uploadsReceived(i), 1, `node ${i} received exactly one upload`);
    }
    assert.equal(sim.uploadsReceived(6) + sim.uploadsReceived(7), 0, 'nodes outside the target are untouched');
    assert.equal(sim.node(6).version, '1.0.0');

    // Order, from the WebSocket: at most two nodes in flight, the primary starts after every other node settled.
    // The REST answer can be ahead of the hub: wait for the terminal message before reading the stream.
    await waitFor(
      () => ws.byTopic('rollout/progress').some((m) => m.rolloutId === created.body.id && m.status === 'succeeded'),
      'the terminal rollout/progress message on the WebSocket',
    );
    const progress = ws.byTopic('rollout/progress').filter((m) => m.rolloutId === created.body.id);
    assert.ok(progress.every((m) => typeof m.timestamp === 'string' && 'nodeIp' in m && 'state' in m && 'progress' in m && 'status' in m));
    const inFlight = new Set<string>();
    let maxInFlight = 0;
    for (const m of progress) {
      if (!m.nodeIp) continue;
      if (['uploading', 'rebooting', 'verifying'].includes(m.state)) inFlight.add(m.nodeIp);
      else inFlight.delete(m.nodeIp);
      maxInFlight = Math.max(maxInFlight, inFlight.size);
    }
    assert.equal(maxInFlight, 2, 'batches of two');
    const primaryStart = progress.findIndex((m) => m.nodeIp === primaryIp && m.state === 'uploading');
    const lastOtherSettled = progress.findLastIndex((m) => m.nodeIp && m.nodeIp !== primaryIp && m.state === 'succeeded');
    assert.ok(primaryStart > lastOtherSettled, 'the primary was updated last');
    const states = progress.filter((m) => m.nodeIp === sim.ips[0]).map((m) => m.state);
    assert.deepEqual([...new Set(states)], ['uploading', 'rebooting', 'verifying', 'succeeded']);
    assert.equal(progress.at(-1).status, 'succeeded');
    // Every verified upload was announced on firmware/upload too.
    const verified = ws.byTopic('firmware/upload').filter((m) => m.status === 'verified');
    assert.equal(new Set(verified.map((m) => m.nodeIp)).size, 6);
    assert.ok(verified.every((m) => m.version === '2.0.0'));

    // Listed, and the same rollout again skips nodes already on 2.0.0.
    const list = await http(`${gw.url}/api/rollouts`);
    assert.ok(Array.isArray(list.body) && list.body.some((r: any) => r.id === created.body.id));
    const again = await http(`${gw.url}/api/rollouts`, { body: { firmwareId, target: { labels: { ring: 'canary' } }, dryRun: true } });
    assert.equal(again.status, 201);
    assert.ok(again.body.nodes.every((n: any) => n.state === 'skipped' && /already on version 2\.0\.0/.test(n.error)));
  });
});
