import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';
import { getRollout, isTerminal, storeFirmware, waitRollout } from './firmware-helpers.js';

const HOUR = 3_600_000; // ms

describe('late joiners of a dynamic rollout (issue 17 §6)', () => {
  let offset = 0; // ms the test moved the gateway's clock forward
  // Node 2 starts outside the fleet: it "gets the labels" later.
  const suite = gatewaySuite({
    nodes: 3,
    config: { firmware: { verifyPollIntervalMs: 100 } },
    sim: { labels: (i) => ({ fleet: i === 2 ? 'other' : 'dyn' }) },
    clock: () => Date.now() + offset,
  });
  before(() => waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered'));

  it('a node that gets the labels after the start joins the next batch; the rollout closes at dynamicUntil', async () => {
    const firmwareId = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '2.0.0', size: 16 * 1024 }), 'dyn-app', '2.0.0');
    const created = await http(`${suite.gw.url}/api/rollouts`, {
      body: { firmwareId, target: { labels: { fleet: 'dyn' } }, batchSize: 2, bootTimeoutSec: 10, dynamic: true, dynamicForHours: 2 },
    });
    assert.equal(created.status, 201, created.text);
    const id = created.body.id as string;
    assert.equal(created.body.dynamic, true);
    assert.equal(created.body.nodes.length, 2);
    const waiting = await waitRollout(suite.gw.url, id, (r) => r.waitingFor === 'joiners' && r.nodes.every((n: any) => n.state === 'succeeded'), 'first nodes done, open for joiners');
    assert.equal(waiting.status, 'running', 'still open');

    // The third node gets the labels (its next NODE_UPDATE tells the gateway).
    const late = suite.sim.node(2);
    late.labels = { fleet: 'dyn' };
    late.sendNodeUpdate();
    const joined = await waitRollout(suite.gw.url, id, (r) => r.nodes.some((n: any) => n.ip === late.ip && n.state === 'succeeded'), 'the late joiner updated');
    assert.equal(joined.nodes.length, 3);
    assert.equal(late.version, '2.0.0');
    assert.equal(joined.status, 'running');

    offset = 2 * HOUR + 60_000; // past dynamicUntil
    const done = await waitRollout(suite.gw.url, id, isTerminal, 'closed at dynamicUntil');
    assert.equal(done.status, 'succeeded');
    const refused = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { ips: [suite.sim.ips[0]] }, dynamic: true } });
    assert.equal(refused.status, 400);
    assert.match(refused.body.message, /dynamic: a dynamic rollout must target labels/);
  });
});

describe('rollback (issue 17 §7)', () => {
  const suite = gatewaySuite({ nodes: 3, config: { firmware: { verifyPollIntervalMs: 100 } }, sim: { labels: { fleet: 'rb' } } });
  before(() => waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered'));
  const target = { labels: { fleet: 'rb' } };
  const versions = () => suite.sim.cluster.nodes.map((n) => n.version);
  const roll = async (firmwareId: string, extra: Record<string, unknown> = {}) => {
    const created = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target, batchSize: 1, bootTimeoutSec: 10, ...extra } });
    assert.equal(created.status, 201, created.text);
    return waitRollout(suite.gw.url, created.body.id, isTerminal, 'rollout done', 60_000);
  };
  let v15: string;

  it('returns every updated node to the image it ran before, with the same batching and thresholds', async () => {
    v15 = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '1.5.0', size: 16 * 1024, seed: 15 }), 'rb-app', '1.5.0');
    const v2 = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '2.0.0', size: 16 * 1024, seed: 20 }), 'rb-app', '2.0.0');
    assert.equal((await roll(v15)).status, 'succeeded');
    const up = await roll(v2);
    assert.equal(up.status, 'succeeded');
    assert.deepEqual(versions(), ['2.0.0', '2.0.0', '2.0.0']);
    const early = await http(`${suite.gw.url}/api/rollouts/${up.id}/rollback`, { method: 'POST' });
    assert.equal(early.status, 201, early.text);
    assert.equal(early.body.kind, 'rollback');
    assert.equal(early.body.parentId, up.id);
    assert.equal(early.body.firmware.version, '1.5.0', "the image the rollout's own records say they ran");
    assert.equal(early.body.batchSize, 1);
    assert.equal(early.body.batches.length, 3, 'same batching');
    const done = await waitRollout(suite.gw.url, early.body.id, isTerminal, 'rollback done', 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.nodes));
    assert.deepEqual(versions(), ['1.5.0', '1.5.0', '1.5.0'], 'every updated node is back on its previous version');
    assert.equal((await getRollout(suite.gw.url, up.id)).rollbackId, early.body.id);
    const twice = await http(`${suite.gw.url}/api/rollouts/${up.id}/rollback`, { method: 'POST' });
    assert.equal(twice.status, 409);
    assert.match(twice.body.message, /already rolled back/);
  });

  it('autoRollback rolls back when the rollout fails its threshold (a node came back on its old image)', async () => {
    const v3 = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '3.0.0', size: 16 * 1024, seed: 30 }), 'rb-app', '3.0.0');
    const plan = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId: v3, target, batchSize: 1, dryRun: true } });
    const order = plan.body.batches.flat() as string[];
    suite.sim.failNextUpdate(suite.sim.ips.indexOf(order[1]!), 'old-version');
    const failed = await roll(v3, { maxFailures: 0, autoRollback: true });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.autoRollback, true);
    const stubborn = failed.nodes.find((n: any) => n.ip === order[1]);
    assert.match(stubborn.error, /came back on version 1\.5\.0, expected 3\.0\.0/);
    assert.equal(failed.nodes.find((n: any) => n.ip === order[0]).state, 'succeeded', 'the first node was updated before the failure');
    const parent = await waitFor(async () => ((await getRollout(suite.gw.url, failed.id)).rollbackId as string | null) ?? undefined, 'the automatic rollback started');
    const rollback = await waitRollout(suite.gw.url, parent, isTerminal, 'automatic rollback done', 60_000);
    assert.equal(rollback.status, 'succeeded', JSON.stringify(rollback.nodes));
    assert.equal(rollback.kind, 'rollback');
    assert.deepEqual(rollback.nodes.map((n: any) => n.ip), [order[0]], 'only the node the failed rollout updated');
    assert.deepEqual(versions(), ['1.5.0', '1.5.0', '1.5.0']);
    assert.deepEqual(suite.sim.node(suite.sim.ips.indexOf(order[0]!)).uploads.slice(-2).map((u) => u.version), ['3.0.0', '1.5.0'], 'it received 3.0.0, then its rollback');
    const rpc = await http(`${suite.gw.url}/rpc`, { body: { jsonrpc: '2.0', id: 1, method: 'rollouts.rollback', params: { id: failed.id } } });
    assert.match(JSON.stringify(rpc.body), /already rolled back/, 'JSON-RPC has rollback too');
  });
});
