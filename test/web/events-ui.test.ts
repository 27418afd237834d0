/**
 * The Events page in Chromium (issue 5 acceptance): cluster events stream
 * live with MQTT-wildcard topic filters and pause; an MQTT message published
 * by mosquitto_pub (to a Mosquitto the test starts) appears in the stream,
 * binary payloads as hex, with the bridge's connection state shown.
 */
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { ensureWebBuilt, launchBrowser, skipUnlessChromium, type TestBrowser } from '../helpers/browser.js';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { Mosquitto, MOSQUITTO, MOSQUITTO_PUB } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { uiSuite } from '../helpers/suites.js';

const run = promisify(execFile);
const WAIT = 20_000; // ms
const skipBrowser = skipUnlessChromium();

describe('web UI: events stream', { skip: skipBrowser }, () => {
  const suite = uiSuite({ nodes: 2 });

  test('cluster events stream live, filtered by MQTT wildcards, pausable, shown as pretty JSON', async () => {
    const page = suite.b.page;
    await page.goto(`${suite.gw.url}/events`);
    await page.locator('[data-testid="connection-state"][data-phase="open"]').waitFor({ timeout: WAIT });
    const rows = (topic: string) => page.locator(`.event-row[data-topic="${topic}"]`);

    await suite.sim.sendEvent(0, 'ui-test', { reading: 21.5, nested: { ok: true } });
    await rows('cluster/event').first().waitFor({ timeout: WAIT });

    // A filter that excludes it, then wildcards that include it.
    const filter = page.getByTestId('topic-filter');
    // The box applies what is typed after a short pause; wait until the page says it applied it.
    const applied = (text: string) => page.locator(`[data-testid="events-layout"][data-filter="${text}"]`).waitFor({ timeout: WAIT });
    await filter.fill('node/#');
    await applied('node/#');
    await rows('cluster/event').first().waitFor({ state: 'detached', timeout: WAIT });
    await filter.fill('cluster/+');
    await applied('cluster/+');
    await rows('cluster/event').first().waitFor({ timeout: WAIT });
    await filter.fill('cluster/#');
    await applied('cluster/#');
    await rows('cluster/event').first().waitFor({ timeout: WAIT });
    assert.equal(await rows('node/discovery').count(), 0);

    // Pause: new events are counted, not shown, until resumed.
    const shownBefore = await rows('cluster/event').count();
    await page.getByTestId('pause').click();
    await suite.sim.sendEvent(1, 'while-paused', { n: 2 });
    await page.getByRole('button', { name: /Resume \(1 new\)/ }).waitFor({ timeout: WAIT });
    assert.equal(await rows('cluster/event').count(), shownBefore);
    // Changing the filter while paused re-filters the frozen view, without the new event.
    await filter.fill('cluster/event');
    await applied('cluster/event');
    assert.equal(await rows('cluster/event').count(), shownBefore);
    await page.getByRole('button', { name: /Resume \(1 new\)/ }).waitFor({ timeout: WAIT });
    await page.getByTestId('pause').click();
    await waitFor(async () => (await rows('cluster/event').count()) === shownBefore + 1, 'the paused event to show after resuming', WAIT);

    // Details: the message as pretty JSON.
    await rows('cluster/event').first().click();
    const detail = page.getByTestId('event-detail');
    await detail.waitFor({ timeout: WAIT });
    const text = (await detail.locator('pre').last().textContent()) ?? '';
    const shown = JSON.parse(text) as { event: string; data: unknown; nodeIp: string; topic: string };
    assert.equal(shown.topic, 'cluster/event');
    assert.equal(shown.event, 'ui-test');
    assert.deepEqual(shown.data, { reading: 21.5, nested: { ok: true } });
    assert.equal(shown.nodeIp, suite.sim.ips[0]);
    assert.match(text, /\n {2}"event": "ui-test"/, 'indented JSON');
    await suite.b.screenshot('events-cluster');
    assert.deepEqual(suite.b.errors, []);
  });
});

const skipMqtt = skipBrowser || skipUnlessPeer('mosquitto', MOSQUITTO !== undefined && MOSQUITTO_PUB !== undefined);

describe('web UI: MQTT messages in the event stream', { skip: skipMqtt }, () => {
  let broker: Mosquitto | undefined;
  let gw: TestGateway | undefined;
  let b: TestBrowser | undefined;

  before(async () => {
    ensureWebBuilt();
    broker = await Mosquitto.start();
    gw = await startTestGateway({ mqtt: { url: `tcp://127.0.0.1:${broker.port}` } });
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    await gw?.stop();
    await broker?.destroy('SIGTERM');
  });

  test('an MQTT message published by mosquitto_pub appears in the event stream', async () => {
    // The bridge was configured: "disabled" here means it is missing, and that fails the test.
    const health = await http(`${gw!.url}/api/health`);
    const bridge = health.body?.components?.mqtt?.status;
    assert.ok(bridge !== undefined && bridge !== 'disabled', `health shows the configured MQTT bridge: ${health.text}`);
    const page = b!.page;
    await page.goto(`${gw!.url}/events`);
    await page.locator('[data-testid="connection-state"][data-phase="open"]').waitFor({ timeout: WAIT });
    await page.locator('[data-testid="mqtt-state"]', { hasText: 'connected' }).waitFor({ timeout: WAIT });

    const topic = 'spore-ui-test/kitchen/temperature';
    const rows = (tp: string) => page.locator(`.event-row[data-topic="${tp}"][data-source="mqtt"]`);
    await page.getByTestId('topic-filter').fill('spore-ui-test/+/temperature spore-ui-test/bin/#');
    // Publish until the bridge's subscription is in place (it may still be subscribing).
    await waitFor(
      async () => {
        await run(MOSQUITTO_PUB!, [...broker!.clientArgs(), '-t', topic, '-m', '{"t":21.5,"unit":"C"}']);
        return (await rows(topic).count()) > 0;
      },
      'the MQTT message in the event stream',
      WAIT,
      500,
    );
    await rows(topic).first().click();
    const payload = page.getByTestId('event-payload');
    await payload.waitFor({ timeout: WAIT });
    assert.deepEqual(JSON.parse((await payload.textContent()) ?? ''), { t: 21.5, unit: 'C' });

    // A binary payload (not UTF-8) arrives base64 and shows as hex.
    const binFile = join(broker!.dir, 'payload.bin');
    await writeFile(binFile, Buffer.from([0x00, 0xff, 0xfe, 0x41, 0x80]));
    await run(MOSQUITTO_PUB!, [...broker!.clientArgs(), '-t', 'spore-ui-test/bin/raw', '-f', binFile]);
    await rows('spore-ui-test/bin/raw').first().waitFor({ timeout: WAIT });
    await rows('spore-ui-test/bin/raw').first().click();
    const hex = page.getByTestId('event-hex');
    await hex.waitFor({ timeout: WAIT });
    assert.match((await hex.textContent()) ?? '', /00 ff fe 41 80/);
    // The statistics (GET /api/mqtt/stats) unfold under the connection line.
    await page.getByTestId('mqtt-panel').locator('summary').click();
    await page.getByTestId('mqtt-stats').waitFor({ timeout: WAIT });
    await b!.screenshot('events-mqtt');
    assert.deepEqual(b!.errors, []);
  });
});
