/**
 * Benchmark (issue 14): OPC UA data changes/s through the pipeline with 1,000 monitored items
 * sampled every 100 ms (each item changes every 100 ms on the server: 10,000 changes/s offered),
 * with the gateway's CPU and RSS, next to a bare node-opcua client subscribing to the same items
 * in the same run (ratio). Also the gateway's idle RSS without any OPC UA/Z-Wave connector, and
 * with one, so that the cost of the libraries when unused (none) and used shows.
 *
 * Path: node-opcua server (test/pipeline/helpers/opcua-server-main.ts, own process) → gateway
 * `opcua` connector (10 devices × 100 channels, one subscription) → seq + store → websocket sink.
 * Run: npm run build && node --import tsx bench/run-all.ts opcua
 */
import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { startGatewayProcess } from './lib/gateway-process.js';
import { cpuSeconds, peakRssMiB, rssMiB } from './lib/proc-stats.js';
import { OpcuaTestServer } from '../test/pipeline/helpers/opcua-server.js';
import type { BenchReport } from './lib/report.js';

const ITEMS = 1000;
const SAMPLING_MS = 100;
const PUBLISHING_MS = 500;
const QUEUE = 10;
const WARMUP_S = 5;
const MEASURE_S = 15;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

async function json(url: string): Promise<any> {
  return (await fetch(url)).json();
}

async function idleRss(config: Record<string, unknown>, bin?: string): Promise<number> {
  const gw = await startGatewayProcess(config, [], bin);
  try {
    await sleep(5000);
    return rssMiB(gw.pid);
  } finally {
    await gw.stop();
  }
}

async function measure(): Promise<any> {
  const loadBefore = loadavg().map((l) => round(l, 2));
  const server = await OpcuaTestServer.start({ items: ITEMS, changeMs: SAMPLING_MS });
  const out: Record<string, unknown> = { items: ITEMS, samplingMs: SAMPLING_MS, publishingMs: PUBLISHING_MS, offeredChangesPerSecond: (ITEMS * 1000) / SAMPLING_MS, loadBefore };
  try {
    // The gateway: 10 devices of 100 channels.
    const devices = Array.from({ length: 10 }, (_, d) => ({
      id: `dev-${d}`,
      channels: Array.from({ length: ITEMS / 10 }, (_, c) => {
        const i = d * (ITEMS / 10) + c;
        return { name: `i${i}`, nodeId: `ns=1;s=Item${String(i).padStart(4, '0')}` };
      }),
    }));
    const gw = await startGatewayProcess({
      pipeline: {
        connectors: [{ id: 'ua', type: 'opcua', endpoint: server.endpoint, samplingMs: SAMPLING_MS, publishingMs: PUBLISHING_MS, queueSize: QUEUE, devices }],
        sinks: [{ id: 'live', type: 'websocket' }],
        store: { synchronous: 'NORMAL' },
      },
    });
    gw.child.on('exit', (code, signal) => console.error(`gateway exited (${code ?? signal})`));
    try {
      const stats = async () => (await json(`${gw.url}/api/pipeline/stats`)).connectors[0];
      const seqs = async () => ((await json(`${gw.url}/api/devices`)).devices as Array<{ lastRecord: { seq: number } | null }>).reduce((s, d) => s + (d.lastRecord?.seq ?? 0), 0);
      for (let i = 0; i < 120 && (await stats()).state !== 'connected'; i++) await sleep(500);
      await sleep(WARMUP_S * 1000);
      const c0 = cpuSeconds(gw.pid);
      const p0 = (await stats()).polls;
      const r0 = await seqs();
      const t0 = performance.now();
      await sleep(MEASURE_S * 1000);
      const s = (performance.now() - t0) / 1000;
      const p1 = (await stats()).polls;
      const r1 = await seqs();
      out.gateway = {
        changesPerSecond: Math.round((p1 - p0) / s),
        recordsPerSecond: Math.round((r1 - r0) / s),
        cpuPercent: round(((cpuSeconds(gw.pid) - c0) / s) * 100),
        rssMiB: rssMiB(gw.pid),
        peakRssMiB: peakRssMiB(gw.pid),
        state: (await stats()).state,
      };
    } finally {
      await gw.stop();
    }

    // The peer: a bare node-opcua client in its own process, same items and parameters.
    const bare = spawn(process.execPath, ['--import', 'tsx', new URL('./lib/opcua-bare-client.ts', import.meta.url).pathname], {
      env: { ...process.env, OPCUA_BARE: JSON.stringify({ endpoint: server.endpoint, items: ITEMS, samplingMs: SAMPLING_MS, publishingMs: PUBLISHING_MS, queueSize: QUEUE }) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let latest = 0;
    createInterface({ input: bare.stdout! }).on('line', (l) => {
      if (l.startsWith('{"changes"')) latest = (JSON.parse(l) as { changes: number }).changes; // node-opcua prints warnings on stdout too
    });
    try {
      for (let i = 0; i < 240 && latest === 0; i++) await sleep(250);
      await sleep(WARMUP_S * 1000);
      const c0 = cpuSeconds(bare.pid!);
      const n0 = latest;
      const t0 = performance.now();
      await sleep(MEASURE_S * 1000);
      const s = (performance.now() - t0) / 1000;
      out.bareClient = { changesPerSecond: Math.round((latest - n0) / s), cpuPercent: round(((cpuSeconds(bare.pid!) - c0) / s) * 100), rssMiB: rssMiB(bare.pid!) };
    } finally {
      bare.kill('SIGTERM');
      await new Promise((r) => bare.once('exit', r));
    }
    const g = out.gateway as { changesPerSecond: number; cpuPercent: number };
    const b = out.bareClient as { changesPerSecond: number; cpuPercent: number };
    out.ratio = { changesPerSecond: round(g.changesPerSecond / Math.max(1, b.changesPerSecond), 2), cpu: round(g.cpuPercent / Math.max(0.1, b.cpuPercent), 2) };

    // Idle RSS: no pipeline; a pipeline without OPC UA/Z-Wave; one opcua connector (libraries loaded).
    out.idleRssMiB = {
      noPipeline: await idleRss({}),
      modbusPipeline: await idleRss({ pipeline: { connectors: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: 1, devices: [{ id: 'm', channels: [{ name: 'c', address: 0 }] }] }] } }),
      withOpcuaConnector: await idleRss({ pipeline: { connectors: [{ id: 'ua', type: 'opcua', endpoint: server.endpoint, devices: [{ id: 'p', channels: [{ name: 't', nodeId: 'ns=1;s=Temperature' }] }] }] } }),
      ...(process.env.PRE_ISSUE_GATEWAY ? { noPipelineBeforeIssue14: await idleRss({}, process.env.PRE_ISSUE_GATEWAY) } : {}),
    };
  } finally {
    await server.close();
  }
  out.loadAfter = loadavg().map((l) => round(l, 2));
  return out;
}

export async function run(): Promise<BenchReport> {
  const r = await measure();
  return {
    title: 'OPC UA data changes through the pipeline',
    method: `A node-opcua server in its own process with ${ITEMS.toLocaleString('en-US')} Double variables, each changing every ${SAMPLING_MS} ms; the gateway's \`opcua\` connector subscribes to all of them (10 devices × 100 channels, one subscription, sampling ${SAMPLING_MS} ms, publishing ${PUBLISHING_MS} ms, queue ${QUEUE}); each change goes through the pipeline (transform chain, seq, SQLite store with synchronous NORMAL, websocket sink). The peer, in the same run against the same server: a bare node-opcua client in its own process with the same items and parameters that only counts changes. ${MEASURE_S} s measured after ${WARMUP_S} s of warm-up. On a loaded machine the server itself delivers fewer changes than asked: the ratio (same server, same run) is the figure to read. Also the gateway's idle RSS (5 s after start) with and without the large optional library loaded.`,
    params: { items: ITEMS, samplingMs: SAMPLING_MS, publishingMs: PUBLISHING_MS, measureSeconds: MEASURE_S },
    figures: [
      { id: 'opcua.changes', label: 'OPC UA data changes/s through the pipeline', unit: 'changes/s', ours: r.gateway.changesPerSecond, peer: r.bareClient.changesPerSecond, peerName: 'bare node-opcua client', goal: { of: 'ratio', op: '>=', value: 0.9 } },
      { id: 'opcua.idle-rss-no-opcua', label: 'gateway idle RSS, pipeline without OPC UA', unit: 'MiB', ours: r.idleRssMiB.modbusPipeline, peer: r.idleRssMiB.noPipeline, peerName: 'no pipeline' },
    ],
    tables: [
      { columns: ['', 'data changes/s', 'records/s', 'CPU %', 'RSS MiB'], rows: [['gateway', r.gateway.changesPerSecond, r.gateway.recordsPerSecond, r.gateway.cpuPercent, `${r.gateway.rssMiB} (peak ${r.gateway.peakRssMiB})`], ['bare node-opcua client', r.bareClient.changesPerSecond, null, r.bareClient.cpuPercent, r.bareClient.rssMiB], ['ratio', r.ratio.changesPerSecond, null, r.ratio.cpu, null]] },
      { title: 'Gateway idle RSS (5 s after start)', columns: ['gateway', 'MiB'], rows: [['no pipeline', r.idleRssMiB.noPipeline], ['a pipeline without OPC UA/Z-Wave (one modbus-tcp connector)', r.idleRssMiB.modbusPipeline], ['one opcua connector (node-opcua loaded, connected)', r.idleRssMiB.withOpcuaConnector]] },
    ],
    raw: r,
  };
}
