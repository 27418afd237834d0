/**
 * Firmware the nodes will reject (issue 12 §18), in Chromium against emulated nodes:
 * the upload form reads the version from the image's SPORE-VERSION marker and says why
 * Upload is disabled; the store's refusal names the checkbox (not an API field); an image
 * stored with force is flagged, the dry run and the wizard warn, and the wizard follows the
 * rollout's real state (it fails at once on every node) with the right counts.
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

describe('web UI: firmware the nodes will reject', { skip }, () => {
  const suite = uiSuite({ nodes: 2 });
  before(() => waitFor(async () => (await http(`${suite.gw.url}/api/discovery/nodes`)).body.nodes.length === 2, 'two nodes', WAIT));

  test('the upload form reads the marker, explains a disabled Upload and a refusal; the wizard warns and shows the real outcome', async () => {
    const page = suite.b.page;
    await page.goto(`${suite.gw.url}/firmware`);
    const form = page.getByTestId('firmware-upload');

    // Nothing chosen: the form says why Upload is disabled.
    const upload = form.getByRole('button', { name: 'Upload to the store' });
    assert.equal(await upload.isDisabled(), true);
    assert.match((await form.getByTestId('upload-blockers').textContent()) ?? '', /choose an image file/);

    // A good image whose file name says nothing: the version comes from its marker.
    const good = makeFirmwareImage({ version: '4.2.1', size: 50_000 });
    await page.getByLabel('Firmware image (.bin)').setInputFiles({ name: 'build.bin', mimeType: 'application/octet-stream', buffer: good });
    await waitFor(async () => (await form.getByLabel('Version').inputValue()) === '4.2.1', 'the version from the marker', WAIT);
    await form.getByTestId('version-source').waitFor({ timeout: WAIT });
    assert.equal(await upload.isDisabled(), false);
    await form.getByLabel('Version').fill('');
    assert.match((await form.getByTestId('upload-blockers').textContent()) ?? '', /give a version/);

    // An image that is not an ESP8266 application image (first byte 'P'), with a marker.
    const junk = Buffer.concat([Buffer.from('PK\x03\x04 not an image '), Buffer.from('SPORE-VERSION:9.9.9\0'), Buffer.alloc(4000, 0x41)]);
    await page.getByLabel('Firmware image (.bin)').setInputFiles({ name: 'junk.bin', mimeType: 'application/octet-stream', buffer: junk });
    await waitFor(async () => (await form.getByLabel('Version').inputValue()) === '9.9.9', 'the version of the junk image', WAIT);
    await form.getByTestId('upload-not-esp').getByText(/first byte 0x50/).waitFor({ timeout: WAIT });

    // The checkbox has a normal size.
    const box = await form.getByRole('checkbox', { name: /Force:/ }).boundingBox();
    assert.ok(box && box.width >= 10 && box.width <= 20 && box.height >= 10 && box.height <= 20, `checkbox box ${JSON.stringify(box)}`);

    // Refused without force: the message names the checkbox, not the API's form field.
    await upload.click();
    const result = page.getByTestId('upload-result');
    await result.getByText(/not an ESP8266 application image/).waitFor({ timeout: WAIT });
    const refusal = (await result.textContent()) ?? '';
    assert.match(refusal, /tick “Force”/);
    assert.doesNotMatch(refusal, /force=true|form field/);

    // With force it is stored, and flagged.
    await form.getByRole('checkbox', { name: /Force:/ }).check();
    await upload.click();
    await result.getByText(/Stored build 9\.9\.9.*not an ESP8266 application image/).waitFor({ timeout: WAIT });
    await page.getByTestId('firmware-list').getByText('not an ESP8266 image').waitFor({ timeout: WAIT });
    const stored = ((await http(`${suite.gw.url}/api/firmware`)).body as Array<{ id: string; version: string; espImage: boolean }>).find((f) => f.version === '9.9.9')!;
    assert.equal(stored.espImage, false);

    // The wizard warns as soon as the image is chosen, and in the dry run.
    const wizard = page.getByTestId('rollout-wizard');
    await wizard.getByLabel('Firmware to roll out').selectOption(stored.id);
    await wizard.getByTestId('wizard-not-esp').waitFor({ timeout: WAIT });
    await wizard.getByLabel('Batch size').fill('2');
    // Both nodes are tried (the primary goes last, in its own batch): two failures.
    await wizard.getByLabel('Max failures').fill('1');
    await wizard.getByRole('button', { name: 'Preview (dry run)' }).click();
    await wizard.getByTestId('plan-warnings').getByText(/not an ESP8266 application image.*2 node\(s\) will most likely reject it/).waitFor({ timeout: WAIT });
    assert.equal(suite.sim.uploadsReceived(0) + suite.sim.uploadsReceived(1), 0, 'a dry run sends nothing');

    // Started: both nodes refuse the image at once; the wizard shows the real state and counts.
    await wizard.getByRole('button', { name: 'Start rollout' }).click();
    const message = wizard.locator('[data-testid="wizard-message"][data-status="failed"]');
    await message.waitFor({ timeout: WAIT });
    let shown = '';
    await waitFor(async () => /0\/2 updated, 2 failed/.test((shown = (await message.textContent()) ?? '')), 'the failed counts in the wizard', WAIT).catch((e: Error) => assert.fail(`${e.message} (shows "${shown}")`));
    const history = page.locator('[data-testid="rollout-history"] tr[data-status="failed"]').first();
    await history.waitFor({ timeout: WAIT });
    await waitFor(async () => /0\/2 updated, 2 failed/.test((shown = (await history.textContent()) ?? '')), 'the failed counts in the history', WAIT).catch((e: Error) => assert.fail(`${e.message} (shows "${shown}")`));
    await suite.b.screenshot('rollout-rejected-image');
    assert.deepEqual(suite.b.errors, []);
  });
});
