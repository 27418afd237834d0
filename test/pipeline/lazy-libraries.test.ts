import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, relative, resolve } from 'node:path';
import { startTestGateway } from '../helpers/gateway-harness.js';
import { freePort, waitFor } from '../helpers/net.js';

/** Issue 14 §3: node-opcua and zwave-js are loaded only when a connector of theirs is configured. */
const loaded = (prefix: string) => Object.keys(createRequire(import.meta.url).cache).some((path) => path.includes(`/node_modules/${prefix}`));

const ROOT = resolve(import.meta.dirname, '../..');

/** Every file of src/ that `entry` loads at start (gateway-main.ts loads gateway-cli.ts with import() after its compiler flags): its static imports, transitively (not `import()`). */
function staticallyLoaded(entry: string): Set<string> {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(resolve(ROOT, file), 'utf8');
    for (const m of text.matchAll(/^\s*(import|export)\s+(?!type\s)[^;]*?\sfrom\s+['"](\.[^'"]+)['"]/gms)) {
      visit(relative(ROOT, resolve(ROOT, dirname(file), m[2]!)).replace(/\.js$/, '.ts'));
    }
  };
  visit(entry);
  return seen;
}

/** A connector's or sink's implementation (not its schema, not the index of loaders). */
const isPluginImplementation = (file: string) => /^src\/pipeline\/(connectors|sinks)\/(?!index\.ts$)(?!.*-schema\.ts$)/.test(file);

describe('pipeline plugins are loaded on demand (issue 16 §3)', () => {
  it('the gateway loads no connector or sink implementation at start: the config schema imports only their schemas', () => {
    const files = staticallyLoaded('src/cli/gateway-cli.ts');
    assert.ok(files.has('src/pipeline/config-schema.ts') && files.has('src/pipeline/connectors/mqtt-schema.ts'), 'the walk reaches the plugin schemas');
    assert.deepEqual([...files].filter(isPluginImplementation), []);
    assert.ok(isPluginImplementation('src/pipeline/connectors/mqtt.ts') && isPluginImplementation('src/pipeline/sinks/sparkplug.ts'));
  });

  it('nor the connector test and the M-Bus survey (loaded at their first request), with the M-Bus codec and link', () => {
    const files = staticallyLoaded('src/cli/gateway-cli.ts');
    assert.ok(files.has('src/gateway.ts'), 'the walk reaches the gateway');
    for (const f of ['src/pipeline/connector-probe.ts', 'src/pipeline/mbus/mbus-survey.ts', 'src/pipeline/mbus/mbus-link.ts', 'src/protocol/mbus-codec.ts']) assert.equal(files.has(f), false, f);
  });
});

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
