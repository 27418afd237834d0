/**
 * Firmware in Chromium (issue 5 acceptance): a single node updated from its
 * page with a live progress bar, and a firmware image uploaded through the
 * UI's store and rolled out to emulated nodes with live per-node progress to
 * success (the rollout part needs the firmware store of issue 4).
 */
import { strict as assert } from 'node:assert';
import { before, describe, test } from 'node:test';
import { makeFirmwareImage } from '../../emulator/index.js';
import { skipUnlessChromium } from '../helpers/browser.js';
import { http } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { uiSuite } from '../helpers/suites.js';

const skip = skipUnlessChromium();
const WAIT = 30_000; // ms

/** Records every value an attribute takes on matching elements, in the page (so no state is missed between polls). */
const RECORDER = `(() => {
  window.__seen = {};
  const note = (el) => {
    const key = el.getAttribute('data-ip') || el.getAttribute('data-testid') || '?';
    const v = el.getAttribute('data-state') || el.getAttribute('data-status');
    if (!v) return;
    const list = (window.__seen[key] = window.__seen[key] || []);
    if (list[list.length - 1] !== v) list.push(v);
  };
  const scan = () => document.querySelectorAll('[data-testid="node-update-progress"], [data-testid="rollout-nodes"] tr[data-ip], [data-testid="rollout"]').forEach(note);
  new MutationObserver(scan).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-status'] });
  scan();
})()`;

describe('web UI: firmware', { skip }, () => {
  // Slow flash writes so progress has steps to show; labels for the rollout's selector.
  const suite = uiSuite({ nodes: 4, sim: { flashBytesPerSec: 400_000, flashChipSize: 4 * 1024 * 1024, labels: (i) => ({ role: i < 3 ? 'sensor' : 'actuator' }) } });
  before(() => waitFor(async () => (await http(`${suite.gw.url}/api/discovery/nodes`)).body.nodes.length === 4, 'four nodes', WAIT));

  test("a node's firmware is updated from its page with a progress bar", async () => {
    const i = 3;
    const ip = suite.sim.ips[i]!;
    const page = suite.b.page;
    await page.goto(`${suite.gw.url}/nodes/${ip}`);
    await page.evaluate(RECORDER);
    const image = makeFirmwareImage({ version: '1.5.0', size: 300_000 });
    await page.getByLabel('Firmware image for this node').setInputFiles({ name: 'spore-1.5.0.bin', mimeType: 'application/octet-stream', buffer: image });
    await page.getByRole('button', { name: `Update ${suite.sim.hostnames[i]}` }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Update', exact: true }).click();
    const progress = page.getByTestId('node-update-progress');
    await page.locator('[data-testid="node-update-progress"][data-status="succeeded"], [data-testid="node-update-progress"][data-status="verified"]').waitFor({ timeout: WAIT });
    assert.equal(await progress.getByRole('progressbar').getAttribute('aria-valuenow'), '100');
    const seen = (await page.evaluate('window.__seen["node-update-progress"]')) as string[];
    // The bar moved through upload progress before success (messages of one frame are shown once, so 'started' may be folded in).
    assert.ok(seen.includes('progress'), `states seen: ${seen.join(' → ')}`);
    assert.ok(seen.indexOf('progress') < seen.indexOf('succeeded') || !seen.includes('succeeded'), `states seen: ${seen.join(' → ')}`);
    await page.getByRole('status').getByText(/accepted the image \(/).waitFor({ timeout: WAIT });
    await suite.b.screenshot('node-firmware-update');
    // The node really got the image and reboots into it.
    assert.equal(suite.sim.uploadsReceived(i), 1);
    await waitFor(() => suite.sim.node(i).version === '1.5.0', 'the node to run 1.5.0', WAIT);
    assert.deepEqual(suite.b.errors, []);
  });

  test('a firmware uploaded through the UI rolls out to emulated nodes with live progress to success', async () => {
    const store = await http(`${suite.gw.url}/api/firmware`);
    assert.equal(store.status, 200, `GET /api/firmware: ${store.status} ${store.text}`);
    const page = suite.b.page;
    await page.goto(`${suite.gw.url}/firmware`);
    await page.evaluate(RECORDER);

    // 1. Upload to the store; name and version are guessed from the file name.
    const image = makeFirmwareImage({ version: '2.0.0', size: 200_000 });
    await page.getByLabel('Firmware image (.bin)').setInputFiles({ name: 'spore-node-2.0.0.bin', mimeType: 'application/octet-stream', buffer: image });
    const form = page.getByTestId('firmware-upload');
    assert.equal(await form.getByLabel('Name').inputValue(), 'spore-node');
    assert.equal(await form.getByLabel('Version').inputValue(), '2.0.0');
    await form.getByRole('button', { name: 'Upload to the store' }).click();
    await page.getByTestId('upload-result').getByText(/Stored spore-node 2\.0\.0/).waitFor({ timeout: WAIT });
    await page.getByTestId('firmware-list').getByText('2.0.0').waitFor({ timeout: WAIT });

    // 2. The wizard: label selector, batches of 2, dry run first.
    const wizard = page.getByTestId('rollout-wizard');
    const stored = ((await http(`${suite.gw.url}/api/firmware`)).body as Array<{ id: string; name: string; version: string }>).find((f) => f.version === '2.0.0');
    assert.equal(stored?.name, 'spore-node');
    await wizard.getByLabel('Firmware to roll out').selectOption(stored!.id);
    await wizard.getByLabel(/Label selector/).fill('role=sensor');
    await wizard.getByTestId('wizard-match').getByText('3 known node(s) match now.').waitFor({ timeout: WAIT });
    await wizard.getByLabel('Batch size').fill('2');
    await wizard.getByLabel('Max failures').fill('0');
    await wizard.getByLabel('Boot timeout (s)').fill('20');
    await wizard.getByRole('button', { name: 'Preview (dry run)' }).click();
    const plan = page.getByTestId('rollout-plan');
    await plan.waitFor({ timeout: WAIT });
    assert.match((await plan.textContent()) ?? '', /3 node\(s\) would be updated/);
    assert.equal(suite.sim.uploadsReceived(0) + suite.sim.uploadsReceived(1) + suite.sim.uploadsReceived(2), 0, 'a dry run touches nothing');
    await suite.b.screenshot('rollout-dry-run');

    // 3. Start it and watch it live.
    await wizard.getByRole('button', { name: 'Start rollout' }).click();
    const card = page.getByTestId('rollout').first();
    await card.waitFor({ timeout: WAIT });
    await card.locator('tr[data-state="uploading"], tr[data-state="rebooting"], tr[data-state="verifying"]').first().waitFor({ timeout: WAIT });
    await suite.b.screenshot('rollout-running');
    // Finished rollouts move to the history.
    const done = page.locator('[data-testid="rollout-history"] tr[data-status="succeeded"]');
    await done.first().waitFor({ timeout: 90_000 });
    await done.first().getByRole('button', { name: 'Details' }).click();
    const nodes = page.locator('[data-testid="rollout-history"] [data-testid="rollout-nodes"] tr[data-ip]');
    assert.equal(await nodes.count(), 3);
    for (const state of await nodes.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-state')))) assert.equal(state, 'succeeded');
    // Live progress: each node was seen in flight before it succeeded.
    const seen = (await page.evaluate('window.__seen')) as Record<string, string[]>;
    for (const i of [0, 1, 2]) {
      const states = seen[suite.sim.ips[i]!] ?? [];
      assert.equal(states.at(-1), 'succeeded', `${suite.sim.ips[i]}: ${states.join(' → ')}`);
      assert.ok(states.some((s) => ['uploading', 'rebooting', 'verifying'].includes(s)), `${suite.sim.ips[i]}: ${states.join(' → ')}`);
    }
    await suite.b.screenshot('rollout-succeeded');
    for (const i of [0, 1, 2]) assert.equal(suite.sim.node(i).version, '2.0.0');
    assert.notEqual(suite.sim.node(3).version, '2.0.0', 'the actuator was not targeted');
    assert.deepEqual(suite.b.errors, []);
  });

  test('a running rollout is paused, resumed and cancelled from the UI', async () => {
    const store = await http(`${suite.gw.url}/api/firmware`);
    assert.equal(store.status, 200, `GET /api/firmware: ${store.status} ${store.text}`);
    const page = suite.b.page;
    // A bigger image (about 2.5 s per node at the emulator's 400 kB/s), one node per batch.
    const form = new FormData();
    form.append('name', 'spore-node');
    form.append('version', '3.0.0');
    form.append('file', new Blob([makeFirmwareImage({ version: '3.0.0', size: 1_000_000 })]), 'spore-node-3.0.0.bin');
    const stored = await fetch(`${suite.gw.url}/api/firmware`, { method: 'POST', body: form });
    assert.equal(stored.status, 201);
    const fw = (await stored.json()) as { id: string };

    await page.goto(`${suite.gw.url}/firmware`);
    const wizard = page.getByTestId('rollout-wizard');
    await wizard.getByLabel('Firmware to roll out').selectOption(fw.id);
    await wizard.getByLabel(/Label selector/).fill('role=sensor');
    await wizard.getByLabel('Batch size').fill('1');
    await wizard.getByRole('button', { name: 'Start rollout' }).click();
    const card = page.getByTestId('rollout').first();
    await card.waitFor({ timeout: WAIT });
    const id = await card.getAttribute('data-rollout-id');
    const cardById = page.locator(`[data-testid="rollout"][data-rollout-id="${id}"]`);

    await cardById.getByRole('button', { name: 'Pause' }).click();
    await page.locator(`[data-testid="rollout"][data-rollout-id="${id}"][data-status="paused"]`).waitFor({ timeout: WAIT });
    await suite.b.screenshot('rollout-paused');
    assert.equal((await http(`${suite.gw.url}/api/rollouts/${id}`)).body.status, 'paused');

    await cardById.getByRole('button', { name: 'Resume' }).click();
    await page.locator(`[data-testid="rollout"][data-rollout-id="${id}"][data-status="running"]`).waitFor({ timeout: WAIT });

    await cardById.getByRole('button', { name: 'Cancel…' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Cancel rollout' }).click();
    await page.locator(`[data-testid="rollout-history"] tr[data-rollout-id="${id}"][data-status="cancelled"]`).waitFor({ timeout: 60_000 });
    assert.equal((await http(`${suite.gw.url}/api/rollouts/${id}`)).body.status, 'cancelled');
    await suite.b.screenshot('rollout-cancelled');
    assert.deepEqual(suite.b.errors, []);
  });
});
