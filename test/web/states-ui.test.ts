/**
 * Empty, "not enabled" and error states; keyboard use, labelled controls and
 * the dark theme (issue 5).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { launchBrowser, skipUnlessChromium } from '../helpers/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { uiSuite } from '../helpers/suites.js';

const skip = skipUnlessChromium();
const WAIT = 20_000; // ms

/** Controls with no accessible name (no label, aria-label, aria-labelledby, text or title). */
const UNLABELLED = `[...document.querySelectorAll('input, select, textarea, button')]
  .filter((el) => el.type !== 'hidden' && el.offsetParent !== null)
  .filter((el) => !(el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.labels && el.labels.length) || (el.tagName === 'BUTTON' && el.textContent.trim()) || el.title))
  .map((el) => el.outerHTML.slice(0, 120))`;

describe('web UI: states, keyboard, labels, themes', { skip }, () => {
  const suite = uiSuite({ nodes: 3 });
  /** A gateway no node talks to. */
  let empty: TestGateway;
  before(async () => {
    empty = await startTestGateway();
  });
  after(async () => {
    await empty?.stop();
  });

  test('no nodes yet: the page says how to start the emulator', async () => {
    await suite.b.page.goto(`${empty.url}/`);
    const state = suite.b.page.getByTestId('no-nodes');
    await state.waitFor({ timeout: WAIT });
    const command = (await suite.b.page.getByTestId('sim-command').textContent()) ?? '';
    assert.match(command, /^npx spore-sim -count 5 -http-port <node-port>/);
    assert.match(command, new RegExp(`-udp-port ${empty.udpPort}$`), 'the gateway listens on a non-default UDP port: the command says so');
    await state.getByText(/firewall/).waitFor();
    await suite.b.screenshot('state-no-nodes');
  });

  test('pages whose backend is absent say so instead of failing', async () => {
    for (const path of ['/firmware', '/devices', '/events']) {
      await suite.b.page.goto(`${empty.url}${path}`);
      await suite.b.page.locator('main h1').waitFor({ timeout: WAIT });
      // Either the feature is there (its own content) or a clear "not enabled" panel — never an error box.
      await suite.b.page.locator('[data-testid="not-enabled"], [data-testid="firmware-upload"], .page-devices, [data-testid="mqtt-panel"]').first().waitFor({ timeout: WAIT });
      assert.equal(await suite.b.page.locator('.state-error').count(), 0, `${path} shows an error`);
    }
    await suite.b.page.goto(`${empty.url}/devices`);
    await suite.b.page.locator('[data-testid="not-enabled"], .page-devices').first().waitFor({ timeout: WAIT });
    await suite.b.screenshot('state-devices');
    await suite.b.page.goto(`${empty.url}/no/such/page`);
    await suite.b.page.getByRole('heading', { name: 'Page not found' }).waitFor({ timeout: WAIT });
  });

  test('the node list is usable with the keyboard alone', async () => {
    const page = suite.b.page;
    await page.goto(`${suite.gw.url}/`);
    for (const ip of suite.sim.ips) await page.locator(`.node-row[data-ip="${ip}"]`).waitFor({ timeout: WAIT });
    // Tab from the top of the page to the list.
    let reached = false;
    for (let i = 0; i < 40 && !reached; i++) {
      await page.keyboard.press('Tab');
      reached = (await page.evaluate(`document.activeElement?.classList.contains('vlist-viewport') ?? false`)) as boolean;
    }
    assert.ok(reached, 'Tab reaches the node list');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    const active = page.locator('.vrow.active .node-row');
    const ip = await active.getAttribute('data-ip');
    assert.equal(ip, suite.sim.ips[1], 'the second row (sorted by hostname) is active');
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/nodes/${ip}`);
    await page.getByRole('heading', { level: 1 }).getByText(suite.sim.hostnames[1]!).waitFor({ timeout: WAIT });
  });

  test('every visible control has a label', async () => {
    const page = suite.b.page;
    for (const path of ['/', `/nodes/${suite.sim.ips[0]}`, '/events', '/firmware', '/devices']) {
      await page.goto(`${suite.gw.url}${path}`);
      await page.locator('main h1').waitFor({ timeout: WAIT });
      await page.waitForLoadState('networkidle').catch(() => undefined);
      if (path.startsWith('/nodes/')) await page.locator('form.endpoint').first().waitFor({ timeout: WAIT });
      const missing = (await page.evaluate(UNLABELLED)) as string[];
      assert.deepEqual(missing, [], `unlabelled controls on ${path}`);
    }
  });

  test('readable in dark mode', async () => {
    const dark = await launchBrowser({ colorScheme: 'dark' });
    try {
      await dark.page.goto(`${suite.gw.url}/`);
      await dark.page.locator('.node-row').first().waitFor({ timeout: WAIT });
      const [bg, fg] = (await dark.page.evaluate(`[getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color]`)) as [string, string];
      const lum = (rgb: string) => {
        const [r, g, b2] = rgb.match(/\d+/g)!.map(Number).map((v) => v / 255);
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b2!;
      };
      assert.ok(lum(bg) < 0.15, `dark background, got ${bg}`);
      assert.ok(lum(fg) > 0.7, `light text, got ${fg}`);
      await dark.screenshot('cluster-dark');
    } finally {
      await dark.close();
    }
  });
});
