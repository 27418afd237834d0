/**
 * Benchmark (issue 6): records/s through transform → durable sink (SQLite, synchronous FULL)
 * → Mosquitto, end-to-end latency p50/p99, the backlog drain after a 1-minute outage of the
 * export broker at 1,000 records/s, and the gateway's RSS.
 *
 * Path: bench publisher → Mosquitto (source) → gateway `mqtt` connector (10 devices) →
 * transforms (scale, round) → seq + durable buffer → `mqtt` sink, QoS 1 → Mosquitto (export)
 * → bench subscriber (also with store.synchronous NORMAL, to show the cost of an fsync per
 * commit). The peer, measured in the same run over the same brokers: a raw mqtt.js
 * relay in its own process that republishes the same records with QoS 1 and no buffer.
 * Run: npm run build && node --import tsx bench/pipeline-throughput.ts
 */
import { fork, type ChildProcess } from 'node:child_process';
import mqtt, { type MqttClient } from 'mqtt';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { peakRssMiB, rssMiB } from './lib/proc-stats.js';

const DEVICES = 10;
const STEP_SECONDS = 5;
const RATES = [1000, 2000, 4000, 8000, 12_000, 16_000, 24_000, 32_000, 48_000];

interface Received {
  count: number;
  unique: Set<string>;
  latencies: number[];
}

/** The export side: counts records, keeps (device, seq) pairs and end-to-end latencies. */
class Collector {
  readonly r: Received = { count: 0, unique: new Set(), latencies: [] };
  private constructor(private readonly client: MqttClient) {
    client.on('message', (_t, payload) => {
      const rec = JSON.parse(payload.toString()) as { device: string; seq: number; values: { t0: number } };
      this.r.count++;
      this.r.unique.add(`${rec.device}/${rec.seq}`);
      this.r.latencies.push(performance.now() - rec.values.t0);
    });
  }

  static async connect(url: string, clientId: string): Promise<Collector> {
    const client = await mqtt.connectAsync(url, { clientId, clean: false, reconnectPeriod: 200 });
    const c = new Collector(client);
    await client.subscribeAsync('telemetry/#', { qos: 1 });
    return c;
  }

  reset(): void {
    this.r.count = 0;
    this.r.unique.clear();
    this.r.latencies = [];
  }

  close(): Promise<void> {
    return this.client.endAsync(true);
  }
}

/** Publishes `rate` messages/s for `seconds` in 10 ms ticks, round-robin over the devices. */
async function drive(pub: MqttClient, rate: number, seconds: number, qos: 0 | 1, offset = { i: 0 }): Promise<number> {
  const total = Math.round(rate * seconds);
  const start = performance.now();
  let sent = 0;
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate) + 1);
    for (; sent < due; sent++) {
      const i = offset.i++;
      pub.publish(`bench/dev${i % DEVICES}`, JSON.stringify({ t0: performance.now(), v: i % 1000 }), { qos });
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return sent;
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!);
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

async function queued(gw: GatewayProcess): Promise<number> {
  const body = (await (await fetch(`${gw.url}/api/pipeline/stats`)).json()) as { sinks: Array<{ queued: number }> };
  return body.sinks[0]!.queued;
}

function gatewayConfig(id: string, source: string, target: string, qos: 0 | 1, synchronous: 'FULL' | 'NORMAL'): Record<string, unknown> {
  return {
    // Its own id per run: the connector's persistent session on the source broker follows the id.
    gateway: { id },
    pipeline: {
      connectors: [
        { id: 'src', type: 'mqtt', url: source, reconnectPeriodMs: 500, subscribe: [{ topic: 'bench/+', qos, device: '{1}', channels: { t0: '$.t0', v: { path: '$.v', transform: [{ scale: 0.1 }, { round: 1 }] } } }] },
      ],
      sinks: [{ id: 'cloud', type: 'mqtt', url: target, qos: 1, reconnectPeriodMs: 500 }],
      store: { synchronous },
    },
  };
}

interface Subject {
  name: string;
  pid: number;
  /** Records not yet exported (the gateway's durable buffer; 0 for the relay). */
  backlog(): Promise<number>;
  stop(): Promise<void>;
}

async function startGatewaySubject(id: string, source: Mosquitto, target: Mosquitto, qos: 0 | 1, synchronous: 'FULL' | 'NORMAL' = 'FULL'): Promise<Subject & { gw: GatewayProcess }> {
  const gw = await startGatewayProcess(gatewayConfig(id, source.url, target.url, qos, synchronous));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = (await (await fetch(`${gw.url}/api/pipeline/stats`)).json()) as { connectors: Array<{ state: string }> };
    if (s.connectors[0]!.state === 'connected') break;
    if (Date.now() > deadline) throw new Error('the gateway connector did not connect');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { name: `gateway(${synchronous})`, pid: gw.pid, gw, backlog: () => queued(gw), stop: () => gw.stop() };
}

async function startRelaySubject(source: Mosquitto, target: Mosquitto, qos: 0 | 1): Promise<Subject> {
  const child: ChildProcess = fork(new URL('./lib/pipeline-relay.ts', import.meta.url), [source.url, target.url, String(qos)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((r) => child.once('message', r));
  return {
    name: 'relay',
    pid: child.pid!,
    backlog: async () => 0,
    stop: async () => {
      child.kill();
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Steps the rate up until a step is not sustained (see below). */
async function ramp(subject: Subject, pub: MqttClient, col: Collector, qos: 0 | 1) {
  const steps = [];
  let rssPeak = 0;
  for (const rate of RATES) {
    col.reset();
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(subject.pid))), 250);
    const t0 = performance.now();
    const sent = await drive(pub, rate, STEP_SECONDS, qos);
    // Sustained: everything exported within 2 s of the last publish, p99 under a second.
    const drained = await waitUntil(async () => col.r.unique.size >= sent && (await subject.backlog()) === 0, 2000);
    const seconds = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    await waitUntil(() => col.r.unique.size >= sent, 30_000); // let a failed step finish before the next subject
    const p99 = pct(col.r.latencies, 99);
    const step = {
      rate,
      sent,
      received: col.r.unique.size,
      sustained: drained && col.r.unique.size === sent && p99 < 1000,
      p50ms: pct(col.r.latencies, 50),
      p99ms: p99,
      seconds: round(seconds),
      rssMiB: rssMiB(subject.pid),
    };
    steps.push(step);
    console.error(`  ${subject.name} qos${qos} ${rate}/s: ${JSON.stringify(step)}`);
    if (!step.sustained) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const best = steps.filter((s) => s.sustained).at(-1);
  return { maxSustainedPerSec: best?.rate ?? 0, atMax: best ?? null, at1000: steps.find((s) => s.rate === 1000) ?? null, rssPeakMiB: rssPeak, steps };
}

/** Publishes `count` messages as fast as the client can, and times their arrival. */
async function burst(subject: Subject, pub: MqttClient, col: Collector, qos: 0 | 1, count: number) {
  col.reset();
  const t0 = performance.now();
  const offset = { i: 0 };
  for (let k = 0; k < count; k++) {
    const i = offset.i++;
    pub.publish(`bench/dev${i % DEVICES}`, JSON.stringify({ t0: performance.now(), v: i % 1000 }), { qos });
    if (k % 1000 === 999) await new Promise((r) => setImmediate(r));
  }
  const ok = await waitUntil(async () => col.r.unique.size >= count && (await subject.backlog()) === 0, 60_000);
  const seconds = (performance.now() - t0) / 1000;
  return { count, received: col.r.unique.size, complete: ok, seconds: round(seconds, 2), perSec: Math.round(col.r.unique.size / seconds), p50ms: pct(col.r.latencies, 50), p99ms: pct(col.r.latencies, 99) };
}

/** 60 s of the export broker down at 1,000 records/s, then the drain with live traffic going on. */
async function outage(source: Mosquitto) {
  const target = await Mosquitto.start({ persistence: true });
  const col = await Collector.connect(target.url, 'bench-outage-collector');
  const subject = await startGatewaySubject('bench-outage', source, target, 0);
  const pub = await mqtt.connectAsync(source.url, { clientId: 'bench-outage-pub' });
  try {
    await drive(pub, 1000, 3, 0); // warm-up, live
    await waitUntil(async () => (await subject.backlog()) === 0, 5000);
    const rssBefore = rssMiB(subject.pid);
    await target.stop('SIGTERM'); // the collector's session and subscription survive (persistence)
    const offset = { i: 0 };
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(subject.pid))), 500);
    const sent = await drive(pub, 1000, 60, 0, offset);
    const backlog = await subject.backlog();
    const rssAtEndOfOutage = rssMiB(subject.pid);
    await target.start();
    // Live traffic keeps coming at 1,000/s while the backlog drains.
    const t0 = performance.now();
    const offsetAtReturn = offset.i;
    let draining = true;
    const feeder = (async () => {
      while (draining) await drive(pub, 1000, 0.5, 0, offset);
    })();
    const drained = await waitUntil(async () => (await subject.backlog()) < 100, 120_000);
    const drainSeconds = (performance.now() - t0) / 1000;
    const liveDuringDrain = offset.i - offsetAtReturn;
    draining = false;
    await feeder;
    await waitUntil(async () => (await subject.backlog()) === 0, 10_000);
    clearInterval(sampler);
    const expected = offset.i + 3000;
    await waitUntil(() => col.r.unique.size >= expected, 30_000);
    return {
      outageSeconds: 60,
      ratePerSec: 1000,
      sentDuringOutage: sent,
      backlogAtReturn: backlog,
      drained,
      drainSeconds: round(drainSeconds, 2),
      /** Records exported per second while draining: the backlog plus the live records meanwhile. */
      exportRateWhileDrainingPerSec: Math.round((backlog + liveDuringDrain) / drainSeconds),
      /** How fast the backlog shrank, net of the live traffic. */
      backlogShrinkPerSec: Math.round(backlog / drainSeconds),
      exportedUnique: col.r.unique.size,
      expected,
      lost: Math.max(0, expected - col.r.unique.size),
      rssMiB: { before: rssBefore, endOfOutage: rssAtEndOfOutage, max: round(rssMax), peakHwm: peakRssMiB(subject.pid) },
    };
  } finally {
    await pub.endAsync(true);
    await subject.stop();
    await col.close();
    await target.destroy();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  // PIPELINE_BENCH=outage (or ramp,burst) runs only those parts.
  const parts = new Set((process.env.PIPELINE_BENCH ?? 'ramp,burst,outage').split(','));
  const source = await Mosquitto.start();
  const target = await Mosquitto.start();
  const pub = await mqtt.connectAsync(source.url, { clientId: 'bench-pub' });
  const col = await Collector.connect(target.url, 'bench-collector');
  const results: Record<string, unknown> = {};
  try {
    // gatewayNormal: the same with store.synchronous NORMAL (no fsync per commit), to show its cost.
    for (const kind of parts.has('ramp') ? (['gateway', 'gatewayNormal', 'relay'] as const) : []) {
      const subject =
        kind === 'relay' ? await startRelaySubject(source, target, 0) : await startGatewaySubject(`bench-ramp-${kind}`, source, target, 0, kind === 'gateway' ? 'FULL' : 'NORMAL');
      try {
        const idleRss = rssMiB(subject.pid);
        results[kind] = { idleRssMiB: idleRss, ramp: await ramp(subject, pub, col, 0) };
      } finally {
        await subject.stop();
      }
    }
    // QoS 1 from the source: the gateway acknowledges each message only once it is on disk.
    for (const kind of parts.has('burst') ? (['gateway', 'gatewayNormal', 'relay'] as const) : []) {
      const subject =
        kind === 'relay' ? await startRelaySubject(source, target, 1) : await startGatewaySubject(`bench-burst-${kind}`, source, target, 1, kind === 'gateway' ? 'FULL' : 'NORMAL');
      try {
        results[kind] ??= {};
        (results[kind] as Record<string, unknown>).qos1Burst = await burst(subject, pub, col, 1, 20_000);
        console.error(`  ${kind} qos1 burst: ${JSON.stringify((results[kind] as Record<string, unknown>).qos1Burst)}`);
      } finally {
        await subject.stop();
      }
    }
  } finally {
    await pub.endAsync(true);
    await col.close();
    await target.destroy();
  }
  try {
    if (parts.has('outage')) results.outage = await outage(source);
  } finally {
    await source.destroy();
  }
  if (!parts.has('ramp') || !parts.has('burst')) return results;
  const g = results.gateway as { ramp: { maxSustainedPerSec: number; at1000: { p50ms: number; p99ms: number } | null }; qos1Burst: { perSec: number } };
  const r = results.relay as typeof g;
  results.ratios = {
    maxSustainedGatewayOverRelay: r.ramp.maxSustainedPerSec ? round(g.ramp.maxSustainedPerSec / r.ramp.maxSustainedPerSec, 2) : null,
    p99At1000GatewayOverRelay: g.ramp.at1000 && r.ramp.at1000 ? round(g.ramp.at1000.p99ms / r.ramp.at1000.p99ms, 2) : null,
    qos1BurstGatewayOverRelay: r.qos1Burst.perSec ? round(g.qos1Burst.perSec / r.qos1Burst.perSec, 2) : null,
  };
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
