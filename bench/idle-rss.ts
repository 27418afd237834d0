/**
 * Benchmark (issue 16 §3): the gateway's resident memory idle and its start-up high-water mark,
 * with and without each optional subsystem configured, next to bare Node.js (the floor: the same
 * node binary running an empty timer). Each subject is its own process; the gateway is the build
 * (`dist/`, `-log-level error`). RSS is read from /proc/<pid>/status (VmRSS) 3 s after the
 * health endpoint first answered; the high-water mark is VmHWM at that moment (start-up
 * included). For the default configuration the same is measured again after the first request
 * for the OpenAPI document, the docs page and the web UI, which are loaded only then.
 * Run: npm run build && node --import tsx bench/idle-rss.ts
 */
import { spawn } from 'node:child_process';
import { startGatewayProcess } from './lib/gateway-process.js';
import { peakRssMiB, rssMiB } from './lib/proc-stats.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { freePort } from '../test/helpers/net.js';

const IDLE_MS = 3000; // ms after start-up before reading VmRSS
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

export async function run(): Promise<Record<string, unknown>> {
  const broker = await Mosquitto.start();
  const rows: Array<Record<string, unknown>> = [];
  try {
    const bare = await bareNode();
    rows.push({ name: 'bare Node.js (peer)', ...bare });
    for (const s of SUBJECTS) {
      const g = await startGatewayProcess(await s.config(broker), (await s.args?.()) ?? []);
      try {
        await sleep(IDLE_MS);
        const row: Record<string, unknown> = { name: s.name, rssMiB: rssMiB(g.pid), peakRssMiB: peakRssMiB(g.pid) };
        if (s === SUBJECTS[0]) {
          for (const path of ['/api/openapi.json', '/api/docs', '/']) await (await fetch(`${g.url}${path}`)).arrayBuffer();
          await sleep(1000);
          row.afterDocsAndUi = { rssMiB: rssMiB(g.pid), peakRssMiB: peakRssMiB(g.pid) };
        }
        rows.push(row);
        console.error(`  ${JSON.stringify(row)}`);
      } finally {
        await g.stop();
      }
    }
  } finally {
    await broker.destroy();
  }
  const def = rows[1]!;
  return {
    rows,
    goals: { idleRssMiB: { ours: def.rssMiB, goal: '<= 70', met: (def.rssMiB as number) <= 70 }, startupPeakMiB: { ours: def.peakRssMiB, goal: '<= 100', met: (def.peakRssMiB as number) <= 100 } },
    ratioToBareNode: Math.round(((def.rssMiB as number) / (rows[0]!.rssMiB as number)) * 100) / 100,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
