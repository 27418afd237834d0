/**
 * The Devices page with field-bus devices (issue 13 §5): the demo's emulated field devices (a
 * Modbus RTU energy meter behind an emulated serial device server, an M-Bus heat meter, both on
 * TCP, the pipeline `npm run demo` uses) plus one RTU unit configured that nothing answers. In
 * Chromium: every channel carries its unit, every device its own state (ok / failing, why).
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { DemoFieldDevices } from '../../emulator/fieldbus/field-devices.js';
import { ensureWebBuilt, launchBrowser, skipUnlessChromium, type TestBrowser } from '../helpers/browser.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';

const WAIT = 30_000; // ms

describe('web UI: field-bus devices with units and per-device state', { skip: skipUnlessChromium() }, () => {
  let field: DemoFieldDevices;
  let gw: TestGateway;
  let b: TestBrowser;

  before(async () => {
    ensureWebBuilt();
    field = new DemoFieldDevices();
    await field.start();
    const pipeline = field.pipeline() as { connectors: Array<Record<string, any>> };
    const rtu = pipeline.connectors[0]!;
    rtu.pollMs = 300;
    rtu.devices.push({ id: 'ghost-meter', unitId: 9, channels: [{ name: 'power', address: 0, type: 'float32', unit: 'W' }] });
    pipeline.connectors[1]!.pollMs = 500;
    gw = await startTestGateway({ pipeline });
    b = await launchBrowser();
  });

  after(async () => {
    await b?.close();
    await gw?.stop();
    await field?.stop();
  });

  test('the RTU meter and the M-Bus heat meter show values with units; the silent unit shows failing', async () => {
    const page = b.page;
    await page.goto(`${gw.url}/devices`);
    const row = (id: string) => page.locator(`.device-row[data-device="${id}"]`);
    await row('energy-meter').locator('[data-health="ok"]').waitFor({ timeout: WAIT });
    await row('heat-meter').locator('[data-health="ok"]').waitFor({ timeout: WAIT });
    await row('ghost-meter').locator('[data-health="failing"]').waitFor({ timeout: WAIT });
    const values = async (id: string) => (await row(id).locator('.c-values').textContent()) ?? '';
    assert.match(await values('energy-meter'), /power=[\d.,]+ W · energy=[\d,]+ Wh · voltage=[\d.,]+ V/);
    assert.match(await values('heat-meter'), /energy=[\d,]+ Wh · volume=[\d.,]+ m³ · flowTemp=65\.4 °C · returnTemp=42\.1 °C · power=[\d,]+ W · flow=[\d.,]+ m³\/h/);
    assert.match((await row('ghost-meter').locator('[data-health="failing"]').getAttribute('title')) ?? '', /unit 9: no answer within 500 ms/, 'why, on hover');

    await row('heat-meter').click();
    const detail = page.getByTestId('device-detail');
    await detail.getByText('heat-meter').waitFor({ timeout: WAIT });
    assert.equal((await detail.getByTestId('device-health').textContent())?.trim(), 'device ok');
    assert.equal((await detail.locator('tr[data-channel="flowTemp"] .unit').textContent())?.trim(), '°C');
    assert.equal((await detail.locator('tr[data-channel="volume"] .unit').textContent())?.trim(), 'm³');

    await row('ghost-meter').click();
    await page.getByTestId('device-detail').getByText('ghost-meter').waitFor({ timeout: WAIT });
    assert.match((await page.getByTestId('device-health').textContent()) ?? '', /device failing \(\d+× unit 9: no answer within 500 ms/);
    await b.screenshot('fieldbus-devices');
    assert.deepEqual(b.errors, []);
  });
});
