/**
 * The Devices page's connector tools in Chromium (issue 14 §4), against the libraries' own
 * peers: zwave-js's mock controller (a binary switch, node 2, and a multilevel sensor, node 3,
 * served over TCP) and a node-opcua server. Shown: the Z-Wave node list, Include/Exclude and
 * their Stop buttons driving the controller's inclusion state, an S2 device included through the
 * card's PIN form (the DSK shown, a short PIN refused, the right one giving S2_Authenticated), and the OPC UA browse tree
 * expanded from Objects down to the test variables with their data types.
 */
import { randomBytes } from 'node:crypto';
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { ensureWebBuilt, launchBrowser, skipUnlessChromium, type TestBrowser } from '../helpers/browser.js';
import { http, startTestGateway, type TestGateway } from '../helpers/gateway-harness.js';
import { waitFor } from '../helpers/net.js';
import { OpcuaTestServer } from '../pipeline/helpers/opcua-server.js';
import { ZwaveMock } from '../pipeline/helpers/zwave-mock.js';

const skip = skipUnlessChromium();
const WAIT = 30_000; // ms: a loaded machine; the first Z-Wave start interviews both nodes

describe('web UI: Z-Wave nodes and the OPC UA browse tree on the Devices page', { skip }, () => {
  let zwave: ZwaveMock | undefined;
  let opcua: OpcuaTestServer | undefined;
  let gw: TestGateway | undefined;
  let b: TestBrowser | undefined;
  const connector = async (id: string) => (await http(`${gw!.url}/api/pipeline/stats`)).body.connectors.find((c: { id: string }) => c.id === id);

  before(async () => {
    ensureWebBuilt();
    // Peers, gateway and browser start at the same time (each takes seconds on a busy machine);
    // the connectors retry until their peer answers.
    [zwave, opcua] = await Promise.all([ZwaveMock.create(), OpcuaTestServer.create({ changeMs: 500 })]);
    const gateway = startTestGateway({
      pipeline: {
        connectors: [
          {
            id: 'zw',
            type: 'zwave',
            port: zwave.url,
            reconnect: { initialMs: 200, maxMs: 1000 },
            securityKeys: { S2_Authenticated: randomBytes(16).toString('hex') },
            devices: [{ id: 'plug-2', node: 2, channels: [{ name: 'on', commandClass: 'Binary Switch', property: 'currentValue', writeProperty: 'targetValue' }] }],
          },
          { id: 'line-ua', type: 'opcua', endpoint: opcua.endpoint, reconnect: { initialMs: 200, maxMs: 1000 }, devices: [{ id: 'press-3', channels: [{ name: 'temperature', nodeId: 'ns=1;s=Temperature' }] }] },
        ],
        sinks: [{ id: 'live', type: 'websocket' }],
      },
    });
    [gw, b] = await Promise.all([gateway, launchBrowser(), zwave.start(), opcua.start()]);
    // Both connected before the page asks them anything.
    await waitFor(async () => (await connector('zw'))?.state === 'connected' && (await connector('line-ua'))?.state === 'connected', 'both connectors connected', 90_000);
    // The Z-Wave interview done (command classes known, node 2's switch state read): the
    // controller is not busy interviewing when the test starts an inclusion.
    await waitFor(async () => {
      const nodes = (await http(`${gw!.url}/api/connectors/zw/nodes`)).body?.nodes as Array<{ commandClasses: string[] }> | undefined;
      const plug = (await http(`${gw!.url}/api/devices/plug-2`)).body;
      return nodes?.length === 3 && nodes.every((n, i) => i === 0 || n.commandClasses.length > 0) && plug?.channels?.[0]?.value === false;
    }, 'the Z-Wave nodes interviewed', 120_000);
  });
  after(async () => {
    await b?.close();
    await gw?.stop();
    await zwave?.stop();
    await opcua?.close();
  });

  test('Z-Wave: the node list, Include and Exclude with their Stop buttons', async () => {
    const page = b!.page;
    await page.goto(`${gw!.url}/devices`);
    const card = page.getByTestId('zwave-zw');
    await card.locator('tr[data-node="3"]').waitFor({ timeout: WAIT });
    const cells = async (node: number) => (await card.locator(`tr[data-node="${node}"] td`).allTextContents()).map((t) => t.trim());
    const [id1, status1] = await cells(1);
    assert.deepEqual([id1, status1], ['1', 'controller']);
    const node2 = await cells(2);
    assert.equal(node2[1], 'alive');
    assert.equal(node2[2], 'plug-2', 'the configured device of node 2');
    assert.equal(node2[3], 'none', 'its security class');
    assert.match(node2[5]!, /Binary Switch/);
    assert.match((await cells(3))[5]!, /Multilevel Sensor/);

    const status = card.getByRole('status');
    /** Waits for the status text to match; a timeout names what the card showed (status, error). */
    const statusShows = async (re: RegExp, what: string) => {
      try {
        await waitFor(async () => re.test((await status.textContent()) ?? ''), what, WAIT);
      } catch (err) {
        const alert = (await card.getByRole('alert').count()) > 0 ? await card.getByRole('alert').textContent() : 'none';
        throw new Error(`${(err as Error).message}; status "${await status.textContent()}", error "${alert}"`);
      }
    };
    await card.getByRole('button', { name: 'Include', exact: true }).click();
    await statusShows(/including/, 'the status to show including');
    // The controller is in inclusion mode: a second start is refused, shown as an error.
    await card.getByRole('button', { name: 'Exclude', exact: true }).click();
    await card.getByRole('alert').filter({ hasText: /inclusion is already running/ }).waitFor({ timeout: WAIT });
    await card.getByRole('button', { name: 'Stop including' }).click();
    await statusShows(/^idle/, 'idle after stopping the inclusion');
    assert.equal(await card.getByRole('alert').count(), 0, 'a successful call clears the error');

    await card.getByRole('button', { name: 'Exclude', exact: true }).click();
    await statusShows(/excluding/, 'the status to show excluding');
    await card.getByRole('button', { name: 'Stop excluding' }).click();
    await statusShows(/^idle/, 'idle after stopping the exclusion');
    // Idle again on the controller too: a new inclusion starts (and is stopped) through the API.
    const again = await http(`${gw!.url}/api/connectors/zw/include`, { body: {} });
    assert.equal(again.body.state, 'including', again.text);
    assert.equal((await http(`${gw!.url}/api/connectors/zw/include`, { body: { stop: true } })).body.state, 'idle');
    await b!.screenshot('devices-zwave');
    assert.deepEqual(b!.errors, []);
  });

  test('Z-Wave: an S2 device asks for its PIN in the card, and is included S2 Authenticated', async () => {
    const page = b!.page;
    await page.goto(`${gw!.url}/devices`);
    const card = page.getByTestId('zwave-zw');
    await card.locator('tr[data-node="3"]').waitFor({ timeout: WAIT });
    const joiner = await zwave!.join(4, 's2-switch'); // its button pressed: it joins the next inclusion
    await card.getByRole('button', { name: 'Include', exact: true }).click();
    // The card polls the inclusion state: the PIN form appears with the rest of the DSK.
    const pin = card.getByLabel(/S2 PIN/);
    await pin.waitFor({ timeout: WAIT });
    assert.match((await card.locator('label', { hasText: 'S2 PIN' }).textContent()) ?? '', new RegExp(`DSK ·····${joiner.dsk!.slice(5)}`));
    const send = card.getByRole('button', { name: 'Send PIN' });
    await pin.fill('12a4');
    assert.equal(await send.isDisabled(), true, 'not 5 digits: cannot be sent');
    await pin.fill(joiner.pin!);
    await send.click();
    await card.getByRole('status').filter({ hasText: 'node 4 added (S2_Authenticated)' }).waitFor({ timeout: WAIT });
    const row = card.locator('tr[data-node="4"]');
    await row.waitFor({ timeout: WAIT });
    assert.equal((await row.locator('td').nth(3).textContent())?.trim(), 'S2_Authenticated');
    assert.equal(await pin.count(), 0, 'the form is gone');
    assert.deepEqual(b!.errors, []);
  });

  test('OPC UA: the browse tree from Objects to the test variables and their data types', async () => {
    const page = b!.page;
    const card = page.getByTestId('opcua-line-ua');
    const plant = card.locator('li[data-node-id="ns=1;s=Plant"]');
    await plant.waitFor({ timeout: WAIT });
    assert.equal(await plant.getAttribute('aria-expanded'), 'false');
    await plant.getByRole('button', { name: 'Expand Plant' }).click();
    const variable = (id: string) => plant.locator(`li[data-node-id="ns=1;s=${id}"]`);
    await variable('Temperature').waitFor({ timeout: WAIT });
    assert.equal(await plant.getAttribute('aria-expanded'), 'true');
    assert.match((await variable('Temperature').textContent()) ?? '', /Temperature\s+ns=1;s=Temperature\s+Variable · Double/);
    assert.match((await variable('Enabled').textContent()) ?? '', /Variable · Boolean/);
    assert.match((await variable('Setpoint').textContent()) ?? '', /Variable · Double/);
    assert.equal(await variable('Temperature').getByRole('button').count(), 0, 'a variable is a leaf');
    // Collapsing hides the children again.
    await plant.getByRole('button', { name: 'Collapse Plant' }).click();
    await variable('Temperature').waitFor({ state: 'detached', timeout: WAIT });
    await b!.screenshot('devices-opcua');
    assert.deepEqual(b!.errors, []);
  });
});
