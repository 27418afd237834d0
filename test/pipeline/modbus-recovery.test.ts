import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { ModbusServer, PYTHON } from './helpers/modbus-server.js';

const skip = skipUnlessPeer('python3-pymodbus (/usr/bin/python3)', PYTHON !== undefined);

/**
 * ThingsBoard/Neuron users report pollers that never recover after a device error. Ours:
 * a device that vanishes, or hangs, and comes back is polled again without any help.
 */
describe('modbus-tcp poller recovers by itself', { skip }, () => {
  let server: ModbusServer;
  let gw: TestGateway;
  const stats = async () => (await http(`${gw.url}/api/pipeline/stats`)).body.connectors[0];
  const counter = async () => (await http(`${gw.url}/api/devices/meter`)).body.channels[0].value as number | null;

  before(async () => {
    server = await ModbusServer.start({ counter: 0, counterMs: 100 });
    gw = await startTestGateway({
      pipeline: {
        connectors: [
          {
            id: 'plc',
            type: 'modbus-tcp',
            host: '127.0.0.1',
            port: server.port,
            pollMs: 100,
            timeoutMs: 300,
            reconnect: { initialMs: 100, maxMs: 400 },
            devices: [{ id: 'meter', channels: [{ name: 'count', address: 0, type: 'uint16' }] }],
          },
        ],
      },
    });
    await waitFor(async () => ((await counter()) ?? 0) > 0, 'the counter to be read');
  });

  after(async () => {
    await gw?.stop();
    await server?.kill();
  });

  it('reconnects after the server disappears and returns on the same port', async () => {
    // Connected first (on a loaded machine a 300 ms timeout can make it reconnect once at start).
    const before = await waitFor(async () => {
      const s = await stats();
      return s.state === 'connected' ? s : undefined;
    }, 'the connector to be connected', 15_000);
    await server.kill();
    const down = await waitFor(async () => {
      const s = await stats();
      return s.state !== 'connected' && s.errors > before.errors ? s : undefined;
    }, 'the connector to notice the server is gone');
    assert.match(down.lastError, /127\.0\.0\.1:\d+|closed the connection/, down.lastError);
    const health = (await http(`${gw.url}/api/health`)).body;
    assert.equal(health.status, 'degraded', 'a connector down degrades the gateway (CONTRACT §4)');
    assert.equal(health.components['connector:plc'].status, 'down');
    // Errors keep being counted while it is gone: the poller is alive and retrying.
    await waitFor(async () => (await stats()).errors >= down.errors + 2, 'more reconnect attempts');

    await server.start(); // same port, counter restarts from 0
    const back = await waitFor(async () => {
      const s = await stats();
      return s.state === 'connected' && s.reconnects > before.reconnects ? s : undefined;
    }, 'the connector to reconnect', 15_000);
    assert.ok(back.polls > before.polls);
    await waitFor(async () => {
      const v = await counter();
      return v !== null && v < 1000 && (await http(`${gw.url}/api/devices/meter`)).body.lastRecord.seq > 0;
    }, 'fresh values after the restart');
    assert.equal((await http(`${gw.url}/api/health`)).body.components['connector:plc'].status, 'up');
  });

  it('recovers from a device that stops answering (hung) and resumes', async () => {
    const before = await stats();
    server.pause();
    await waitFor(async () => {
      const s = await stats();
      return s.state !== 'connected' && /timed out/i.test(s.lastError ?? '') ? s : undefined;
    }, 'timeouts while the device hangs');
    server.resume();
    const seqBefore = (await http(`${gw.url}/api/devices/meter`)).body.lastRecord.seq;
    await waitFor(async () => {
      const s = await stats();
      return s.state === 'connected' && s.reconnects > before.reconnects && (await http(`${gw.url}/api/devices/meter`)).body.lastRecord.seq > seqBefore + 2;
    }, 'polling to resume after the hang', 15_000);
  });
});
