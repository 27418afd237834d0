/**
 * Benchmark (issue 16 §3): the gateway's resident memory idle and its start-up high-water mark,
 * with and without each optional subsystem configured, next to bare Node.js (the floor: the same
 * node binary running an empty timer). Each subject is its own process; the gateway is the build
 * (`dist/`, `-log-level error`). RSS is read from /proc/<pid>/status (VmRSS) 3 s after the
 * health endpoint first answered; the high-water mark is VmHWM at that moment (start-up
 * included). Each gateway subject is started TRIALS times (IDLE_TRIALS, default 3; a single
 * reading swings by about ±1 MiB) and the median start is reported; every reading is in the
 * JSON (`trials`). For the default configuration the same is measured again after the first request
 * for the OpenAPI document, the docs page and the web UI, which are loaded only then.
 * Run: npm run build && node --import tsx bench/idle-rss.ts
 */
import { spawn } from 'node:child_process';
import { startGatewayProcess } from './lib/gateway-process.js';
import type { BenchReport } from './lib/report.js';
import { peakRssMiB, rssMiB } from './lib/proc-stats.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { freePort } from '../test/helpers/net.js';

const IDLE_MS = 3000; // ms after start-up before reading VmRSS
const TRIALS = Math.max(1, Number(process.env.IDLE_TRIALS ?? 3));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Subject {
  name: string;
  config: (broker: Mosquitto) => Promise<Record<string, unknown>> | Record<string, unknown>;
  args?: () => Promise<string[]>;
}

const SUBJECTS: Subject[] = [
  { name: 'default (cluster, REST, WebSocket; no MQTT, no pipeline)', config: () => ({}) },
  { name: '-mqtt embedded (aedes broker + bridge)', config: () => ({}), args: async () => ['-mqtt', 'embedded', '-mqtt-port', String(await freePort())] },
  { name: 'MQTT bridge to Mosquitto', config: (b) => ({ mqtt: { url: b.url } }) },
  {
    name: 'pipeline: mqtt connector + durable mqtt sink (SQLite)',
    config: (b) => ({
      pipeline: {
        connectors: [{ id: 'src', type: 'mqtt', url: b.url, subscribe: [{ topic: 'in/+', device: '{1}', channels: { v: '$.v' } }] }],
        sinks: [{ id: 'out', type: 'mqtt', url: b.url, topic: 'out/{device}' }],
      },
    }),
  },
  {
    name: 'pipeline: modbus-tcp connector (modbus-serial)',
    config: async () => ({
      pipeline: { connectors: [{ id: 'plc', type: 'modbus-tcp', host: '127.0.0.1', port: await freePort(), pollMs: 1000, devices: [{ id: 'm1', channels: [{ name: 'c', kind: 'holding', address: 0, type: 'uint16' }] }] }] },
    }),
  },
];

async function bareNode(): Promise<{ rssMiB: number; peakRssMiB: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e6)'], { stdio: 'ignore' });
  await sleep(IDLE_MS);
  const out = { rssMiB: rssMiB(child.pid!), peakRssMiB: peakRssMiB(child.pid!) };
  child.kill();
  return out;
}

export async function run(): Promise<BenchReport> {
  const broker = await Mosquitto.start();
  const rows: Array<Record<string, unknown>> = [];
  try {
    const bare = await bareNode();
    rows.push({ name: 'bare Node.js (peer)', ...bare });
    for (const s of SUBJECTS) {
      const trials: Array<{ rssMiB: number; peakRssMiB: number }> = [];
      let afterDocsAndUi: { rssMiB: number; peakRssMiB: number } | undefined;
      for (let t = 0; t < TRIALS; t++) {
        const g = await startGatewayProcess(await s.config(broker), (await s.args?.()) ?? []);
        try {
          await sleep(IDLE_MS);
          trials.push({ rssMiB: rssMiB(g.pid), peakRssMiB: peakRssMiB(g.pid) });
          // Once, on the last start: the OpenAPI document, the docs page and the web UI, loaded only on first request.
          if (s === SUBJECTS[0] && t === TRIALS - 1) {
            for (const path of ['/api/openapi.json', '/api/docs', '/']) await (await fetch(`${g.url}${path}`)).arrayBuffer();
            await sleep(1000);
            afterDocsAndUi = { rssMiB: rssMiB(g.pid), peakRssMiB: peakRssMiB(g.pid) };
          }
        } finally {
          await g.stop();
        }
      }
      // The median start by idle RSS (its own high-water mark with it).
      const median = [...trials].sort((a, b) => a.rssMiB - b.rssMiB)[Math.floor(trials.length / 2)]!;
      const row: Record<string, unknown> = { name: s.name, ...median, trials, ...(afterDocsAndUi ? { afterDocsAndUi } : {}) };
      rows.push(row);
      console.error(`  ${JSON.stringify(row)}`);
    }
  } finally {
    await broker.destroy();
  }
  const def = rows[1]! as { rssMiB: number; peakRssMiB: number };
  const bare = rows[0]! as { rssMiB: number };
  return {
    title: 'Idle memory (issue 16 §3) — `bench/idle-rss.ts`',
    method:
      `Each subject in its own process: the built gateway (\`-log-level error\`) with and without each optional subsystem configured, and bare Node.js running an empty timer (the peer). VmRSS from /proc 3 s after the health endpoint first answers; VmHWM (start-up high-water mark) at that moment. Each gateway configuration is started ${TRIALS} times; the median start is reported (every reading is in the JSON).`,
    figures: [
      { id: 'memory.idleRss', label: 'idle RSS, default configuration', unit: 'MiB', ours: def.rssMiB, peer: bare.rssMiB, peerName: 'bare Node.js', goal: { of: 'ours', op: '<=', value: 70 } },
      { id: 'memory.startupPeak', label: 'start-up high-water mark, default configuration', unit: 'MiB', ours: def.peakRssMiB, goal: { of: 'ours', op: '<=', value: 100 } },
    ],
    tables: [{ title: 'RSS by configuration', columns: ['configuration', 'RSS idle (MiB)', 'high-water (MiB)'], rows: rows.map((r) => [r.name as string, r.rssMiB as number, r.peakRssMiB as number]) }],
    raw: rows,
  } as BenchReport;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
