import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeFirmwareImage } from '../../emulator/index.js';
import { http } from '../helpers/gateway-harness.js';
import { gatewaySuite } from '../helpers/suites.js';
import { waitFor } from '../helpers/net.js';
import { isTerminal, storeFirmware, waitRollout } from './firmware-helpers.js';

describe('firmware and rollouts over JSON-RPC: the same services as REST', () => {
  const suite = gatewaySuite({ nodes: 2, config: { firmware: { verifyPollIntervalMs: 100 } }, sim: { labels: { fleet: 'rpc' } } });
  before(() => waitFor(() => suite.sim.ips.every((ip) => suite.gw.gateway.registry.getByIp(ip)?.labels.fleet), 'nodes discovered'));

  const call = async (method: string, params: unknown) => (await http(`${suite.gw.url}/rpc`, { body: { jsonrpc: '2.0', id: 1, method, params } })).body;

  it('lists firmware, runs a rollout, reports validation errors', async () => {
    const firmwareId = await storeFirmware(suite.gw.url, makeFirmwareImage({ version: '2.0.0', size: 16 * 1024 }), 'rpc-app', '2.0.0');
    const list = await call('firmware.list', {});
    assert.ok(list.result.firmware.some((f: any) => f.id === firmwareId));
    const created = await call('rollouts.start', { firmwareId, target: { labels: { fleet: 'rpc' } }, batchSize: 2, bootTimeoutSec: 10 });
    assert.equal(created.result.status, 'running', JSON.stringify(created));
    const done = await waitRollout(suite.gw.url, created.result.id, isTerminal, 'rollout done');
    assert.equal(done.status, 'succeeded');
    assert.equal((await call('rollouts.status', { id: done.id })).result.status, 'succeeded');
    const bad = await call('rollouts.start', { firmwareId, target: {}, batchSize: 0 });
    assert.ok(bad.error, JSON.stringify(bad));
    assert.match(JSON.stringify(bad.error), /batchSize: must be an integer 1-1000/);
    const inUse = await call('rollouts.cancel', { id: done.id });
    assert.ok(inUse.error, 'cancelling a finished rollout is refused');
    assert.equal((await call('firmware.delete', { id: firmwareId })).result.success, true);
  });
});
