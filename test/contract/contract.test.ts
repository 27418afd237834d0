import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { z } from 'zod';
import { makeFirmwareImage } from '../../emulator/index.js';
import { FirmwareRecord, RolloutPlan, RolloutView } from '../../src/contract/firmware.js';
import { HealthReport } from '../../src/contract/health.js';
import { NodesView } from '../../src/contract/nodes.js';
import { DeviceList, DeviceView, PipelineRecord, PipelineStats } from '../../src/contract/pipeline.js';
import { storeFirmware } from '../firmware/firmware-helpers.js';
import { http, startTestGateway, WsRecorder, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';

/**
 * The wire contract (src/contract/) against what the gateway really sends: a gateway with
 * emulated nodes, a SPORE pipeline connector and a websocket sink, a stored image and a
 * planned rollout. Each answer must parse, and parse to itself: the contract's objects drop
 * fields they do not know, so a field the server sends but the contract lacks (or the other
 * way round, a missing or wrongly null one) fails here.
 */
function assertExactly(schema: z.ZodType, value: unknown, what: string): void {
  const parsed = schema.safeParse(value);
  assert.ok(parsed.success, `${what} does not match the contract: ${parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3))}`);
  assert.deepEqual(parsed.data, value, `${what} carries fields the contract does not list`);
}

describe('the wire contract matches what the gateway sends (issue 11 §1)', () => {
  let gw: TestGateway;
  let sim: TestSim;
  let ws: WsRecorder;

  before(async () => {
    gw = await startTestGateway({
      firmware: { verifyPollIntervalMs: 100 },
      pipeline: {
        connectors: [{ id: 'nodes', type: 'spore', pollMs: 200, devicePrefix: 'node-' }],
        sinks: [{ id: 'ws', type: 'websocket' }],
      },
    });
    ws = await WsRecorder.connect(gw.url);
    sim = await startSim(gw, 2, { labels: { zone: 'contract' } });
    await waitFor(() => sim.ips.every((ip) => gw.gateway.registry.getByIp(ip)?.labels.zone), 'both nodes discovered with labels');
    await waitFor(() => gw.gateway.cluster.primaryNode, 'a primary');
  });

  after(async () => {
    ws?.close();
    await sim?.stop();
    await gw?.stop();
  });

  it('GET /api/discovery/nodes is a NodesView', async () => {
    const res = await http(`${gw.url}/api/discovery/nodes`);
    assert.equal(res.status, 200);
    assert.equal(res.body.totalNodes, 2);
    assertExactly(NodesView, res.body, 'GET /api/discovery/nodes');
  });

  it('GET /api/health is a HealthReport', async () => {
    const res = await http(`${gw.url}/api/health`);
    assertExactly(HealthReport, res.body, 'GET /api/health');
  });

  it('firmware records: labels always an object, never null', async () => {
    const id = await storeFirmware(gw.url, makeFirmwareImage({ version: '3.1.0', size: 32 * 1024 }), 'contract-app', '3.1.0');
    const one = await http(`${gw.url}/api/firmware/${id}`);
    assertExactly(FirmwareRecord, one.body, 'GET /api/firmware/{id}');
    assert.deepEqual(one.body.labels, {});
    const list = await http(`${gw.url}/api/firmware`);
    assert.ok(Array.isArray(list.body) && list.body.length === 1);
    for (const record of list.body) assertExactly(FirmwareRecord, record, 'GET /api/firmware entry');

    const plan = await http(`${gw.url}/api/rollouts`, { body: { firmwareId: id, target: { labels: { zone: 'contract' } }, dryRun: true } });
    assert.equal(plan.status, 201, plan.text);
    assertExactly(RolloutPlan, plan.body, 'POST /api/rollouts (dry run)');
    const started = await http(`${gw.url}/api/rollouts`, { body: { firmwareId: id, target: { ips: [sim.ips[0]] } } });
    assert.equal(started.status, 201, started.text);
    const view = await http(`${gw.url}/api/rollouts/${started.body.id}`);
    assertExactly(RolloutView, view.body, 'GET /api/rollouts/{id}');
    const all = await http(`${gw.url}/api/rollouts`);
    for (const r of all.body) assertExactly(RolloutView, r, 'GET /api/rollouts entry');
  });

  it('devices, pipeline stats and telemetry records', async () => {
    await waitFor(async () => (await http(`${gw.url}/api/devices`)).body.devices.filter((d: any) => d.lastRecord).length === 2, 'both nodes read as devices');
    const list = await http(`${gw.url}/api/devices`);
    assertExactly(DeviceList, list.body, 'GET /api/devices');
    const one = await http(`${gw.url}/api/devices/${list.body.devices[0].id}`);
    assertExactly(DeviceView, one.body, 'GET /api/devices/{id}');
    const stats = await http(`${gw.url}/api/pipeline/stats`);
    assertExactly(PipelineStats, stats.body, 'GET /api/pipeline/stats');
    assert.equal(typeof stats.body.sinks[0].oldestQueuedAgeMs, 'number', 'oldestQueuedAgeMs is a number, never null');
    const telemetry = await ws.waitFor((m) => typeof m.topic === 'string' && m.topic.startsWith('telemetry/'), 'a telemetry message');
    const { topic, timestamp, ...record } = telemetry;
    assert.equal(topic, `telemetry/${record.device}`);
    assert.equal(typeof timestamp, 'string');
    assertExactly(PipelineRecord, record, 'a telemetry/<device> message');
  });
});
