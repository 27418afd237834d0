/**
 * The Cluster and Node pages in Debian's Chromium against the real gateway
 * and emulated nodes (issue 5 acceptance): the list fills from heartbeats, a
 * killed node turns INACTIVE on screen, the primary changes when chosen in
 * the UI, and a proxy call made through a node's endpoint form shows the
 * node's answer. Each step saves a screenshot to test-artifacts/.
 */
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { skipUnlessChromium } from '../helpers/browser.js';
import { http } from '../helpers/gateway-harness.js';
import { uiSuite } from '../helpers/suites.js';

const skip = skipUnlessChromium();
/** Generous bound for anything the UI should show "soon"; never a timing assertion. */
const WAIT = 20_000; // ms

describe('web UI: cluster and node pages', { skip }, () => {
  const suite = uiSuite({ nodes: 5, sim: { labels: (i) => ({ role: i % 2 ? 'sensor' : 'actuator', site: 'lab' }) } });

  const row = (ip: string) => suite.b.page.locator(`.node-row[data-ip="${ip}"]`);

  test('the node list fills from heartbeats', async () => {
    await suite.b.page.goto(`${suite.gw.url}/`);
    await suite.b.page.getByTestId('connection-state').and(suite.b.page.locator('[data-phase="open"]')).waitFor({ timeout: WAIT });
    for (const ip of suite.sim.ips) await row(ip).and(suite.b.page.locator('[data-status="ACTIVE"]')).waitFor({ timeout: WAIT });
    assert.equal(await suite.b.page.locator('.node-row').count(), 5);
    for (let i = 0; i < 5; i++) {
      const r = row(suite.sim.ips[i]!);
      assert.equal(await r.getAttribute('data-hostname'), suite.sim.hostnames[i]);
      await r.getByText(i % 2 ? 'role=sensor' : 'role=actuator').waitFor({ timeout: WAIT });
    }
    // Free heap and latency arrive with the primary's member list.
    await suite.b.page.locator('.node-row .c-num', { hasText: 'KiB' }).first().waitFor({ timeout: WAIT });
    assert.equal(await suite.b.page.getByTestId('node-count').textContent(), '5');
    await suite.b.screenshot('cluster-list-filled');
    assert.deepEqual(suite.b.errors, []);
  });

  test('a killed node turns INACTIVE on screen', async () => {
    const victim = 3;
    suite.sim.kill(victim);
    await row(suite.sim.ips[victim]!).and(suite.b.page.locator('[data-status="INACTIVE"]')).waitFor({ timeout: WAIT });
    assert.equal(await row(suite.sim.ips[victim]!).locator('.status').textContent(), 'INACTIVE');
    // The others stay ACTIVE.
    for (const i of [0, 1, 2, 4]) assert.equal(await row(suite.sim.ips[i]!).getAttribute('data-status'), 'ACTIVE');
    await suite.b.screenshot('cluster-node-inactive');
    // Filter by status shows it alone.
    await suite.b.page.getByLabel('Filter by status').selectOption('INACTIVE');
    await suite.b.page.locator('.node-row').first().waitFor({ timeout: WAIT });
    assert.equal(await suite.b.page.locator('.node-row').count(), 1);
    await suite.b.page.getByLabel('Filter by status').selectOption('');
  });

  test('the primary changes when chosen in the UI', async () => {
    const before = (await http(`${suite.gw.url}/api/discovery/nodes`)).body.primaryNode as string;
    const target = suite.sim.ips.find((ip, i) => ip !== before && i !== 3)!;
    const hostname = suite.sim.hostnames[suite.sim.ips.indexOf(target)]!;
    await row(target).getByRole('button', { name: `Make ${hostname} the primary node` }).click();
    await row(target).and(suite.b.page.locator('[data-primary="true"]')).waitFor({ timeout: WAIT });
    await row(target).getByText('primary', { exact: true }).waitFor({ timeout: WAIT });
    assert.equal(await row(before).getAttribute('data-primary'), 'false');
    assert.equal((await http(`${suite.gw.url}/api/discovery/nodes`)).body.primaryNode, target);
    await suite.b.page.getByTestId('primary-node').getByText(target, { exact: false }).waitFor({ timeout: WAIT });
    await suite.b.screenshot('cluster-primary-chosen');
  });

  test('a proxy call through a node endpoint form shows the node answer', async () => {
    const i = 1;
    const ip = suite.sim.ips[i]!;
    // Open the node from the list with the keyboard-free path: its link.
    await row(ip).getByRole('link', { name: suite.sim.hostnames[i]! }).click();
    await suite.b.page.waitForURL(`**/nodes/${ip}`);
    const form = suite.b.page.locator('form.endpoint[data-method="POST"][data-uri="/api/led"]');
    await form.waitFor({ timeout: WAIT });
    await form.getByLabel('color').fill('#00ff00');
    await form.getByLabel('brightness').fill('128');
    await form.getByRole('button', { name: 'Call POST /api/led' }).click();
    const answer = form.getByTestId('proxy-answer');
    await answer.waitFor({ timeout: WAIT });
    assert.equal(await answer.getAttribute('data-status'), '200');
    const text = (await answer.locator('pre').textContent()) ?? '';
    const body = JSON.parse(text) as { success: boolean; color: string; brightness: number };
    assert.deepEqual({ success: body.success, color: body.color, brightness: body.brightness }, { success: true, color: '#00ff00', brightness: 128 });
    // The node itself changed: the answer is the node's, not the UI's.
    assert.equal(suite.sim.node(i).model.led.color, '#00ff00');
    assert.equal(suite.sim.node(i).model.led.brightness, 128);
    await answer.scrollIntoViewIfNeeded();
    await suite.b.screenshot('node-proxy-call');

    // A GET form shows the node's state read back.
    const get = suite.b.page.locator('form.endpoint[data-method="GET"][data-uri="/api/led"]');
    await get.getByRole('button', { name: 'Call GET /api/led' }).click();
    await get.getByTestId('proxy-answer').getByText('"#00ff00"').waitFor({ timeout: WAIT });
    assert.deepEqual(suite.b.errors, []);
  });
});
