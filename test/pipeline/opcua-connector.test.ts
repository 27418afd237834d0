import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import type { PipelineRecord } from '../../src/pipeline/types.js';
import { OpcuaTestServer } from './helpers/opcua-server.js';

/**
 * Issue 14 §2 against a real node-opcua server in its own process: subscription values,
 * bad status codes, writes with the node's data type, browse, security None and
 * SignAndEncrypt with a user, a wrong password, and a SIGKILLed server coming back.
 */
describe('opcua connector against a node-opcua server', () => {
  let server: OpcuaTestServer;
  let gw: TestGateway;
  const records: PipelineRecord[] = [];
  const device = async (id: string) => (await http(`${gw.url}/api/devices/${id}`)).body;
  const connector = async (id: string) => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors.find((c: { id: string }) => c.id === id);
  const channel = async (dev: string, name: string) => (await device(dev)).channels.find((c: { name: string }) => c.name === name);

  before(async () => {
    server = await OpcuaTestServer.start({ secure: true, users: { operator: 'correct horse' }, changeMs: 100 });
    const fast = { samplingMs: 50, publishingMs: 100, timeoutMs: 3000, reconnect: { initialMs: 200, maxMs: 1000 } };
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          {
            id: 'line-ua',
            type: 'opcua',
            endpoint: server.endpoint,
            ...fast,
            devices: [
              {
                id: 'press-3',
                channels: [
                  { name: 'temperature', nodeId: 'ns=1;s=Temperature' },
                  { name: 'setpoint', nodeId: 'ns=1;s=Setpoint', writable: true },
                  { name: 'enabled', nodeId: 'ns=1;s=Enabled', writable: true },
                  { name: 'broken', nodeId: 'ns=1;s=Broken' },
                ],
              },
            ],
          },
          {
            id: 'secure-ua',
            type: 'opcua',
            endpoint: server.endpoint,
            securityMode: 'SignAndEncrypt',
            securityPolicy: 'Basic256Sha256',
            username: 'operator',
            password: 'correct horse',
            ...fast,
            devices: [{ id: 'press-4', channels: [{ name: 'temperature', nodeId: 'ns=1;s=Temperature' }] }],
          },
          {
            id: 'wrong-ua',
            type: 'opcua',
            endpoint: server.endpoint,
            username: 'operator',
            password: 'wrong',
            ...fast,
            devices: [{ id: 'press-5', channels: [{ name: 'temperature', nodeId: 'ns=1;s=Temperature' }] }],
          },
        ],
        // Every committed record, in order, on the gateway's bus (pipeline/telemetry).
        sinks: [{ id: 'live', type: 'websocket' }],
      },
    });
    gw.gateway.bus.on('pipeline/telemetry', (r) => records.push(r));
  });

  after(async () => {
    await gw?.stop();
    await server?.close();
  });

  it('records every change of a subscribed variable (sampling 50 ms, changes every 100 ms)', async () => {
    // The first connection loads node-opcua and creates the gateway certificate: seconds on a busy machine.
    await waitFor(() => records.some((r) => r.device === 'press-3'), 'a first record', 60_000);
    await waitFor(() => records.filter((r) => r.device === 'press-3' && 'temperature' in r.values).length >= 20, 'twenty temperature changes', 20_000);
    const temps = records.filter((r) => r.device === 'press-3' && 'temperature' in r.values).map((r) => r.values.temperature as number);
    // The server counts up by 0.1 per change: steps of 0.1 show no change was skipped or repeated.
    const steps = temps.slice(1).map((t, i) => Math.round((t - temps[i]!) * 10));
    const exact = steps.filter((s) => s === 1).length;
    assert.ok(exact >= steps.length - 2, `consecutive changes expected, got steps ${steps.join(',')}`);
    assert.equal((await connector('line-ua')).state, 'connected');
    const seqs = records.filter((r) => r.device === 'press-3').map((r) => r.seq);
    assert.deepEqual(seqs, seqs.map((_, i) => seqs[0]! + i), 'one seq per record, no gap');
  });

  it('shows a bad status code as a bad channel, not as a number', async () => {
    const broken = await waitFor(async () => {
      const c = await channel('press-3', 'broken');
      return c?.status ? c : undefined;
    }, 'the bad channel');
    assert.equal(broken.value, null);
    assert.equal(broken.status, 'BadSensorFailure');
    assert.ok(!records.some((r) => 'broken' in r.values), 'a bad value is no record value');
  });

  it('writes with the node data type, and the value read back follows', async () => {
    const res = await http(`${gw.url}/api/devices/press-3/write`, { body: { channel: 'setpoint', value: 42.5 } });
    assert.equal(res.status, 200, res.text);
    await waitFor(() => server.writes.includes('Setpoint 42.5'), 'the write on the server');
    await waitFor(async () => (await channel('press-3', 'setpoint'))?.value === 42.5, 'the read-back of the setpoint');

    assert.equal((await http(`${gw.url}/api/devices/press-3/write`, { body: { channel: 'enabled', value: true } })).status, 200);
    await waitFor(() => server.writes.includes('Enabled true'), 'the boolean write on the server');
    await waitFor(async () => (await channel('press-3', 'enabled'))?.value === true, 'the read-back of the boolean');

    const bad = await http(`${gw.url}/api/devices/press-3/write`, { body: { channel: 'enabled', value: 'maybe' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error, 'invalid_value');
    assert.match(bad.body.message, /Boolean/);
    const ro = await http(`${gw.url}/api/devices/press-3/write`, { body: { channel: 'temperature', value: 1 } });
    assert.equal(ro.body.error, 'channel_not_writable');
  });

  it('browses the address space down to the test variables', async () => {
    const top = await http(`${gw.url}/api/connectors/line-ua/browse`);
    assert.equal(top.status, 200, top.text);
    const plant = top.body.children.find((c: { browseName: string }) => c.browseName === '1:Plant');
    assert.ok(plant, top.text);
    assert.equal(plant.nodeClass, 'Object');
    const inside = await http(`${gw.url}/api/connectors/line-ua/browse?nodeId=${encodeURIComponent(plant.nodeId)}`);
    assert.equal(inside.status, 200, inside.text);
    const byName = new Map(inside.body.children.map((c: { displayName: string }) => [c.displayName, c]));
    for (const name of ['Temperature', 'Setpoint', 'Enabled', 'Broken']) {
      assert.deepEqual(byName.get(name), { nodeId: `ns=1;s=${name}`, browseName: `1:${name}`, displayName: name, nodeClass: 'Variable', dataType: name === 'Enabled' ? 'Boolean' : 'Double' });
    }
    const malformed = await http(`${gw.url}/api/connectors/line-ua/browse?nodeId=${encodeURIComponent('not a node')}`);
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error, 'bad_request');
    const unknown = await http(`${gw.url}/api/connectors/line-ua/browse?nodeId=${encodeURIComponent('ns=1;s=Nope')}`);
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal((await http(`${gw.url}/api/connectors/nope/browse`)).body.error, 'connector_not_found');
    assert.equal((await http(`${gw.url}/api/connectors/line-ua/nodes`)).body.error, 'not_supported');
  });

  it('a wrong password is a clear connector error', async () => {
    const c = await waitFor(async () => {
      const s = await connector('wrong-ua');
      return /password/.test(s.lastError ?? '') ? s : undefined;
    }, 'the wrong password to be reported', 30_000); // ms: the refused session is retried with backoff; slow on a loaded machine
    assert.equal(c.state, 'error');
    assert.match(c.lastError, /refused the user name or password/);
    assert.ok(!c.lastError.includes('wrong'), 'no secret in errors');
    const health = (await http(`${gw.url}/api/health`)).body;
    assert.equal(health.components['connector:wrong-ua'].status, 'down');
  });

  it('SignAndEncrypt with a user: refused until the server certificate is trusted in the data directory', async () => {
    const untrusted = await waitFor(async () => {
      const s = await connector('secure-ua');
      return s.lastError ? s : undefined;
    }, 'the untrusted certificate to be reported', 30_000);
    assert.notEqual(untrusted.state, 'connected');
    assert.match(untrusted.lastError, /server certificate is not trusted .*rejected/, untrusted.lastError);
    assert.ok(!records.some((r) => r.device === 'press-4'));
    // What an operator does: move the rejected server certificate into the trust list.
    const pki = join(gw.dataDir, 'opcua', 'pki');
    const rejected = await readdir(join(pki, 'rejected'));
    assert.equal(rejected.length, 1, rejected.join());
    await rename(join(pki, 'rejected', rejected[0]!), join(pki, 'trusted', 'certs', rejected[0]!));
    await waitFor(() => records.some((r) => r.device === 'press-4'), 'values over the encrypted session', 30_000);
    assert.equal((await connector('secure-ua')).state, 'connected');
  });

  it('comes back after the server is SIGKILLed and restarted on the same port', async () => {
    const before = await connector('line-ua');
    await server.kill();
    await waitFor(async () => (await connector('line-ua')).state !== 'connected', 'the connector to notice');
    const health = (await http(`${gw.url}/api/health`)).body;
    assert.equal(health.components['connector:line-ua'].status, 'down');
    await new Promise((r) => setTimeout(r, 1500)); // a few failed reconnects
    await server.start();
    const since = records.length;
    // Issue 14: values resume within 10 s of the server's return.
    await waitFor(() => records.slice(since).some((r) => r.device === 'press-3' && 'temperature' in r.values), 'values after the restart', 10_000);
    await waitFor(() => records.slice(since).some((r) => r.device === 'press-4'), 'values of the secure connector after the restart', 10_000);
    const after = await connector('line-ua');
    assert.equal(after.state, 'connected');
    assert.ok(after.reconnects > before.reconnects);
    // The restarted server starts from Setpoint 20 again: the read-back shows the new session's value.
    await waitFor(async () => (await channel('press-3', 'setpoint'))?.value === 20, 'the restarted server value');
  });
});
