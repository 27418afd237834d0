import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { freePort, waitFor } from '../helpers/net.js';

/** Issue 14 §3: node-opcua and zwave-js are loaded only when a connector of theirs is configured. */
const loaded = (prefix: string) => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`/node_modules/${prefix}`));

describe('large connector libraries are loaded on demand', () => {
  it('a gateway with a pipeline but no opcua/zwave connector loads neither library', async () => {
    const port = await freePort();
    const gw = await startTestGateway({
      pipeline: { connectors: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port, devices: [{ id: 'm', channels: [{ name: 'c', address: 0 }] }] }] },
    });
    try {
      assert.equal(loaded('node-opcua'), false);
      assert.equal(loaded('zwave-js'), false);
      assert.equal(loaded('@zwave-js/'), false);
    } finally {
      await gw.stop();
    }
  });

  it('an opcua connector loads node-opcua when it starts (and still not zwave-js)', async () => {
    const port = await freePort(); // nothing listens: the connector keeps retrying
    const gw = await startTestGateway({
      pipeline: { connectors: [{ id: 'ua', type: 'opcua', endpoint: `opc.tcp://127.0.0.1:${port}`, devices: [{ id: 'p', channels: [{ name: 't', nodeId: 'ns=1;s=T' }] }] }] },
    });
    try {
      await waitFor(() => loaded('node-opcua-client'), 'node-opcua-client to be loaded', 60_000);
      assert.equal(loaded('zwave-js'), false);
    } finally {
      await gw.stop();
    }
  });
});
