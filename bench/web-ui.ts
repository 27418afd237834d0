/**
 * Web UI benchmark (issue 5): the built UI in Debian's Chromium (playwright-core)
 * against the real gateway process holding 500 emulated nodes while 1,000
 * messages/s stream to the page. Measures main-thread long tasks
 * (PerformanceObserver 'longtask') and the frame rate while scrolling the node
 * list and the event stream, the first load, and the size of the shipped
 * JavaScript. The peer, measured in the same run and the same browser: a
 * static page holding a plain 500-row table with no live data, scrolled the
 * same way — the frame-rate ceiling of this machine.
 *
 * Message source: MQTT (Mosquitto + the gateway's bridge) when the bridge is
 * built in and mosquitto is installed; otherwise CLUSTER_EVENT datagrams from
 * the emulated nodes, which the gateway forwards as `cluster/event` WebSocket
 * messages at the same rate (the summary says which).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SimCluster } from '../emulator/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { Mosquitto, MOSQUITTO } from '../test/helpers/mosquitto.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { cpuSeconds, rssMiB } from './lib/proc-stats.js';

const NODES = 500;
const RATE = 1000; // messages/s
const SCROLL_MS = 8000; // ms of scrolling per measurement
const FIRST_LOADS = 5;
const WEB_DIR = 'dist/web';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/** Raw and gzip bytes of the shipped JavaScript: what the first page loads, and what loads later (charts). */
export function bundleSizes(dir = WEB_DIR) {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const initialNames = new Set([...html.matchAll(/(?:src|href)="\/assets\/([^"]+\.js)"/g)].map((m) => m[1]!));
  const out = { initial: { raw: 0, gzip: 0, files: [] as string[] }, lazy: { raw: 0, gzip: 0, files: [] as string[] }, css: { raw: 0, gzip: 0 } };
  for (const name of readdirSync(join(dir, 'assets'))) {
    if (name.endsWith('.gz')) continue;
    const raw = readFileSync(join(dir, 'assets', name));
    const gz = existsSync(join(dir, 'assets', `${name}.gz`)) ? statSync(join(dir, 'assets', `${name}.gz`)).size : gzipSync(raw, { level: 9 }).length;
    if (name.endsWith('.css')) {
      out.css.raw += raw.length;
      out.css.gzip += gz;
      continue;
    }
    if (!name.endsWith('.js')) continue;
    const bucket = initialNames.has(name) ? out.initial : out.lazy;
    bucket.raw += raw.length;
    bucket.gzip += gz;
    bucket.files.push(name);
  }
  return out;
}

/** Installed in every page before its scripts: collects long tasks from the start. */
const PERF_INIT = `
  window.__longtasks = [];
  try {
    new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__longtasks.push({ start: e.startTime, duration: e.duration }); })
      .observe({ type: 'longtask', buffered: true });
  } catch (e) { window.__longtaskError = String(e); }
`;

interface ScrollFigures {
  seconds: number;
  frames: number;
  fps: number;
  frameP95Ms: number;
  frameMaxMs: number;
  longTasks: number;
  longTaskTotalMs: number;
  longTaskMaxMs: number;
  busyPercent: number;
}

/**
 * Scrolls `selector` up and down by `pxPerFrame` each animation frame for
 * `durationMs` (or just watches frames with pxPerFrame 0) and reports the
 * frames and long tasks seen meanwhile.
 */
async function scrollAndMeasure(page: Page, selector: string, durationMs: number, pxPerFrame: number): Promise<ScrollFigures> {
  const r = (await page.evaluate(
    `(async () => {
      const el = document.querySelector(${JSON.stringify(selector)});
      if (!el) throw new Error('no element ' + ${JSON.stringify(selector)});
      const lt0 = window.__longtasks.length;
      const gaps = [];
      let dir = 1;
      const t0 = performance.now();
      let last = t0;
      await new Promise((resolve) => {
        const step = (now) => {
          gaps.push(now - last);
          last = now;
          if (${pxPerFrame} > 0) {
            el.scrollTop += dir * ${pxPerFrame};
            if (el.scrollTop + el.clientHeight >= el.scrollHeight - 2) dir = -1;
            else if (el.scrollTop <= 0) dir = 1;
          }
          if (now - t0 < ${durationMs}) requestAnimationFrame(step); else resolve();
        };
        requestAnimationFrame(step);
      });
      const lts = window.__longtasks.slice(lt0).filter((t) => t.start >= t0);
      return { seconds: (last - t0) / 1000, gaps, lts };
    })()`,
  )) as { seconds: number; gaps: number[]; lts: Array<{ start: number; duration: number }> };
  const gaps = r.gaps.slice(1).sort((a, b) => a - b);
  const total = r.lts.reduce((s, t) => s + t.duration, 0);
  return {
    seconds: round(r.seconds),
    frames: r.gaps.length,
    fps: round(r.gaps.length / r.seconds),
    frameP95Ms: round(gaps[Math.floor(gaps.length * 0.95)] ?? NaN),
    frameMaxMs: round(gaps[gaps.length - 1] ?? NaN),
    longTasks: r.lts.length,
    longTaskTotalMs: Math.round(total),
    longTaskMaxMs: Math.round(r.lts.reduce((m, t) => Math.max(m, t.duration), 0)),
    busyPercent: round((total / (r.seconds * 1000)) * 100),
  };
}

interface Load {
  source: string;
  sent(): number;
  stop(): Promise<void>;
}

/** 1,000 MQTT messages/s through Mosquitto and the gateway's bridge. */
async function startMqttLoad(brokerPort: number): Promise<Load> {
  const mqtt = await import('mqtt');
  const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: 'spore-web-bench' });
  let seq = 0;
  const tickMs = 10;
  const timer = setInterval(() => {
    for (let i = 0; i < (RATE * tickMs) / 1000; i++) {
      const room = seq % 50;
      client.publish(`bench/room-${room}/sensor-${seq % 7}`, JSON.stringify({ seq, t: Date.now(), temperature: 20 + (seq % 100) / 10, humidity: 40 + (seq % 30) }));
      seq++;
    }
  }, tickMs);
  return { source: 'MQTT: Mosquitto → gateway bridge → WebSocket', sent: () => seq, stop: async () => (clearInterval(timer), await client.endAsync()) };
}

/** 1,000 cluster/event WebSocket messages/s, from CLUSTER_EVENT datagrams of the emulated nodes. */
function startUdpEventLoad(sim: SimCluster): Load {
  let seq = 0;
  const tickMs = 10;
  const timer = setInterval(() => {
    for (let i = 0; i < (RATE * tickMs) / 1000; i++) {
      const node = sim.nodes[seq % sim.nodes.length]!;
      void node.sendEvent('sensor/reading', { seq, t: Date.now(), temperature: 20 + (seq % 100) / 10, humidity: 40 + (seq % 30) }).catch(() => undefined);
      seq++;
    }
  }, tickMs);
  return { source: 'CLUSTER_EVENT datagrams from the emulated nodes → gateway → WebSocket cluster/event (MQTT bridge not built in)', sent: () => seq, stop: async () => clearInterval(timer) };
}

export async function run() {
  if (!CHROMIUM) throw new Error('Chromium is not installed (/usr/bin/chromium): apt-get install chromium');
  if (!existsSync(join(WEB_DIR, 'index.html'))) throw new Error(`${WEB_DIR} is missing: run \`npm run build\` first`);
  const sizes = bundleSizes();

  // Mosquitto for the MQTT path, when both it and the bridge are available.
  const broker = MOSQUITTO ? await Mosquitto.start() : undefined;
  const brokerPort = broker?.port ?? 0;

  let gw: GatewayProcess | undefined;
  let sim: SimCluster | undefined;
  let browser: Browser | undefined;
  let load: Load | undefined;
  try {
    gw = await startGatewayProcess(brokerPort ? { mqtt: { url: `tcp://127.0.0.1:${brokerPort}` } } : {});
    const health = (await (await fetch(`${gw.url}/api/health`)).json()) as { components?: { mqtt?: { status?: string } } };
    const bridge = brokerPort > 0 && health.components?.mqtt?.status !== 'disabled';

    sim = await SimCluster.start({ count: NODES, baseIp: '127.88.1.1', httpPort: gw.nodePort, gatewayPort: gw.udpPort, heartbeatIntervalMs: 2000 });
    for (let i = 0; i < 200; i++) {
      const body = (await (await fetch(`${gw.url}/api/discovery/nodes`)).json()) as { totalNodes: number };
      if (body.totalNodes >= NODES) break;
      await sleep(100);
    }

    // expose-gc and precise memory info: the heap figure is what stays after a full collection.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc', '--enable-precise-memory-info'] });
    load = bridge ? await startMqttLoad(brokerPort) : startUdpEventLoad(sim);
    await sleep(1000);

    // First load, cold (new context, empty cache) while the messages flow.
    const loads: Array<{ domContentLoadedMs: number; loadMs: number; nodesShownMs: number; transferredKB: number }> = [];
    for (let i = 0; i < FIRST_LOADS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
      const page = await ctx.newPage();
      await page.goto(`${gw.url}/`, { waitUntil: 'load' });
      await page.locator('[data-testid="node-count"]', { hasText: String(NODES) }).waitFor({ timeout: 30_000 });
      await page.locator('.node-row').first().waitFor();
      const t = (await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const res = performance.getEntriesByType('resource');
        return { dcl: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, now: performance.now(),
                 bytes: nav.transferSize + res.reduce((s, r) => s + (r.transferSize || 0), 0) };
      })()`)) as { dcl: number; load: number; now: number; bytes: number };
      loads.push({ domContentLoadedMs: round(t.dcl), loadMs: round(t.load), nodesShownMs: round(t.now), transferredKB: round(t.bytes / 1024) });
      await ctx.close();
    }

    // The node list: scroll the virtualised table while messages flow.
    const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await ctx.addInitScript(PERF_INIT);
    const page = await ctx.newPage();
    await page.goto(`${gw.url}/`);
    await page.locator('[data-testid="node-count"]', { hasText: String(NODES) }).waitFor({ timeout: 30_000 });
    await sleep(2000);
    const gwCpu0 = cpuSeconds(gw.pid);
    const tCpu0 = performance.now();
    const nodeList = await scrollAndMeasure(page, '[data-testid="node-list"] .vlist-viewport', SCROLL_MS, 40);
    const nodeRowsInDom = (await page.evaluate(`document.querySelectorAll('.node-row').length`)) as number;

    // The event stream: idle (following the tail), then scrolling, at 1,000 messages/s.
    await page.getByRole('link', { name: 'Events' }).click();
    await page.locator('.event-row').first().waitFor({ timeout: 30_000 });
    await sleep(3000);
    const rateShown = Number(((await page.getByTestId('event-rate').textContent()) ?? '0').replace(/,/g, ''));
    const eventsFollowing = await scrollAndMeasure(page, '[data-testid="event-list"] .vlist-viewport', SCROLL_MS / 2, 0);
    const eventStream = await scrollAndMeasure(page, '[data-testid="event-list"] .vlist-viewport', SCROLL_MS, 40);
    const eventRowsInDom = (await page.evaluate(`document.querySelectorAll('.event-row').length`)) as number;
    const heapMB = (await page.evaluate(`(() => { if (window.gc) window.gc(); return performance.memory ? performance.memory.usedJSHeapSize / 1048576 : null; })()`)) as number | null;
    const received = (await page.evaluate(`document.querySelector('.page-events .summary')?.textContent ?? ''`)) as string;
    const gatewayCpuPercent = round(((cpuSeconds(gw.pid) - gwCpu0) / ((performance.now() - tCpu0) / 1000)) * 100);
    const gatewayRssMiB = rssMiB(gw.pid);
    const longtaskSupported = (await page.evaluate(`window.__longtaskError ? false : true`)) as boolean;
    await ctx.close();

    // The peer: a static 500-row table (no framework, no live data) scrolled the same way.
    const peerCtx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await peerCtx.addInitScript(PERF_INIT);
    const peerPage = await peerCtx.newPage();
    const rows = Array.from({ length: NODES }, (_, i) => `<tr><td>ACTIVE</td><td>spore-sim-${i + 1}</td><td>127.88.${1 + Math.floor(i / 254)}.${(i % 254) + 1}</td><td>role=sensor zone=zone-1</td><td>35 kB</td><td>12 ms</td><td>1 s ago</td></tr>`).join('');
    await peerPage.setContent(`<!doctype html><body style="margin:0;font:14px system-ui"><div id="s" style="height:640px;overflow:auto"><table style="width:100%;border-collapse:collapse">${rows}</table></div></body>`);
    const peer = await scrollAndMeasure(peerPage, '#s', SCROLL_MS, 40);
    await peerCtx.close();

    const sent = load.sent();
    return {
      setup: { nodes: NODES, messagesPerSecond: RATE, messageSource: load.source, messagesSent: sent, chromium: CHROMIUM, longtaskObserver: longtaskSupported },
      shippedJs: {
        initialRawKB: round(sizes.initial.raw / 1024),
        initialGzipKB: round(sizes.initial.gzip / 1024),
        lazyChartsRawKB: round(sizes.lazy.raw / 1024),
        lazyChartsGzipKB: round(sizes.lazy.gzip / 1024),
        cssGzipKB: round(sizes.css.gzip / 1024),
        files: [...sizes.initial.files, ...sizes.lazy.files],
      },
      firstLoad: {
        runs: loads,
        medianDomContentLoadedMs: median(loads.map((l) => l.domContentLoadedMs)),
        medianLoadMs: median(loads.map((l) => l.loadMs)),
        median500NodesShownMs: median(loads.map((l) => l.nodesShownMs)),
      },
      nodeListScroll: { ...nodeList, rowsInDom: nodeRowsInDom },
      eventStreamFollowing: eventsFollowing,
      eventStreamScroll: { ...eventStream, rowsInDom: eventRowsInDom, rateShownByPage: rateShown, pageSummary: received.trim(), jsHeapAfterGcMB: heapMB === null ? null : round(heapMB) },
      peerStaticTable: peer,
      ratios: {
        nodeListFpsVsPeer: round(nodeList.fps / peer.fps, 2),
        eventStreamFpsVsPeer: round(eventStream.fps / peer.fps, 2),
      },
      gateway: { cpuPercentDuringScrolls: gatewayCpuPercent, rssMiB: gatewayRssMiB },
    };
  } finally {
    await load?.stop().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await sim?.stop().catch(() => undefined);
    await gw?.stop().catch(() => undefined);
    await broker?.destroy('SIGTERM');
  }
}
