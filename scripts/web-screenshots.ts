/**
 * Regenerates the web UI screenshots in docs/img/ (README, docs/web-ui.md):
 * a gateway with 24 emulated nodes, two of them switched off.
 *   node --import tsx scripts/web-screenshots.ts     (after npm run build)
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { SimCluster } from '../emulator/index.js';
import { validateConfig } from '../src/config/load-config.js';
import { Gateway } from '../src/gateway.js';
import { silentLogger } from '../src/logger.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const dataDir = await mkdtemp(join(tmpdir(), 'spore-shots-'));
const config = validateConfig({
  http: { port: 0, host: '127.0.0.1' },
  udp: { port: 0, host: '0.0.0.0', broadcastAddress: '127.255.255.255' },
  nodes: { port: 18080 + Math.floor(Math.random() * 1000), activeThresholdMs: 3000, statusPollIntervalMs: 1000, membersRefreshIntervalMs: 1000 },
  dataDir,
});
const gateway = new Gateway(config, { logger: silentLogger() });
await gateway.start();
const rooms = ['kitchen', 'hall', 'garage', 'garden'];
const sim = await SimCluster.start({
  count: 24,
  baseIp: '127.42.0.11',
  httpPort: config.nodes.port,
  gatewayPort: gateway.udpPort,
  heartbeatIntervalMs: 1000,
  labels: (i) => ({ role: i % 3 === 0 ? 'relay' : 'sensor', room: rooms[i % 4]! }),
});
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
try {
  await sleep(3000);
  sim.node(6).kill();
  sim.node(17).kill();
  await sleep(4500);
  await mkdir('docs/img', { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 760 }, colorScheme: 'light' });
  await page.goto(`${gateway.url}/`);
  await page.locator('.node-row').nth(20).waitFor();
  await sleep(2500);
  await page.screenshot({ path: 'docs/img/cluster.png' });
  await page.getByRole('button', { name: 'Topology' }).click();
  await sleep(500);
  await page.screenshot({ path: 'docs/img/topology.png' });
  await page.goto(`${gateway.url}/nodes/${sim.ips[2]}`);
  await page.locator('form.endpoint').first().waitFor();
  await sleep(9000);
  await page.screenshot({ path: 'docs/img/node.png' });
} finally {
  await browser.close();
  await sim.stop();
  await gateway.stop();
  await rm(dataDir, { recursive: true, force: true });
}
