/**
 * Web UI benchmark (issue 5, issue 16 §1): the built UI in Debian's Chromium (playwright-core)
 * against the real gateway process holding 500 emulated nodes (a `spore-sim` process) while 1,000
 * MQTT messages/s (Mosquitto → the gateway's bridge) stream to the page's WebSocket. Measures the
 * renderer's main-thread busy time per second (CDP Performance.getMetrics TaskDuration) and long
 * tasks (PerformanceObserver 'longtask') while scrolling the node list and the event stream — not
 * the frame rate, which headless Chromium caps at 60. The peer, in the same run and browser: a
 * plain page (served from loopback) with a 500-row static table that receives the same live data
 * on its own WebSocket (parses every message, shows the count and the latest message once per
 * frame), scrolled the same way. Also the first load and the size of the shipped JavaScript.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ChildProcess } from 'node:child_process';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/browser.js';
import { Mosquitto, MOSQUITTO } from '../test/helpers/mosquitto.js';
import { startSimProcess, stopProcess } from './lib/firmware-ideal.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { cpuSeconds, rssMiB } from './lib/proc-stats.js';
import { QUICK, type BenchReport } from './lib/report.js';

const NODES = 500;
const RATE = 1000; // messages/s
const SCROLL_MS = QUICK ? 4000 : 8000; // ms of scrolling per measurement
const FIRST_LOADS = QUICK ? 3 : 5;
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
  /** Main-thread busy time per second of wall time (CDP TaskDuration), ms/s. */
  busyMsPerSec: number;
  scriptMsPerSec: number;
  layoutStyleMsPerSec: number;
}

/**
 * Scrolls `selector` up and down by `pxPerFrame` each animation frame for
 * `durationMs` (or just watches frames with pxPerFrame 0) and reports the
 * frames and long tasks seen meanwhile.
 */
async function scrollAndMeasure(page: Page, selector: string, durationMs: number, pxPerFrame: number): Promise<ScrollFigures> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }).metrics.map((m) => [m.name, m.value]));
  const m0 = await metrics();
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
  const m1 = await metrics();
  await cdp.detach();
  const wall = m1.Timestamp! - m0.Timestamp!; // s
  const per = (k: string) => round(((m1[k]! - m0[k]!) * 1000) / wall);
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
    busyMsPerSec: per('TaskDuration'),
    scriptMsPerSec: per('ScriptDuration'),
    layoutStyleMsPerSec: round(per('LayoutDuration') + per('RecalcStyleDuration')),
  };
}

/** A context whose every wait allows for a loaded 2-core machine (ms). */
async function newContext(browser: Browser) {
  const ctx = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  ctx.setDefaultTimeout(90_000);
  ctx.setDefaultNavigationTimeout(90_000);
  return ctx;
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

/**
 * The peer page: served from loopback by the bench, a plain 500-row table and
 * the same live data on its own WebSocket — every message parsed and kept (bounded like the UI's
 * 5,000), the count and the latest message written once per animation frame. No framework.
 */
function peerPage(wsUrl: string): string {
  const rows = Array.from({ length: NODES }, (_, i) => `<tr><td>ACTIVE</td><td>spore-sim-${i + 1}</td><td>127.88.${1 + Math.floor(i / 254)}.${(i % 254) + 1}</td><td>role=sensor zone=zone-1</td><td>35 kB</td><td>12 ms</td><td>1 s ago</td></tr>`).join('');
  return `<!doctype html><html><body style="margin:0;font:14px system-ui">
<div>messages: <span id="count">0</span> <span id="last"></span></div>
<div id="s" style="height:640px;overflow:auto"><table style="width:100%;border-collapse:collapse">${rows}</table></div>
<script>
  const kept = []; let count = 0; let latest = null; let scheduled = false; const closes = [];
  // Reconnects like the UI does (a 1013 or a close under load must not end the peer's stream).
  const open = () => {
    const ws = new WebSocket(${JSON.stringify(wsUrl)});
    ws.onmessage = (e) => {
      const m = JSON.parse(e.data); count++; latest = m; kept.push(m); if (kept.length > 5000) kept.shift();
      if (!scheduled) { scheduled = true; requestAnimationFrame(() => { scheduled = false; document.getElementById('count').textContent = String(count); document.getElementById('last').textContent = latest.topic; }); }
    };
    ws.onclose = (e) => { closes.push(e.code); setTimeout(open, 500); };
  };
  open();
  window.__peerCount = () => count;
  window.__peerCloses = () => closes;
</script></body></html>`;
}

export async function run(): Promise<BenchReport> {
  if (!CHROMIUM) throw new Error('Chromium is not installed (/usr/bin/chromium): apt-get install chromium');
  if (!MOSQUITTO) throw new Error('mosquitto is not installed: apt-get install mosquitto');
  if (!existsSync(join(WEB_DIR, 'index.html'))) throw new Error(`${WEB_DIR} is missing: run \`npm run build\` first`);
  const sizes = bundleSizes();
  const broker = await Mosquitto.start();
  let gw: GatewayProcess | undefined;
  let sim: ChildProcess | undefined;
  let browser: Browser | undefined;
  let load: Load | undefined;
  let peerServer: Server | undefined;
  try {
    gw = await startGatewayProcess({ mqtt: { url: `tcp://127.0.0.1:${broker.port}` } });
    sim = startSimProcess(['-count', String(NODES), '-base-ip', '127.88.1.1', '-http-port', String(gw.nodePort), '-udp-port', String(gw.udpPort), '-heartbeat-ms', '2000']);
    // Wait for state, not time: on a loaded 2-core machine 500 nodes can take a minute to register.
    let registered = 0;
    for (const deadline = Date.now() + 180_000; registered < NODES; await sleep(250)) {
      if (Date.now() > deadline) throw new Error(`only ${registered} of ${NODES} emulated nodes registered in 180 s`);
      registered = await fetch(`${gw.url}/api/discovery/nodes`)
        .then(async (r) => ((await r.json()) as { totalNodes: number }).totalNodes)
        .catch(() => registered);
    }
    // expose-gc and precise memory info: the heap figure is what stays after a full collection.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...CHROMIUM_ARGS, '--js-flags=--expose-gc', '--enable-precise-memory-info'] });
    const chromiumVersion = browser.version();
    load = await startMqttLoad(broker.port);
    await sleep(1000);

    // First load, cold (new context, empty cache) while the messages flow.
    const loads: Array<{ domContentLoadedMs: number; loadMs: number; nodesShownMs: number; transferredKB: number }> = [];
    for (let i = 0; i < FIRST_LOADS; i++) {
      const ctx = await newContext(browser);
      const page = await ctx.newPage();
      await page.goto(`${gw.url}/`, { waitUntil: 'load' });
      await page.locator('[data-testid="node-count"]', { hasText: String(NODES) }).waitFor({ timeout: 90_000 });
      await page.locator('.node-row').first().waitFor({ timeout: 90_000 });
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
    const ctx = await newContext(browser);
    await ctx.addInitScript(PERF_INIT);
    const page = await ctx.newPage();
    await page.goto(`${gw.url}/`);
    await page.locator('[data-testid="node-count"]', { hasText: String(NODES) }).waitFor({ timeout: 90_000 });
    await sleep(2000);
    const gwCpu0 = cpuSeconds(gw.pid);
    const tCpu0 = performance.now();
    const nodeList = await scrollAndMeasure(page, '[data-testid="node-list"] .vlist-viewport', SCROLL_MS, 40);
    const nodeRowsInDom = (await page.evaluate(`document.querySelectorAll('.node-row').length`)) as number;

    // The event stream: idle (following the tail), then scrolling, at 1,000 messages/s.
    await page.getByRole('link', { name: 'Events' }).click();
    await page.locator('.event-row').first().waitFor({ timeout: 90_000 });
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

    // The peer: the same live data, a static table, scrolled the same way.
    const peerCtx = await newContext(browser);
    await peerCtx.addInitScript(PERF_INIT);
    // Served over real HTTP from loopback: a page Playwright fulfils itself counts as a public
    // address space for Chromium's local network access checks, which then block its /ws
    // (net::ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS, every connection closed with 1006).
    peerServer = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(peerPage(`${gw!.url.replace(/^http/, 'ws')}/ws`)));
    await new Promise<void>((resolve) => peerServer!.listen(0, '127.0.0.1', resolve));
    const peerUrl = `http://127.0.0.1:${(peerServer.address() as AddressInfo).port}/peer.html`;
    const peerTab = await peerCtx.newPage();
    await peerTab.goto(peerUrl);
    await peerTab.waitForFunction('window.__peerCount && window.__peerCount() > 100', undefined, { timeout: 90_000 }).catch(async (err) => {
      const closes = await peerTab.evaluate('window.__peerCloses ? window.__peerCloses() : null').catch(() => null);
      const count = await peerTab.evaluate('window.__peerCount ? window.__peerCount() : null').catch(() => null);
      throw new Error(`the peer page received ${count} messages in 90 s (close codes ${JSON.stringify(closes)}): ${(err as Error).message}`);
    });
    await sleep(2000);
    const c0 = (await peerTab.evaluate('window.__peerCount()')) as number;
    const t0 = performance.now();
    const peerFollowing = await scrollAndMeasure(peerTab, '#s', SCROLL_MS / 2, 0);
    const peer = await scrollAndMeasure(peerTab, '#s', SCROLL_MS, 40);
    const peerRate = Math.round((((await peerTab.evaluate('window.__peerCount()')) as number) - c0) / ((performance.now() - t0) / 1000));
    const peerCloses = (await peerTab.evaluate('window.__peerCloses()')) as number[];
    await peerCtx.close();

    const sent = load.sent();
    const scen = (name: string, f: ScrollFigures, rows: number | null) => [name, f.busyMsPerSec, f.scriptMsPerSec, f.layoutStyleMsPerSec, f.longTasks, f.longTaskMaxMs, f.fps, rows];
    return {
      title: 'Web UI: 500 nodes and 1,000 MQTT messages/s in Chromium',
      method: `The built UI in Debian's Chromium (headless, \`--disable-gpu\`, driven by playwright-core) against the gateway process holding **${NODES} emulated nodes** (a \`spore-sim\` process, heartbeat every 2 s, HTTP API served, default polling) while **${RATE.toLocaleString('en-US')} MQTT messages/s** (JSON, ~90 bytes, 350 topics, published by the bench process) go through a Mosquitto process and the gateway's bridge to the page's WebSocket. For each scenario, the renderer's **main-thread busy time per second** (CDP \`Performance.getMetrics\`: \`TaskDuration\`, of which \`ScriptDuration\` and layout + style) and the **long tasks** (\`PerformanceObserver('longtask')\`, > 50 ms), while the list is scrolled 40 px per frame up and down for ${SCROLL_MS / 1000} s (or just follows the tail). The frame rate is shown for reference only: headless Chromium caps requestAnimationFrame at 60/s.

The **peer**, same run, same browser: a plain page (served from loopback by the bench) with a static ${NODES}-row table that receives **the same live data** on its own \`/ws\` connection (parses every message, keeps the last 5,000, writes the count and the latest topic once per frame), scrolled the same way — the cost of taking the stream in with no framework.`,
      params: { quick: QUICK, nodes: NODES, messagesPerSec: RATE, scrollMs: SCROLL_MS, firstLoads: FIRST_LOADS },
      versions: { chromium: chromiumVersion },
      figures: [
        { id: 'webui.busy-node-list', label: 'UI main-thread busy time, node list scrolling, live data', unit: 'ms/s', ours: nodeList.busyMsPerSec, peer: peer.busyMsPerSec, peerName: 'plain page, same data' },
        { id: 'webui.busy-event-stream', label: 'UI main-thread busy time, event stream scrolling', unit: 'ms/s', ours: eventStream.busyMsPerSec, peer: peer.busyMsPerSec, peerName: 'plain page, same data' },
        { id: 'webui.long-tasks', label: `UI long tasks (> 50 ms) in ${(SCROLL_MS * 2.5) / 1000} s of the three scenarios`, unit: 'tasks', ours: nodeList.longTasks + eventsFollowing.longTasks + eventStream.longTasks, peer: peer.longTasks + peerFollowing.longTasks, peerName: `plain page, ${(SCROLL_MS * 1.5) / 1000} s` },
        { id: 'webui.first-load', label: 'UI first load, all 500 nodes on screen (median)', unit: 'ms', ours: median(loads.map((l) => l.nodesShownMs)) },
        { id: 'webui.js-initial-gzip', label: 'UI JavaScript loaded by the first page (gzip)', unit: 'kB', ours: round(sizes.initial.gzip / 1024) },
      ],
      tables: [
        {
          title: 'Main thread while scrolling',
          columns: ['scenario', 'busy ms/s', 'of which script ms/s', 'layout + style ms/s', 'long tasks', 'longest ms', 'frames/s (capped at 60)', 'rows in the DOM'],
          rows: [scen('node list (500 nodes), scrolling', nodeList, nodeRowsInDom), scen('event stream, following the tail', eventsFollowing, eventRowsInDom), scen('event stream, scrolling', eventStream, eventRowsInDom), scen('peer: plain page + same data, idle', peerFollowing, NODES), scen('peer: plain page + same data, scrolling', peer, NODES)],
        },
        { title: 'First load (cold, new context, empty cache, while the messages flow)', columns: ['runs', 'DOMContentLoaded ms (median)', 'load ms', 'all 500 nodes on screen ms', 'transferred kB'], rows: [[loads.length, median(loads.map((l) => l.domContentLoadedMs)), median(loads.map((l) => l.loadMs)), median(loads.map((l) => l.nodesShownMs)), median(loads.map((l) => l.transferredKB))]] },
        { title: 'Shipped JavaScript (Vite production build, gzip as the gateway serves it)', columns: ['', 'raw kB', 'gzip kB'], rows: [['loaded by the first page', round(sizes.initial.raw / 1024), round(sizes.initial.gzip / 1024)], ['loaded when a chart is first shown', round(sizes.lazy.raw / 1024), round(sizes.lazy.gzip / 1024)], ['CSS', round(sizes.css.raw / 1024), round(sizes.css.gzip / 1024)]] },
      ],
      notes: [
        `Messages: the bench published ${sent.toLocaleString('en-US')}; the UI's event page showed ${rateShown.toLocaleString('en-US')} messages/s (the MQTT traffic plus the gateway's own events), the peer page counted ${peerRate.toLocaleString('en-US')} messages/s. JS heap of the UI after a full collection: ${heapMB === null ? '—' : `${round(heapMB)} MB`}. The gateway meanwhile: ${gatewayCpuPercent} % CPU, ${gatewayRssMiB} MiB RSS.${longtaskSupported ? '' : ' (This Chromium did not support the longtask observer: long task counts are missing.)'}`,
      ],
      raw: { setup: { messageSource: load.source, messagesSent: sent, pageSummary: received.trim() }, firstLoad: loads, nodeListScroll: nodeList, eventStreamFollowing: eventsFollowing, eventStreamScroll: eventStream, peerFollowing, peerScroll: peer, peerCloseCodes: peerCloses, shippedJs: sizes },
    };
  } finally {
    await load?.stop().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    peerServer?.close();
    if (sim) await stopProcess(sim).catch(() => undefined);
    await gw?.stop().catch(() => undefined);
    await broker.destroy('SIGTERM');
  }
}
