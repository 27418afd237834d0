/**
 * Benchmark (issue 16 §4): QoS 1 ingest of one `mqtt` connector, with every PUBACK sent only
 * after the message's record is committed (SQLite, synchronous FULL: an fsync per commit;
 * group commit shares one among the messages that arrive together).
 *
 * Each part in its own process: Mosquitto; the gateway (built, `-log-level error`), one `mqtt`
 * connector, QoS 1, persistent session, one device; the peer, a bare mqtt.js QoS 1 subscriber
 * on a persistent session that acknowledges on receipt and stores nothing; the load generator,
 * a mqtt.js QoS 1 publisher (at most 1,000 unacknowledged).
 *   - backlog: the subscriber goes offline (its session and subscription stay), the publisher
 *     puts `count` messages in its queue, the subscriber comes back: the rate at which it takes
 *     the backlog in, first message to last. The publisher is not running then, so this is the
 *     subscriber's own limit.
 *   - live: the subscriber online while the publisher publishes `count` messages as fast as
 *     Mosquitto takes them: the subscriber's rate, first message to last (the publisher's own
 *     rate is reported; a subscriber cannot be faster than it).
 * The gateway's first and last message are seen by polling its device's seq every 20 ms.
 * Run: npm run build && node --import tsx bench/mqtt-qos1-ingest.ts
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GATEWAY_BIN, shebangNodeArgs } from './lib/gateway-process.js';
import type { BenchReport } from './lib/report.js';
import { freePort } from '../test/helpers/net.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { cpuSeconds, peakRssMiB } from './lib/proc-stats.js';

const COUNT = Number(process.env.QOS1_BENCH_COUNT ?? 100_000);
const TOPIC = 'bench/ingest';
const GATEWAY_ID = 'bench-qos1';
// QOS1_BENCH_MODES=backlog,live and QOS1_BENCH_SUBJECTS=gateway,bare select parts (default: all).
const MODES = (process.env.QOS1_BENCH_MODES ?? 'backlog,live').split(',') as Array<'backlog' | 'live'>;
const SUBJECTS = (process.env.QOS1_BENCH_SUBJECTS ?? 'gateway,bare').split(',');

interface Timing {
  count: number;
  seconds: number;
  perSec: number;
}

const round = (n: number, d = 0): number => Math.round(n * 10 ** d) / 10 ** d;

/** A bench helper script in its own process; resolves with each JSON line it prints. */
function helper(script: string, args: string[]): { lines: AsyncIterator<string>; kill: () => void; exited: Promise<unknown> } {
  const child = spawn(process.execPath, ['--import', 'tsx', new URL(`./lib/${script}`, import.meta.url).pathname, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const exited = new Promise((r) => child.once('exit', r));
  return { lines, kill: () => child.kill('SIGTERM'), exited };
}

/** The next JSON line the helper prints that has `key`. */
async function nextJson<T>(lines: AsyncIterator<string>, key: string): Promise<T> {
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error(`the helper process ended without printing "${key}"`);
    const doc = JSON.parse(value) as Record<string, unknown>;
    if (key in doc) return doc as T;
  }
}

async function publishAll(url: string): Promise<Timing> {
  const p = helper('qos1-publisher.ts', [url, TOPIC, String(COUNT)]);
  const t = await nextJson<Timing>(p.lines, 'perSec');
  await p.exited;
  return t;
}

function gatewayConfig(broker: Mosquitto): Record<string, unknown> {
  return {
    gateway: { id: GATEWAY_ID },
    pipeline: {
      connectors: [{ id: 'src', type: 'mqtt', url: broker.url, reconnectPeriodMs: 200, subscribe: [{ topic: TOPIC, qos: 1, device: 'dev', channels: { v: '$.v', n: '$.n' } }] }],
      store: { synchronous: 'FULL' },
    },
  };
}

interface Gateway {
  pid: number;
  url: string;
  /** When the connector had its CONNACK (ms since the epoch, from the gateway's log), once it has. */
  connectedAt: () => number | undefined;
  stop(): Promise<void>;
}

/** The built gateway in its own process, logging at info to a pipe (to see when the connector connected). */
async function startGateway(broker: Mosquitto, dataDir: string): Promise<Gateway> {
  const port = await freePort();
  const configFile = join(dataDir, 'config.json');
  await writeFile(configFile, JSON.stringify(gatewayConfig(broker)));
  const child = spawn(
    process.execPath,
    // The node options the binary gives itself (its #! line), and QOS1_BENCH_NODE_ARGS (e.g. --cpu-prof) for a profile.
    [...shebangNodeArgs(GATEWAY_BIN), ...(process.env.QOS1_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? []), GATEWAY_BIN, '-port', String(port), '-udp-port', String(await freePort()), '-node-port', String(await freePort()), '-log-level', 'info', '-data-dir', dataDir, '-config', configFile, '-bind', '127.0.0.1'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let connectedAt: number | undefined;
  createInterface({ input: child.stdout! }).on('line', (line) => {
    if (process.env.QOS1_BENCH_TRACE === '1' && !line.startsWith('{')) process.stderr.write(`${line}\n`);
    if (connectedAt === undefined && line.includes('mqtt connector connected')) connectedAt = Date.parse((JSON.parse(line) as { time: string }).time);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error('the gateway exited');
    if ((await fetch(`${url}/api/health`).catch(() => undefined)) !== undefined) break;
    if (Date.now() > deadline) throw new Error('the gateway did not start');
    await sleep(100);
  }
  return {
    pid: child.pid!,
    url,
    connectedAt: () => connectedAt,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    },
  };
}

async function lastRecord(g: Gateway): Promise<{ seq: number; tsMs: number }> {
  const res = await fetch(`${g.url}/api/devices/dev`);
  if (res.status !== 200) return { seq: 0, tsMs: 0 };
  const body = (await res.json()) as { lastRecord?: { seq: number; ts: string } | null };
  return { seq: body.lastRecord?.seq ?? 0, tsMs: body.lastRecord ? Date.parse(body.lastRecord.ts) : 0 };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, check: () => Promise<boolean> | boolean, ms = 300_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function runGateway(broker: Mosquitto, mode: 'backlog' | 'live'): Promise<Record<string, unknown>> {
  const dataDir = await mkdtemp(join(tmpdir(), 'spore-bench-qos1-'));
  let g = await startGateway(broker, dataDir);
  try {
    await waitFor('the connector to connect', () => g.connectedAt() !== undefined, 30_000);
    await sleep(500); // the SUBACK: the session holds the subscription from here on
    let publisher: Timing;
    let startMs: number;
    let c0: number;
    /** Records already in when the clock starts. */
    let already = 0;
    if (mode === 'backlog') {
      await g.stop();
      publisher = await publishAll(broker.url);
      g = await startGateway(broker, dataDir);
      c0 = 0; // the whole process, start-up included (reported apart)
      await waitFor('the connector to connect', () => g.connectedAt() !== undefined, 30_000);
      startMs = g.connectedAt()!;
    } else {
      c0 = cpuSeconds(g.pid);
      const published = publishAll(broker.url);
      // The first record: the seq moves.
      await waitFor('the first record', async () => (already = (await lastRecord(g)).seq) > 0);
      startMs = Date.now();
      publisher = await published;
    }
    await waitFor(`${COUNT} records`, async () => (await lastRecord(g)).seq >= COUNT);
    const last = await lastRecord(g);
    // The last record's ts is the arrival of the last message (its PUBACK follows its commit).
    const seconds = (last.tsMs - startMs) / 1000;
    const cpu = cpuSeconds(g.pid) - c0;
    return {
      count: COUNT,
      seconds: round(seconds, 3),
      perSec: Math.round((COUNT - already) / seconds),
      ...(mode === 'live' ? { cpuUsPerMsg: round((cpu * 1e6) / COUNT, 1) } : {}),
      publisherPerSec: Math.round(publisher.perSec),
      peakRssMiB: peakRssMiB(g.pid),
    };
  } finally {
    await g.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function runBare(broker: Mosquitto, mode: 'backlog' | 'live'): Promise<Record<string, unknown>> {
  const clientId = `bench-bare-${mode}-${process.pid}`;
  let sub = helper('qos1-bare-subscriber.ts', [broker.url, clientId, TOPIC, String(COUNT)]);
  await nextJson(sub.lines, 'ready');
  let publisher: Timing;
  if (mode === 'backlog') {
    sub.kill();
    await sub.exited;
    publisher = await publishAll(broker.url);
    // The resumed session delivers the backlog at once, even before the SUBACK ("ready").
    sub = helper('qos1-bare-subscriber.ts', [broker.url, clientId, TOPIC, String(COUNT)]);
  } else {
    publisher = await publishAll(broker.url);
  }
  const t = await nextJson<Timing>(sub.lines, 'perSec');
  await sub.exited;
  return { count: t.count, seconds: round(t.seconds, 3), perSec: Math.round(t.perSec), publisherPerSec: Math.round(publisher.perSec) };
}

export async function run(): Promise<BenchReport> {
  const broker = await Mosquitto.start();
  const results: Record<string, Record<string, unknown>> = {};
  try {
    for (const mode of MODES) {
      const gateway = SUBJECTS.includes('gateway') ? await runGateway(broker, mode) : undefined;
      console.error(`  gateway ${mode}: ${JSON.stringify(gateway)}`);
      const bare = SUBJECTS.includes('bare') ? await runBare(broker, mode) : undefined;
      console.error(`  bare ${mode}: ${JSON.stringify(bare)}`);
      results[mode] = { gateway, bare, ratio: gateway && bare ? round((gateway.perSec as number) / (bare.perSec as number), 2) : null };
    }
  } finally {
    await broker.destroy();
  }
  const g = results.backlog?.gateway as { perSec: number } | undefined;
  const b = results.backlog?.bare as { perSec: number } | undefined;
  const gl = results.live?.gateway as { perSec: number } | undefined;
  const bl = results.live?.bare as { perSec: number } | undefined;
  return {
    title: 'QoS 1 ingest with group commit (issue 16 §4) — `bench/mqtt-qos1-ingest.ts`',
    method:
      'Mosquitto, the gateway (one `mqtt` connector, QoS 1, persistent session, synchronous FULL; each PUBACK after its commit), a bare mqtt.js QoS 1 subscriber that acknowledges on receipt and stores nothing (the peer), and a mqtt.js QoS 1 publisher, each in its own process. backlog: the subscriber is offline while the publisher queues the messages for its session, then takes them in (from its CONNACK to its last message). live: the subscriber is online while the publisher publishes.',
    figures: [
      { id: 'mqtt.qos1IngestBacklog', label: 'QoS 1 ingest, one connector, backlog', unit: 'msg/s', ours: g?.perSec ?? null, peer: b?.perSec ?? null, peerName: 'bare mqtt.js subscriber', goal: { of: 'ours', op: '>=', value: 20_000 } },
      { id: 'mqtt.qos1IngestLive', label: 'QoS 1 ingest, one connector, live publisher', unit: 'msg/s', ours: gl?.perSec ?? null, peer: bl?.perSec ?? null, peerName: 'bare mqtt.js subscriber' },
    ],
    params: { count: COUNT, modes: MODES, subjects: SUBJECTS },
    raw: results,
  } as BenchReport;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
