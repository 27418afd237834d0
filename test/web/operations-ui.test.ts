/**
 * Running the gateway from the browser (issue 15), in Chromium: a Modbus
 * connector added through Settings against a pymodbus peer (tested, saved,
 * its device on the Devices page with values, still there after a restart
 * with the file's comments intact); the header health pill degraded by a sink
 * at a stopped Mosquitto with the reason, an alert in the list that resolves
 * when Mosquitto starts; the Version column and summary after a rollout;
 * backup downloaded with the Settings button and restored into a fresh
 * gateway with the restore button; node and device charts with history from
 * before a restart; an M-Bus connector added after a bus scan; the log view; a
 * remote-managed configuration shown read-only; every page at 390×844
 * without horizontal scrolling (screenshots in test-artifacts/).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { makeFirmwareImage } from '../../emulator/index.js';
import { MbusMeter, MbusMeterSet } from '../../emulator/fieldbus/mbus-meter.js';
import { ensureWebBuilt, launchBrowser, skipUnlessChromium, type TestBrowser } from '../helpers/browser.js';
import { http } from '../helpers/gateway-harness.js';
import { fastNodesYaml, gatewayYaml, startFileGateway, type FileGateway } from '../helpers/file-gateway.js';
import { MOSQUITTO, Mosquitto } from '../helpers/mosquitto.js';
import { freePort, waitFor } from '../helpers/net.js';
import { skipUnlessPeer } from '../helpers/peers.js';
import { startSim, type TestSim } from '../helpers/sim.js';
import { ModbusServer, PYTHON } from '../pipeline/helpers/modbus-server.js';
import { isTerminal, storeFirmware, waitRollout } from '../firmware/firmware-helpers.js';

const WAIT = 20_000; // ms
/** In the page: the innermost elements whose right edge passes the viewport. */
const WIDE_ELEMENTS = `[...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > innerWidth + 1 && ![...e.children].some((c) => c.getBoundingClientRect().right > innerWidth + 1)).slice(0, 5).map((e) => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))`;
const skip = skipUnlessChromium() || skipUnlessPeer('mosquitto', MOSQUITTO !== undefined) || skipUnlessPeer('python3-pymodbus (/usr/bin/python3)', PYTHON !== undefined);

describe('web UI: settings, health, alerts, versions, history, log, phones (issue 15)', { skip }, () => {
  let dir: string;
  let yaml: string;
  let g: FileGateway;
  let sim: TestSim;
  let broker: Mosquitto;
  let modbus: ModbusServer;
  let meters: TcpServer;
  let b: TestBrowser;
  let nodePort: number;

  const restart = async () => {
    await g.stop();
    g = await startFileGateway({ dir, file: join(dir, 'gateway.yaml') });
    await sim.stop();
    sim = await startSim({ udpPort: g.gateway.udpPort, nodePort }, 2);
  };

  before(async () => {
    ensureWebBuilt();
    broker = await Mosquitto.start();
    await broker.stop();
    modbus = await ModbusServer.start({ init: { hr: { 0: [215] } }, counter: 1, counterMs: 200 });
    // Two emulated M-Bus meters behind a serial device server (M-Bus frames on TCP).
    const set = new MbusMeterSet([new MbusMeter(5, '12345678'), new MbusMeter(7, '87654321', 'SPO', 0x07)]);
    meters = createTcpServer((socket) => set.serve(socket));
    await new Promise<void>((r) => meters.listen(0, '127.0.0.1', r));
    dir = await mkdtemp(join(tmpdir(), 'spore-ui15-'));
    nodePort = await freePort();
    yaml = await gatewayYaml(
      dir,
      [
        fastNodesYaml(nodePort),
        'firmware:',
        '  verifyPollIntervalMs: 100',
        'history:',
        '  flushIntervalMs: 200',
        '  nodeSampleIntervalMs: 300',
        '# the pipeline of the plant (a comment the UI must keep)',
        'pipeline:',
        '  sinks:',
        '    - { id: live, type: websocket }',
        `    - { id: cloud, type: mqtt, url: "${broker.url}", topic: "t/{device}", reconnectPeriodMs: 200 } # the cloud`,
        'alerts:',
        '  - { when: sink.down, for: 1s, notify: [ui] }',
        'notify:',
        '  evaluateIntervalMs: 200',
      ].join('\n'),
    );
    g = await startFileGateway({ dir, yaml });
    sim = await startSim({ udpPort: g.gateway.udpPort, nodePort }, 2);
    b = await launchBrowser();
  });
  after(async () => {
    await b?.close();
    await sim?.stop();
    await g?.destroy();
    await broker?.destroy();
    await modbus?.kill();
    meters?.close();
  });

  it('adds a Modbus connector from Settings: tested, saved, its device shows values, and it survives a restart with the comments', async () => {
    const page = b.page;
    await page.goto(`${g.url}/settings`);
    // The section forms carry the schema's descriptions next to their fields.
    await page.getByTestId('section-nodes').locator('summary').click();
    const help = page.locator('#cfg-nodes-requestTimeoutMs-help');
    await help.waitFor({ timeout: WAIT });
    assert.match((await help.textContent()) ?? '', /Timeout of every call to a node, ms/);
    assert.equal(await page.locator('#cfg-nodes-requestTimeoutMs').getAttribute('aria-describedby'), 'cfg-nodes-requestTimeoutMs-help');
    await b.screenshot('issue15-settings-descriptions');
    const form = page.getByTestId('add-connector');
    await form.waitFor({ timeout: WAIT });
    await form.locator('input[name=id]').fill('plc');
    await form.locator('input[name=device]').fill('boiler');
    await form.locator('input[name=channel]').fill('counter');
    await form.locator('input[name=host]').fill('127.0.0.1');
    await form.locator('input[name=port]').fill(String(modbus.port));
    await form.locator('input[name=address]').fill('1');
    await form.locator('input[name=pollMs]').fill('200');
    await form.getByRole('button', { name: 'Test connection' }).click();
    const probe = page.getByTestId('probe-result');
    await probe.waitFor({ timeout: WAIT });
    assert.equal(await probe.getAttribute('data-ok'), 'true', (await probe.textContent()) ?? '');
    assert.match((await probe.textContent()) ?? '', /boiler/);
    await form.getByRole('button', { name: 'Save connector' }).click();
    const saved = page.getByTestId('save-result');
    await saved.waitFor({ timeout: WAIT });
    assert.match((await saved.textContent()) ?? '', /Applied now: pipeline/);

    await page.goto(`${g.url}/devices`);
    const row = page.locator('.device-row[data-device="boiler"]');
    await row.waitFor({ timeout: WAIT });
    await waitFor(async () => /counter=\d+/.test((await row.locator('.c-values').textContent()) ?? ''), 'a counter value on the device row', WAIT);
    await b.screenshot('issue15-device-added');

    const text = await readFile(join(dir, 'gateway.yaml'), 'utf8');
    assert.match(text, /# the pipeline of the plant/);
    assert.match(text, /# the cloud/);
    assert.equal(parseYaml(text).pipeline.connectors[0].id, 'plc');

    await restart();
    assert.ok(g.gateway.config.pipeline.connectors.some((c) => c.id === 'plc'), 'the connector is configured after the restart');
    await page.goto(`${g.url}/devices`);
    await page.locator('.device-row[data-device="boiler"]').waitFor({ timeout: WAIT });
  });

  it('adds an M-Bus connector after scanning the bus: the meters and their records listed, one used, its values on Devices', async () => {
    const page = b.page;
    await page.goto(`${g.url}/settings`);
    const form = page.getByTestId('add-connector');
    await form.waitFor({ timeout: WAIT });
    await form.locator('select[name=type]').selectOption('mbus-tcp');
    await form.locator('input[name=id]').fill('meters');
    await form.locator('input[name=host]').fill('127.0.0.1');
    await form.locator('input[name=port]').fill(String((meters.address() as AddressInfo).port));
    await form.locator('input[name=timeoutMs]').fill('200');
    await form.locator('input[name=scanTo]').fill('9');
    await form.getByRole('button', { name: 'Scan the bus' }).click();
    const found = form.getByTestId('scan-result');
    await waitFor(async () => (await found.getAttribute('data-count').catch(() => null)) === '2', 'two meters found', WAIT);
    assert.match((await found.locator('details[data-address="7"] summary').textContent()) ?? '', /87654321 · SPO · water · 19 records/);
    await found.locator('details[data-address="5"] summary').click();
    await b.screenshot('issue15-mbus-scan');
    await form.getByRole('button', { name: 'Use record 0 of address 5' }).click();
    assert.equal(await form.locator('input[name=address]').inputValue(), '5');
    assert.equal(await form.locator('input[name=channel]').inputValue(), 'energy');
    assert.equal(await form.locator('input[name=device]').inputValue(), 'meter-12345678');
    await form.locator('input[name=pollMs]').fill('300');
    await form.getByRole('button', { name: 'Test connection' }).click();
    const probe = page.getByTestId('probe-result');
    await probe.waitFor({ timeout: WAIT });
    assert.equal(await probe.getAttribute('data-ok'), 'true', (await probe.textContent()) ?? '');
    await form.getByRole('button', { name: 'Save connector' }).click();
    await page.getByTestId('save-result').waitFor({ timeout: WAIT });
    await page.goto(`${g.url}/devices`);
    const row = page.locator('.device-row[data-device="meter-12345678"]');
    await row.waitFor({ timeout: WAIT });
    await waitFor(async () => /energy=\d/.test((await row.locator('.c-values').textContent()) ?? ''), 'an energy value on the meter row', WAIT);
    assert.ok(parseYaml(await readFile(join(dir, 'gateway.yaml'), 'utf8')).pipeline.connectors.some((c: { type: string }) => c.type === 'mbus-tcp'));
  });

  it('the header pill turns degraded with the sink as the reason, an alert fires, and both clear when Mosquitto starts', async () => {
    const page = b.page;
    await page.goto(`${g.url}/alerts`);
    const pill = page.getByTestId('health-pill');
    await waitFor(async () => (await pill.getAttribute('data-status')) === 'degraded', 'the pill degraded', WAIT);
    await pill.click();
    const reasons = page.getByTestId('health-reasons');
    await reasons.waitFor({ timeout: WAIT });
    assert.match((await reasons.textContent()) ?? '', /sink:cloud/);
    await page.locator('[data-testid="active-alerts"] [data-alert*="sink:cloud"]').waitFor({ timeout: WAIT });
    await b.screenshot('issue15-alert-firing');
    await broker.start();
    await page.locator('[data-testid="recent-alerts"] [data-alert*="sink:cloud"]').waitFor({ timeout: WAIT });
    await page.getByTestId('no-alerts').waitFor({ timeout: WAIT });
    assert.deepEqual(b.errors, []);
  });

  it('shows a Version column and a versions summary after a rollout', async () => {
    await waitFor(() => sim.ips.every((ip) => g.gateway.registry.getByIp(ip)?.version), 'versions polled');
    const firmwareId = await storeFirmware(g.url, makeFirmwareImage({ version: '1.2.6', size: 16 * 1024 }), 'spore-app', '1.2.6');
    const created = await http(`${g.url}/api/rollouts`, { body: { firmwareId, target: { ips: [sim.ips[0]] }, bootTimeoutSec: 10 } });
    assert.equal(created.status, 201, created.text);
    const done = await waitRollout(g.url, created.body.id, isTerminal, 'the rollout', 60_000);
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const page = b.page;
    await page.goto(`${g.url}/`);
    const summary = page.getByTestId('versions-summary');
    await waitFor(async () => {
      const t = (await summary.textContent().catch(() => '')) ?? '';
      return t.includes('1.2.6 × 1') && t.includes('1.0.0 × 1');
    }, 'both versions in the summary', WAIT);
    const row = page.locator(`.node-row[data-ip="${sim.ips[0]}"] [data-testid="node-version"]`);
    assert.equal((await row.textContent())?.trim(), '1.2.6');
    await summary.locator('[data-version="1.0.0"]').click();
    await waitFor(async () => (await page.locator('.node-row').count()) === 1, 'filtered to one version', WAIT);
    assert.equal(await page.locator(`.node-row[data-ip="${sim.ips[1]}"]`).count(), 1);
    await page.getByRole('button', { name: 'Sort by Version' }).click();
    await b.screenshot('issue15-versions');

    // The rollout node picker has the Version column and marks the node already on the target.
    await page.goto(`${g.url}/firmware`);
    const wizard = page.getByTestId('rollout-wizard');
    await wizard.getByLabel('Firmware to roll out').selectOption(firmwareId);
    await wizard.getByText('Choose nodes').click();
    const picker = wizard.getByTestId('node-picker');
    const pickerRow = (ip: string) => picker.locator(`tr[data-ip="${ip}"]`);
    await waitFor(async () => ((await pickerRow(sim.ips[0]!).locator('[data-testid="picker-version"]').textContent()) ?? '').includes('1.2.6'), 'the version in the picker', WAIT);
    assert.equal(await pickerRow(sim.ips[0]!).getAttribute('data-on-target'), 'true');
    assert.equal(await pickerRow(sim.ips[1]!).getAttribute('data-on-target'), null);
    assert.match((await pickerRow(sim.ips[1]!).textContent()) ?? '', /1\.0\.0/);
    await wizard.getByRole('button', { name: 'Sort nodes by version' }).click();
    await wizard.getByRole('button', { name: 'Sort nodes by version' }).click();
    assert.equal(await picker.locator('tbody tr').first().getAttribute('data-ip'), sim.ips[0], 'descending: 1.2.6 first');
    await wizard.getByLabel('Filter nodes to choose').fill('1.0.0');
    await waitFor(async () => (await picker.locator('tbody tr').count()) === 1, 'the picker filtered by version', WAIT);
    await wizard.getByLabel('Filter nodes to choose').fill('');
    await wizard.getByRole('button', { name: 'Select shown' }).click();
    const note = wizard.getByTestId('wizard-on-target');
    await note.waitFor({ timeout: WAIT });
    assert.match((await note.textContent()) ?? '', new RegExp(`1 of them already run 1\\.2\\.6: ${sim.hostnames[0]}`));
    await b.screenshot('issue15-rollout-picker');
    await note.getByRole('button', { name: 'Leave them out' }).click();
    assert.equal(await pickerRow(sim.ips[0]!).locator('input[type=checkbox]').isChecked(), false);
    assert.equal(await pickerRow(sim.ips[1]!).locator('input[type=checkbox]').isChecked(), true);
    await note.waitFor({ state: 'detached', timeout: WAIT });
  });

  it('the Settings backup button downloads an archive that the restore button applies to a fresh gateway', async () => {
    const page = b.page;
    await page.goto(`${g.url}/settings`);
    const panel = page.getByTestId('backup');
    await panel.waitFor({ timeout: WAIT });
    const [download] = await Promise.all([page.waitForEvent('download', { timeout: WAIT }), panel.getByRole('link', { name: 'Download a backup' }).click()]);
    const archive = join(dir, 'ui-backup.tar.gz');
    await download.saveAs(archive);
    const bytes = await readFile(archive);
    assert.deepEqual([...bytes.subarray(0, 2)], [0x1f, 0x8b], 'a gzip archive');

    const freshDir = await mkdtemp(join(tmpdir(), 'spore-ui15-restore-'));
    const fresh = await startFileGateway({ dir: freshDir, yaml: await gatewayYaml(freshDir) });
    try {
      assert.equal(((await http(`${fresh.url}/api/firmware`)).body as unknown[]).length, 0, 'the fresh gateway has no firmware');
      await page.goto(`${fresh.url}/settings`);
      const restore = page.getByTestId('backup');
      await restore.waitFor({ timeout: WAIT });
      await restore.locator('input[type=file]').setInputFiles(archive);
      const status = restore.getByRole('status');
      await status.waitFor({ timeout: WAIT });
      assert.match((await status.textContent()) ?? '', /^Restored .*firmware/);
      await b.screenshot('issue15-restore');
      const firmware = (await http(`${fresh.url}/api/firmware`)).body as Array<{ version: string }>;
      assert.deepEqual(firmware.map((f) => f.version), ['1.2.6'], 'the firmware of the first gateway');
      assert.match(await readFile(join(freshDir, 'gateway.yaml'), 'utf8'), /# the pipeline of the plant/, 'its configuration, comments included');
      // A file that is no backup is refused with the reason, nothing restored.
      await restore.locator('input[type=file]').setInputFiles({ name: 'junk.tar.gz', mimeType: 'application/gzip', buffer: Buffer.from('not a backup') });
      await restore.getByRole('alert').waitFor({ timeout: WAIT });
    } finally {
      await fresh.destroy();
    }
  });

  it('node charts show history from before a restart', async () => {
    const host = sim.hostnames[0]!;
    await waitFor(async () => (await http(`${g.url}/api/history?series=nodes/${host}/freeHeap`)).body.series[0].t.length >= 3, 'history samples', WAIT);
    await waitFor(async () => (await http(`${g.url}/api/history?series=devices/boiler/counter`)).body.series[0].t.length >= 3, 'device history samples', WAIT);
    await restart();
    const page = b.page;
    await page.goto(`${g.url}/nodes/${sim.ips[0]}`);
    const charts = page.getByTestId('node-charts');
    await charts.waitFor({ timeout: WAIT });
    // Stored points come at once from /api/history: the chart is drawn, not the empty state.
    await charts.locator('.chart-host:not(.chart-host-empty) canvas').first().waitFor({ timeout: WAIT });
    await charts.locator('[data-range="24h"]').click();
    await charts.locator('.chart-host:not(.chart-host-empty) canvas').first().waitFor({ timeout: WAIT });
    await b.screenshot('issue15-node-history');

    // The Devices page charts a device's channel from the same history.
    await page.goto(`${g.url}/devices`);
    await page.locator('.device-row[data-device="boiler"]').click();
    const deviceCharts = page.getByTestId('device-charts');
    await deviceCharts.waitFor({ timeout: WAIT });
    await deviceCharts.locator('.chart-host:not(.chart-host-empty) canvas').first().waitFor({ timeout: WAIT });
    await deviceCharts.locator('[data-range="24h"]').click();
    await deviceCharts.locator('.chart-host:not(.chart-host-empty) canvas').first().waitFor({ timeout: WAIT });
    await b.screenshot('issue15-device-history');
  });

  it('the log view lists lines with a level filter', async () => {
    const page = b.page;
    await page.goto(`${g.url}/logs`);
    const lines = page.getByTestId('log-lines');
    await lines.locator('.log-line').first().waitFor({ timeout: WAIT });
    assert.ok((await lines.textContent())?.includes('SPORE gateway started'));
    await page.getByTestId('log-level').selectOption('warn');
    await waitFor(async () => (await lines.locator('.log-line[data-level="info"]').count()) === 0, 'info lines hidden', WAIT);
  });

  it('every page fits a 390 px wide phone screen, in light and dark themes', async () => {
    const phone = await launchBrowser({ width: 390, height: 844 });
    try {
      const pages = ['/', `/nodes/${sim.ips[0]}`, '/firmware', '/events', '/devices', '/alerts', '/logs', '/settings'];
      for (const path of pages) {
        await phone.page.goto(`${g.url}${path}`);
        await phone.page.locator('main h1').first().waitFor({ timeout: WAIT });
        await phone.page.waitForTimeout(300);
        const width = (await phone.page.evaluate('document.documentElement.scrollWidth')) as number;
        await phone.screenshot(`issue15-phone${path === '/' ? '-cluster' : path.replace(/[/.]/g, '-')}`);
        // On failure, name the elements that stick out.
        const wide = width <= 390 ? [] : await phone.page.evaluate(WIDE_ELEMENTS);
        assert.ok(width <= 390, `${path}: scrollWidth ${width} > 390: ${JSON.stringify(wide)}`);
      }
      await phone.page.getByTestId('theme-switch').selectOption('dark');
      assert.equal(await phone.page.evaluate('document.documentElement.dataset.theme'), 'dark');
      await phone.page.reload();
      assert.equal(await phone.page.evaluate('document.documentElement.dataset.theme'), 'dark', 'the choice is kept');
      await phone.screenshot('issue15-phone-dark');
      assert.ok((await phone.page.getByTestId('api-docs-link').getAttribute('href')) === '/api/docs');
    } finally {
      await phone.close();
    }
  });
});

describe('web UI: a remote-managed configuration is read-only (issue 15 §1)', { skip: skipUnlessChromium() }, () => {
  let remote: Server;
  let g: FileGateway | undefined;
  let b: TestBrowser | undefined;
  before(async () => {
    ensureWebBuilt();
    remote = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ log: { level: 'warn' } }));
    });
    await new Promise<void>((r) => remote.listen(0, '127.0.0.1', () => r()));
  });
  after(async () => {
    await b?.close();
    await g?.destroy();
    remote.close();
  });

  it('shows "managed remotely by <host>" and offers no save', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-ui15-remote-'));
    const port = (remote.address() as AddressInfo).port;
    g = await startFileGateway({ dir, yaml: await gatewayYaml(dir, `remoteConfig:\n  url: http://127.0.0.1:${port}/gw.json\n`) });
    b = await launchBrowser();
    await b.page.goto(`${g.url}/settings`);
    const banner = b.page.getByTestId('config-readonly');
    await banner.waitFor({ timeout: WAIT });
    assert.match((await banner.textContent()) ?? '', new RegExp(`managed remotely by 127\\.0\\.0\\.1:${port}`));
    assert.equal(await b.page.getByRole('button', { name: 'Save file' }).count(), 0);
    assert.equal(await b.page.getByRole('button', { name: 'Save connector' }).count(), 0);
    await b.screenshot('issue15-settings-remote');
  });
});
