import { before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';
import { getRollout, isTerminal, storeFirmware, waitRollout } from './firmware-helpers.js';

describe('rollouts: failures, thresholds and timeouts (issue 4 §3)', () => {
  const suite = gatewaySuite({ nodes: 4, config: { firmware: { verifyPollIntervalMs: 100 } }, sim: { labels: { fleet: 'f' } } });
  before(() => waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered'));
  let version = 1;

  /** A fresh firmware version for each test, so earlier tests never make nodes "already up to date". */
  let firmwareId: string;
  let newVersion: string;
  beforeEach(async () => {
    version++;
    newVersion = `${version}.0.0`;
    firmwareId = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: newVersion, size: 32 * 1024, seed: version }), 'app', newVersion);
    await waitFor(() => suite.sim.cluster.nodes.every((n) => n.alive) && suite.gw.gateway.registry.activeNodes().length === 4, 'every node up');
  });

  const plan = async (body: Record<string, unknown>) => {
    const res = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { labels: { fleet: 'f' } }, ...body, dryRun: true } });
    assert.equal(res.status, 201, res.text);
    return res.body.batches.flat() as string[];
  };
  const start = async (body: Record<string, unknown>) => {
    const res = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { labels: { fleet: 'f' } }, ...body } });
    assert.equal(res.status, 201, res.text);
    return res.body.id as string;
  };
  const indexOf = (ip: string): number => suite.sim.ips.indexOf(ip);

  it('a node that refuses the image with maxFailures 0 fails the rollout; nodes not reached never receive an upload', async () => {
    const order = await plan({ batchSize: 1, maxFailures: 0, bootTimeoutSec: 5 });
    const refusing = indexOf(order[1]!);
    suite.sim.failNextUpdate(refusing, 'refuse');
    const uploadsBefore = suite.sim.cluster.nodes.map((n) => n.uploads.length);
    const id = await start({ batchSize: 1, maxFailures: 0, bootTimeoutSec: 5 });
    const done = await waitRollout(suite.gw.url, id, isTerminal, 'rollout ended');
    assert.equal(done.status, 'failed');
    assert.match(done.error, /1 node failed, more than maxFailures \(0\)/);
    const byIp = new Map(done.nodes.map((n: any) => [n.ip, n]));
    assert.equal((byIp.get(order[0]!) as any).state, 'succeeded');
    const failed = byIp.get(order[1]!) as any;
    assert.equal(failed.state, 'failed');
    assert.match(failed.error, /refused the image/);
    for (const ip of order.slice(2)) {
      const node = byIp.get(ip) as any;
      assert.equal(node.state, 'skipped', 'never reached');
      assert.match(node.error, /rollout failed/);
      assert.equal(suite.sim.uploadsReceived(indexOf(ip)), uploadsBefore[indexOf(ip)], `node ${ip} never received an upload`);
      assert.notEqual(suite.sim.node(indexOf(ip)).version, newVersion);
    }
    assert.notEqual(suite.sim.node(refusing).version, newVersion);
  });

  it('a node that never comes back fails at the boot timeout; within maxFailures the rollout goes on', async () => {
    const order = await plan({ batchSize: 2, maxFailures: 1, bootTimeoutSec: 3 });
    const lost = indexOf(order[0]!);
    suite.sim.failNextUpdate(lost, 'never-return');
    const id = await start({ batchSize: 2, maxFailures: 1, bootTimeoutSec: 3 });
    const done = await waitRollout(suite.gw.url, id, isTerminal, 'rollout ended');
    assert.equal(done.status, 'succeeded', 'one failure is within maxFailures 1');
    const lostNode = done.nodes.find((n: any) => n.ip === suite.sim.ips[lost]);
    assert.equal(lostNode.state, 'failed');
    assert.match(lostNode.error, /did not come back within the boot timeout \(3 s\)/);
    for (const n of done.nodes.filter((x: any) => x.ip !== suite.sim.ips[lost])) {
      assert.equal(n.state, 'succeeded');
      assert.equal(suite.sim.node(indexOf(n.ip)).version, newVersion);
    }
    await suite.sim.revive(lost);
  });

  it('a node that comes back on the old version is not counted as updated', async () => {
    const order = await plan({ batchSize: 4, maxFailures: 3, bootTimeoutSec: 5 });
    const stubborn = indexOf(order[0]!);
    const oldVersion = suite.sim.node(stubborn).version;
    suite.sim.failNextUpdate(stubborn, 'old-version');
    const id = await start({ batchSize: 4, maxFailures: 3, bootTimeoutSec: 5 });
    const done = await waitRollout(suite.gw.url, id, isTerminal, 'rollout ended');
    const node = done.nodes.find((n: any) => n.ip === suite.sim.ips[stubborn]);
    assert.equal(node.state, 'failed');
    assert.match(node.error, new RegExp(`came back on version ${oldVersion.replace(/\./g, '\\.')}, expected ${newVersion.replace(/\./g, '\\.')}`));
    assert.equal(done.status, 'succeeded');
  });

  it('a node that dies after planning fails at its turn without an upload; a node already down is skipped at planning', async () => {
    const order = await plan({ batchSize: 1, maxFailures: 0, bootTimeoutSec: 5 });
    const dead = indexOf(order[1]!);
    const uploadsBefore = suite.sim.uploadsReceived(dead);
    const id = await start({ batchSize: 1, maxFailures: 0, bootTimeoutSec: 5 });
    suite.sim.kill(dead);
    const done = await waitRollout(suite.gw.url, id, isTerminal, 'rollout ended');
    assert.equal(done.status, 'failed');
    const node = done.nodes.find((n: any) => n.ip === suite.sim.ips[dead]);
    assert.equal(node.state, 'failed');
    assert.match(node.error, /unreachable|INACTIVE|DEAD|not heard/);
    assert.equal(suite.sim.uploadsReceived(dead), uploadsBefore);
    assert.ok(done.nodes.filter((n: any) => order.slice(2).includes(n.ip)).every((n: any) => n.state === 'skipped'));

    await waitFor(() => suite.gw.gateway.registry.getByIp(suite.sim.ips[dead]!)?.status !== 'ACTIVE', 'node seen INACTIVE');
    const res = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId, target: { ips: [suite.sim.ips[dead]] }, dryRun: true } });
    assert.equal(res.body.nodes[0].state, 'skipped');
    assert.match(res.body.nodes[0].error, /was (INACTIVE|DEAD) when the rollout was planned/);
    await suite.sim.revive(dead);
  });

  it('refuses bad rollout requests with a clear 4xx naming the field', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ target: {} }, 400, /firmwareId/],
      [{ firmwareId, target: {}, batchSize: 0 }, 400, /batchSize: must be an integer 1-1000/],
      [{ firmwareId, target: {}, batchSize: 2.5 }, 400, /batchSize/],
      [{ firmwareId, target: {}, maxFailures: -1 }, 400, /maxFailures/],
      [{ firmwareId, target: {}, bootTimeoutSec: 'soon' }, 400, /bootTimeoutSec: must be an integer 1-3600/],
      [{ firmwareId, target: { ips: ['300.1.1.1'] } }, 400, /target\.ips\.0: must be dotted-quad/],
      [{ firmwareId, target: { ips: ['10.9.9.9'] } }, 404, /no discovered node has IP 10\.9\.9\.9/],
      [{ firmwareId, target: { labels: { fleet: 'nope' } } }, 400, /no known node matches the target \(labels fleet=nope\)/],
      [{ firmwareId, target: { group: 'x' } }, 400, /unknown field.*group/],
      [{ firmwareId, target: {}, dryrun: true }, 400, /unknown field.*dryrun/],
      [{ firmwareId }, 400, /target: required/],
      [{ firmwareId: 'no-such-firmware', target: {} }, 404, /no firmware has id/],
      [[1, 2], 400, /JSON object/],
    ];
    for (const [body, status, pattern] of cases) {
      const res = await http(`${suite.gw.url}/api/rollouts`, { body: body as any });
      assert.equal(res.status, status, `${JSON.stringify(body)} → ${res.text}`);
      assert.ok(typeof res.body.error === 'string' && typeof res.body.message === 'string');
      assert.match(res.body.message, pattern, JSON.stringify(body));
    }
    const broken = await http(`${suite.gw.url}/api/rollouts`, { body: '{"firmwareId":', headers: { 'content-type': 'application/json' } });
    assert.equal(broken.status, 400);
    assert.equal((await http(`${suite.gw.url}/api/rollouts/not-a-rollout`)).status, 404);
    assert.equal((await http(`${suite.gw.url}/api/rollouts/..%2F..%2Fetc`)).status, 404);
    assert.equal((await http(`${suite.gw.url}/api/rollouts/x/pause`, { method: 'POST' })).status, 404);
    assert.equal((await http(`${suite.gw.url}/api/rollouts?status=bogus`)).status, 400);
    const all = await http(`${suite.gw.url}/api/rollouts?status=failed`);
    assert.ok(all.body.every((r: any) => r.status === 'failed') && all.body.length >= 1);
    // Nothing above started a rollout.
    const ids = (await http(`${suite.gw.url}/api/rollouts`)).body.map((r: any) => r.id);
    for (const id of ids) assert.ok(isTerminal(await getRollout(suite.gw.url, id)), 'no rollout left running');
  });
});
