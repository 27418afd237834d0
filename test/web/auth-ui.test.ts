/**
 * The UI on a gateway with API keys (docs/security.md): the page itself
 * loads, asks for a key when the API answers 401, then works — REST with
 * `Authorization: Bearer`, the WebSocket with `?token=` — including an admin
 * action.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { skipUnlessChromium } from '../helpers/browser.js';
import { http } from '../helpers/gateway-harness.js';
import { uiSuite } from '../helpers/suites.js';

const skip = skipUnlessChromium();
const WAIT = 20_000; // ms
const ADMIN_KEY = 'ui-test-admin-key-0123456789';

describe('web UI: API keys', { skip }, () => {
  const suite = uiSuite({ nodes: 3, config: { auth: { apiKeys: [{ name: 'ui-admin', key: ADMIN_KEY, scope: 'admin' }], protectReads: true } } });

  test('asks for a key, then shows the cluster live and allows admin actions', async () => {
    const page = suite.b.page;
    await page.goto(`${suite.gw.url}/`);
    const banner = page.getByTestId('api-key-banner');
    await banner.waitFor({ timeout: WAIT });
    assert.equal(await page.locator('.node-row').count(), 0);
    await suite.b.screenshot('auth-key-asked');

    await banner.getByLabel('API key').fill(ADMIN_KEY);
    await banner.getByRole('button', { name: 'Use key' }).click();
    await banner.waitFor({ state: 'detached', timeout: WAIT });
    for (const ip of suite.sim.ips) await page.locator(`.node-row[data-ip="${ip}"]`).waitFor({ timeout: WAIT });
    await page.locator('[data-testid="connection-state"][data-phase="open"]').waitFor({ timeout: WAIT });

    // An admin call with the key.
    const before = (await http(`${suite.gw.url}/api/discovery/nodes`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).body.primaryNode as string;
    const target = suite.sim.ips.find((ip) => ip !== before)!;
    await page.locator(`.node-row[data-ip="${target}"]`).getByRole('button', { name: /Make .* the primary node/ }).click();
    await page.locator(`.node-row[data-ip="${target}"][data-primary="true"]`).waitFor({ timeout: WAIT });
    assert.equal((await http(`${suite.gw.url}/api/discovery/nodes`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).body.primaryNode, target);

    // The key survives a reload (kept in this browser), and the WebSocket uses it.
    await page.reload();
    for (const ip of suite.sim.ips) await page.locator(`.node-row[data-ip="${ip}"]`).waitFor({ timeout: WAIT });
    await page.locator('[data-testid="connection-state"][data-phase="open"]').waitFor({ timeout: WAIT });
    assert.equal(await page.getByTestId('api-key-banner').count(), 0);
    await suite.b.screenshot('auth-key-accepted');
    assert.deepEqual(suite.b.errors, []);
  });
});
