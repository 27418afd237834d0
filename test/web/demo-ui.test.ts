/** `npm run demo` opens with the web UI as its main entry (issue 5): the first URL it prints serves the UI. */
import { strict as assert } from 'node:assert';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import { ensureWebBuilt } from '../helpers/browser.js';
import { spawnTs } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';

test('the demo prints the UI URL first, and it serves the UI', async () => {
  ensureWebBuilt();
  const port = await freePort();
  const demo = spawnTs('src/cli/demo-main.ts', ['-port', String(port), '-udp-port', String(await freeUdpPort()), '-node-port', String(await freePort()), '-count', '0', '-data-dir', `/tmp/spore-demo-ui-${port}`]);
  try {
    const line = await waitFor(() => /Open the web UI:\s+(\S+)/.exec(demo.stdout()), 'the UI URL on stdout', 30_000);
    const url = line[1]!;
    assert.equal(url, `http://127.0.0.1:${port}/`);
    const firstUrl = /https?:\/\/\S+/.exec(demo.stdout())![0];
    assert.equal(firstUrl, url, 'the UI is the first URL printed');
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<div id="app">/);
    // Its field devices (issue 13 §4), on the Devices page's API: a Modbus RTU meter and an M-Bus heat meter over TCP, read.
    const devices = await waitFor(async () => {
      const list = ((await (await fetch(`${url}api/devices`)).json()) as { devices: unknown }).devices as Array<{ id: string; connectorType: string; lastRecord: unknown; health?: { state: string }; channels: Array<{ name: string; unit: string | null }> }>;
      const byId = new Map(list.map((d) => [d.id, d]));
      return ['energy-meter', 'heat-meter'].every((id) => byId.get(id)?.lastRecord && byId.get(id)?.health?.state === 'ok') ? byId : undefined;
    }, 'the demo\'s field devices read', 30_000);
    assert.equal(devices.get('energy-meter')!.connectorType, 'modbus-rtu-tcp');
    assert.equal(devices.get('heat-meter')!.connectorType, 'mbus-tcp');
    assert.equal(devices.get('heat-meter')!.channels.find((c) => c.name === 'flowTemp')!.unit, '°C');
  } finally {
    await demo.kill();
    await rm(`/tmp/spore-demo-ui-${port}`, { recursive: true, force: true });
  }
});
