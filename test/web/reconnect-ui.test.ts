/**
 * The UI reconnects after the gateway restarts (issue 5 acceptance): the
 * page shows that the gateway is unreachable while it is down, then goes
 * live again by itself — no reload — with the node list refilled.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { ensureWebBuilt, launchBrowser, skipUnlessChromium, type TestBrowser } from '../helpers/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { freePort } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';

const skip = skipUnlessChromium();
const WAIT = 30_000; // ms: generous; the backoff tops out at 10 s

describe('web UI: reconnection', { skip }, () => {
  let gw: TestGateway | undefined;
  let sim: TestSim;
  let b: TestBrowser;

  before(async () => {
    ensureWebBuilt();
    gw = await startTestGateway({ http: { port: await freePort() } });
    sim = await startSim(gw, 3);
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    await sim?.stop();
    await gw?.stop();
  });

  test('the UI reconnects after the gateway restarts', async () => {
    const first = gw!;
    const port = new URL(first.url).port;
    const page = b.page;
    const phase = (p: string) => page.locator(`[data-testid="connection-state"][data-phase="${p}"]`);
    await page.goto(`${first.url}/`);
    await phase('open').waitFor({ timeout: WAIT });
    for (const ip of sim.ips) await page.locator(`.node-row[data-ip="${ip}"]`).waitFor({ timeout: WAIT });
    // A marker that a page reload would wipe out.
    await page.evaluate('window.__sporeMarker = 42');

    const udpPort = first.udpPort;
    const nodePort = first.nodePort;
    await first.stop();
    gw = undefined;
    await phase('reconnecting').waitFor({ timeout: WAIT });
    await page.getByTestId('reconnecting-banner').getByText('Gateway unreachable — reconnecting…').waitFor({ timeout: WAIT });
    assert.equal(await page.getByTestId('connection-state').textContent(), 'Reconnecting…');
    await b.screenshot('reconnect-gateway-down');

    gw = await startTestGateway({ http: { port: Number(port) }, udp: { port: udpPort }, nodes: { port: nodePort } });
    await phase('open').waitFor({ timeout: WAIT });
    await page.getByTestId('reconnecting-banner').waitFor({ state: 'detached', timeout: WAIT });
    // The new gateway learns the nodes from their heartbeats; the list follows.
    for (const ip of sim.ips) await page.locator(`.node-row[data-ip="${ip}"][data-status="ACTIVE"]`).waitFor({ timeout: WAIT });
    assert.equal(await page.evaluate('window.__sporeMarker'), 42, 'the page reconnected without reloading');
    await b.screenshot('reconnect-gateway-back');
    assert.deepEqual(b.errors, []);
  });
});
