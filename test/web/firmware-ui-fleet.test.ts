/**
 * Issue 17 §8 in Chromium: the wizard's "When" fields start a scheduled rollout,
 * shown with its countdown; a finished rollout offers retry and roll back, and
 * rolling back from the UI starts the rollback.
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

async function store(url: string, version: string, seed: number): Promise<string> {
  const form = new FormData();
  form.append('name', 'ui17');
  form.append('version', version);
  form.append('file', new Blob([makeFirmwareImage({ version, size: 16 * 1024, seed })]), `ui17-${version}.bin`);
  const res = await fetch(`${url}/api/firmware`, { method: 'POST', body: form });
  assert.equal(res.status, 201);
  return ((await res.json()) as { id: string }).id;
}

describe('web UI: scheduled rollouts, retry and rollback (issue 17 §8)', { skip }, () => {
  const suite = uiSuite({ nodes: 2, config: { firmware: { verifyPollIntervalMs: 100 } }, sim: { labels: { fleet: 'ui17' } } });
  before(() => waitFor(async () => (await http(`${suite.gw.url}/api/discovery/nodes`)).body.nodes.filter((n: any) => n.labels?.fleet === 'ui17').length === 2, 'two nodes', WAIT));

  test('a window from the wizard schedules the rollout with a countdown; a finished one is rolled back from the history', async () => {
    const v15 = await store(suite.gw.url, '1.5.0', 15);
    const v2 = await store(suite.gw.url, '2.0.0', 20);
    const page = suite.b.page;
    await page.goto(`${suite.gw.url}/firmware`);
    const wizard = page.getByTestId('rollout-wizard');
    await wizard.getByLabel('Firmware to roll out').selectOption(v2);
    await wizard.getByLabel(/Label selector/).fill('fleet=ui17');
    await wizard.getByLabel('Maintenance window').fill('someday 02:00');
    assert.equal(await wizard.getByRole('button', { name: 'Start rollout' }).isDisabled(), true, 'a bad window is explained, not sent');
    await wizard.getByLabel('Start at (empty = now)').fill('2099-01-01T00:00');
    await wizard.getByLabel('Maintenance window').fill('sat,sun 02:00-05:00 UTC');
    await wizard.getByRole('button', { name: 'Start rollout' }).click();
    const card = page.locator('[data-testid="rollout"][data-status="scheduled"]');
    await card.waitFor({ timeout: WAIT });
    assert.match((await card.getByTestId('rollout-countdown').textContent()) ?? '', /starts in \d+ d/);
    const id = await card.getAttribute('data-rollout-id');
    const rec = (await http(`${suite.gw.url}/api/rollouts/${id}`)).body;
    assert.deepEqual(rec.window, { days: ['sat', 'sun'], from: '02:00', to: '05:00', timezone: 'UTC' });
    assert.equal(rec.status, 'scheduled');
    await suite.b.screenshot('rollout-scheduled');
    assert.equal((await http(`${suite.gw.url}/api/rollouts/${id}/cancel`, { method: 'POST' })).status, 200);

    // Two finished rollouts (1.5.0, then 2.0.0); the second is rolled back from the UI.
    for (const fw of [v15, v2]) {
      const r = await http(`${suite.gw.url}/api/rollouts`, { body: { firmwareId: fw, target: { labels: { fleet: 'ui17' } }, batchSize: 2, bootTimeoutSec: 10 } });
      assert.equal(r.status, 201, r.text);
      await waitFor(async () => (await http(`${suite.gw.url}/api/rollouts/${r.body.id}`)).body.status === 'succeeded', 'rollout done', WAIT);
    }
    const latest = (await http(`${suite.gw.url}/api/rollouts?status=succeeded`)).body[0];
    await page.reload();
    const row = page.locator(`[data-testid="rollout-history"] tr[data-rollout-id="${latest.id}"]`);
    await row.waitFor({ timeout: WAIT });
    await row.getByRole('button', { name: 'Roll back' }).click();
    await waitFor(async () => (await http(`${suite.gw.url}/api/rollouts/${latest.id}`)).body.rollbackId, 'rollback started from the UI', WAIT);
    await waitFor(() => suite.sim.cluster.nodes.every((n) => n.version === '1.5.0'), 'nodes back on 1.5.0', WAIT);
  });
});
