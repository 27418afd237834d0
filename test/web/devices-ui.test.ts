/**
 * The Devices page in Chromium against the data pipeline (issue 6): an HTTP
 * device the test serves is polled by the pipeline; its values show live on
 * the page from `telemetry/<device>` records, with the connectors and the
 * sinks' backlog gauge. Skipped while the pipeline is not built in.
 */
import { strict as assert } from 'node:assert';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ensureWebBuilt, launchBrowser, skipUnlessChromium, type TestBrowser } from '../helpers/browser.js';
import { http as request, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { freePort, waitFor } from '../helpers/net.js';

const skip = skipUnlessChromium();
const WAIT = 20_000; // ms

describe('web UI: devices', { skip }, () => {
  let server: http.Server;
  let counter = 0;
  let gw: TestGateway | undefined;
  let b: TestBrowser | undefined;

  before(async () => {
    ensureWebBuilt();
    server = http.createServer((_req, res) => {
      counter++;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ main: { temp: 20 + counter / 10, count: counter } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    const pipeline = {
      connectors: [{ id: 'weather', type: 'http', url: `http://127.0.0.1:${port}/weather`, pollMs: 200, device: 'station', channels: { temp: '$.main.temp', count: '$.main.count' } }],
      // A live sink, and an MQTT sink whose broker is down: its backlog grows.
      sinks: [
        { id: 'live', type: 'websocket' },
        { id: 'cloud', type: 'mqtt', url: `mqtt://127.0.0.1:${await freePort()}`, topic: 'telemetry/{gateway}/{device}' },
      ],
    };
    // The pipeline is part of the gateway: a configuration it refuses fails the test here.
    gw = await startTestGateway({ pipeline });
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    await gw?.stop();
    server.close();
  });

  test('devices show their values live, with connectors and the sink backlog', async () => {
    const devices = await request(`${gw!.url}/api/devices`);
    assert.equal(devices.status, 200, `GET /api/devices: ${devices.status} ${devices.text}`);
    const page = b!.page;
    await page.goto(`${gw!.url}/devices`);
    const row = page.locator('.device-row[data-device="station"]');
    await row.waitFor({ timeout: WAIT });
    const countIn = async () => Number(/count=([\d,]+)/.exec((await row.locator('.c-values').textContent()) ?? '')?.[1]?.replace(/,/g, '') ?? NaN);
    const first = await waitFor(async () => {
      const n = await countIn();
      return Number.isFinite(n) ? n : null;
    }, 'a count on the row', WAIT);
    // Live: the value moves on without a reload.
    await waitFor(async () => (await countIn()) > first + 3, 'the count to move on', WAIT);
    await row.click();
    const detail = page.getByTestId('device-detail');
    await detail.locator('tr[data-channel="temp"]').waitFor({ timeout: WAIT });
    await page.getByTestId('connectors').getByText('weather').waitFor({ timeout: WAIT });
    const gauge = page.locator('[data-sink="cloud"] meter');
    await waitFor(async () => Number(await gauge.getAttribute('value')) > 0, 'the cloud sink backlog to show', WAIT);
    await b!.screenshot('devices');
    assert.deepEqual(b!.errors, []);
  });
});
