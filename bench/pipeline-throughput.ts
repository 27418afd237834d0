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
import { QUICK, type BenchReport } from './lib/report.js';

const DEVICES = 10;
const STEP_SECONDS = QUICK ? 3 : 5;
const RATES = [1000, 2000, 4000, 8000, 12_000, 16_000, 24_000, 32_000, 48_000];
const OUTAGE_SECONDS = QUICK ? 20 : 60;
/** `buffer.maxInflight` values compared at INFLIGHT_RATE (PIPELINE_BENCH_INFLIGHT=256,2048). */
const INFLIGHT_VALUES = (process.env.PIPELINE_BENCH_INFLIGHT ?? '256,2048').split(',').map(Number);
const INFLIGHT_RATE = 16_000; // records/s
const BURST_COUNT = 20_000;

/** RSS, or 0 once the process is gone (a sampler must not crash the bench). */
function safeRss(pid: number): number {
  try {
    return rssMiB(pid);
  } catch {
    return 0;
  }
}

interface Received {
  count: number;
  unique: Set<string>;
  latencies: number[];
  /** performance.now() of the last record received */
  lastAt: number;
}

/** The export side: counts records, keeps (device, seq) pairs and end-to-end latencies. */
class Collector {
  readonly r: Received = { count: 0, unique: new Set(), latencies: [], lastAt: 0 };
  private constructor(private readonly client: MqttClient) {
    client.on('message', (_t, payload) => {
      const rec = JSON.parse(payload.toString()) as { device: string; seq: number; values: { t0: number } };
      this.r.count++;
      this.r.unique.add(`${rec.device}/${rec.seq}`);
      this.r.lastAt = performance.now();
      this.r.latencies.push(this.r.lastAt - rec.values.t0);
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
    this.r.lastAt = 0;
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

/**
 * GET a gateway JSON endpoint, retried for up to `patienceMs`: on a loaded 2-core machine a gateway
 * busy draining tens of thousands of records can miss undici's connect timeout once (the cause of
 * the 13:31 `fetch failed`). A gateway that has exited fails at once, with its exit.
 */
async function getJson<T>(gw: GatewayProcess, path: string, patienceMs = 60_000): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let attempt = 1; ; attempt++) {
    if (gw.child.exitCode !== null || gw.child.signalCode !== null) throw new Error(`the gateway exited (${gw.child.exitCode ?? gw.child.signalCode}) while the bench asked for ${path}`);
    try {
      const res = await fetch(`${gw.url}${path}`, { signal: AbortSignal.timeout(20_000) });
      if (res.ok) return (await res.json()) as T;
      if (Date.now() > deadline) throw new Error(`${path} answered ${res.status}`);
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${path} did not answer in ${patienceMs} ms (${attempt} attempts): ${(err as Error).message}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function queued(gw: GatewayProcess): Promise<number> {
  const body = await getJson<{ sinks: Array<{ queued: number }> }>(gw, '/api/pipeline/stats');
  return body.sinks[0]!.queued;
}

function gatewayConfig(id: string, source: string, target: string, qos: 0 | 1, synchronous: 'FULL' | 'NORMAL', maxInflight?: number): Record<string, unknown> {
  return {
    // Its own id per run: the connector's persistent session on the source broker follows the id.
    gateway: { id },
    pipeline: {
      connectors: [
        { id: 'src', type: 'mqtt', url: source, reconnectPeriodMs: 500, subscribe: [{ topic: 'bench/+', qos, device: '{1}', channels: { t0: '$.t0', v: { path: '$.v', transform: [{ scale: 0.1 }, { round: 1 }] } } }] },
      ],
      sinks: [{ id: 'cloud', type: 'mqtt', url: target, qos: 1, reconnectPeriodMs: 500, ...(maxInflight ? { buffer: { maxInflight } } : {}) }],
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

async function startGatewaySubject(id: string, source: Mosquitto, target: Mosquitto, qos: 0 | 1, synchronous: 'FULL' | 'NORMAL' = 'FULL', maxInflight?: number): Promise<Subject & { gw: GatewayProcess }> {
  const gw = await startGatewayProcess(gatewayConfig(id, source.url, target.url, qos, synchronous, maxInflight));
  // Wait for state: the connector subscribed (60 s: a loaded machine). The sink buffers until it connects.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const s = await getJson<{ connectors: Array<{ state: string }> }>(gw, '/api/pipeline/stats');
    if (s.connectors[0]!.state === 'connected') break;
    if (Date.now() > deadline) {
      await gw.stop();
      throw new Error(`the gateway pipeline did not connect in 60 s: ${JSON.stringify(s)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
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
async function ramp(subject: Subject, pub: MqttClient, col: Collector, qos: 0 | 1, rates = RATES) {
  const steps = [];
  let rssPeak = 0;
  for (const rate of rates) {
    col.reset();
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, safeRss(subject.pid))), 250);
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
      /** Achieved: records received ÷ (last receipt − first publish). */
      achievedPerSec: Math.round(col.r.unique.size / ((col.r.lastAt - t0) / 1000)),
      received: col.r.unique.size,
      sustained: drained && col.r.unique.size === sent && p99 < 1000,
      p50ms: pct(col.r.latencies, 50),
      p99ms: p99,
      seconds: round(seconds),
      rssMiB: safeRss(subject.pid),
    };
    steps.push(step);
    console.error(`  ${subject.name} qos${qos} ${rate}/s: ${JSON.stringify(step)}`);
    if (!step.sustained) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const best = steps.filter((s) => s.sustained).at(-1);
  return { maxSustainedPerSec: best?.achievedPerSec ?? 0, maxSustainedOffered: best?.rate ?? 0, atMax: best ?? null, at1000: steps.find((s) => s.rate === 1000) ?? null, rssPeakMiB: rssPeak, steps };
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
  const seconds = ((col.r.lastAt || performance.now()) - t0) / 1000;
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
    const rssBefore = safeRss(subject.pid);
    await target.stop('SIGTERM'); // the collector's session and subscription survive (persistence)
    const offset = { i: 0 };
    let rssMax = rssBefore;
    const sampler = setInterval(() => (rssMax = Math.max(rssMax, safeRss(subject.pid))), 500);
    const sent = await drive(pub, 1000, OUTAGE_SECONDS, 0, offset);
    const backlog = await subject.backlog();
    const rssAtEndOfOutage = safeRss(subject.pid);
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
      outageSeconds: OUTAGE_SECONDS,
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

export async function run(): Promise<BenchReport> {
  // PIPELINE_BENCH=outage (or ramp,burst,inflight) runs only those parts.
  const parts = new Set((process.env.PIPELINE_BENCH ?? 'ramp,burst,inflight,outage').split(','));
  const source = await Mosquitto.start();
  const target = await Mosquitto.start();
  const pub = await mqtt.connectAsync(source.url, { clientId: 'bench-pub' });
  const col = await Collector.connect(target.url, 'bench-collector');
  const results: Record<string, any> = {};
  const inflight: Array<{ maxInflight: number; rate: number; achievedPerSec: number; p50ms: number; p99ms: number; sustained: boolean }> = [];
  try {
    // gatewayNormal: the same with store.synchronous NORMAL (no fsync per commit), to show its cost.
    for (const kind of parts.has('ramp') ? (['gateway', 'gatewayNormal', 'relay'] as const) : []) {
      const subject =
        kind === 'relay' ? await startRelaySubject(source, target, 0) : await startGatewaySubject(`bench-ramp-${kind}`, source, target, 0, kind === 'gateway' ? 'FULL' : 'NORMAL');
      try {
        const idleRss = safeRss(subject.pid);
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
        results[kind].qos1Burst = await burst(subject, pub, col, 1, BURST_COUNT);
        console.error(`  ${kind} qos1 burst: ${JSON.stringify(results[kind].qos1Burst)}`);
      } finally {
        await subject.stop();
      }
    }
    // buffer.maxInflight: one step at INFLIGHT_RATE per value.
    for (const maxInflight of parts.has('inflight') ? INFLIGHT_VALUES : []) {
      const subject = await startGatewaySubject(`bench-inflight-${maxInflight}`, source, target, 0, 'FULL', maxInflight);
      try {
        const r = await ramp(subject, pub, col, 0, [INFLIGHT_RATE]);
        const st = r.steps[0]!;
        inflight.push({ maxInflight, rate: INFLIGHT_RATE, achievedPerSec: st.achievedPerSec, p50ms: st.p50ms, p99ms: st.p99ms, sustained: st.sustained });
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
  const g = results.gateway;
  const n = results.gatewayNormal;
  const r = results.relay;
  const o = results.outage;
  const figures: BenchReport['figures'] = [];
  const tables: NonNullable<BenchReport['tables']> = [];
  if (g?.ramp && r?.ramp) {
    figures.push({ id: 'pipeline.max-sustained', label: 'pipeline, source QoS 0, highest sustained rate (achieved)', unit: 'records/s', ours: g.ramp.maxSustainedPerSec, peer: r.ramp.maxSustainedPerSec, peerName: 'raw mqtt.js relay', note: r.ramp.steps.every((s: any) => s.sustained) ? 'the relay sustained every rate tried: the ratio is an upper bound' : undefined });
    figures.push({ id: 'pipeline.p99-at-1000', label: 'pipeline latency p99 at 1,000 records/s', unit: 'ms', ours: g.ramp.at1000?.p99ms ?? null, peer: r.ramp.at1000?.p99ms ?? null, peerName: 'raw relay' });
    const row = (name: string, x: any) => [name, x.ramp.maxSustainedPerSec, x.ramp.at1000 ? `${x.ramp.at1000.p50ms} / ${x.ramp.at1000.p99ms}` : null, x.ramp.atMax ? `${x.ramp.atMax.p50ms} / ${x.ramp.atMax.p99ms}` : null, x.qos1Burst?.perSec ?? null, `${x.idleRssMiB} / ${x.ramp.at1000?.rssMiB ?? '—'} / ${x.ramp.rssPeakMiB}`];
    tables.push({
      columns: ['system', 'highest sustained records/s (achieved)', 'p50 / p99 ms at 1,000/s', 'p50 / p99 ms at the highest sustained', `${BURST_COUNT.toLocaleString('en-US')} QoS 1 messages from the source, records/s`, 'RSS MiB idle / at 1,000/s / peak'],
      rows: [row('gateway, synchronous FULL (default)', g), ...(n?.ramp ? [row('gateway, synchronous NORMAL', n)] : []), row('raw relay (peer)', r)],
    });
    tables.push({ title: 'Ramp steps (rate offered → achieved)', columns: ['system', 'offered /s', 'achieved /s', 'sent', 'received', 'sustained', 'p50 ms', 'p99 ms'], rows: (['gateway', 'gatewayNormal', 'relay'] as const).flatMap((k) => (results[k]?.ramp?.steps ?? []).map((s: any) => [k, s.rate, s.achievedPerSec, s.sent, s.received, s.sustained ? 'yes' : 'no', s.p50ms, s.p99ms])) });
  }
  if (g?.qos1Burst && r?.qos1Burst) figures.push({ id: 'pipeline.qos1-burst', label: `pipeline, ${BURST_COUNT.toLocaleString('en-US')} QoS 1 messages from the source`, unit: 'records/s', ours: g.qos1Burst.perSec, peer: r.qos1Burst.perSec, peerName: 'raw relay (acks on receipt)' });
  if (inflight.length) tables.push({ title: `buffer.maxInflight at ${INFLIGHT_RATE.toLocaleString('en-US')} records/s offered`, columns: ['maxInflight', 'achieved records/s', 'p50 ms', 'p99 ms', 'sustained'], rows: inflight.map((x) => [x.maxInflight, x.achievedPerSec, x.p50ms, x.p99ms, x.sustained ? 'yes' : 'no']) });
  if (o) {
    figures.push({ id: 'pipeline.outage-lost', label: `records lost over a ${OUTAGE_SECONDS} s export outage at 1,000 records/s`, unit: 'records', ours: o.lost, goal: { of: 'ours', op: '<=', value: 0 } });
    figures.push({ id: 'pipeline.drain-rate', label: 'export rate while draining the backlog', unit: 'records/s', ours: o.exportRateWhileDrainingPerSec });
    tables.push({
      title: `Backlog drain after a ${OUTAGE_SECONDS} s outage at 1,000 records/s`,
      columns: ['backlog at return', 'drain time s', 'export rate while draining /s', 'backlog shrink /s (net of live)', 'exported / expected', 'RSS MiB before / end of outage / peak'],
      rows: [[o.backlogAtReturn, o.drainSeconds, o.exportRateWhileDrainingPerSec, o.backlogShrinkPerSec, `${o.exportedUnique} / ${o.expected}`, `${o.rssMiB.before} / ${o.rssMiB.endOfOutage} / ${o.rssMiB.peakHwm}`]],
    });
  }
  return {
    title: 'Pipeline: transform → durable sink → Mosquitto',
    method: `Path: the bench publishes JSON readings to a Mosquitto process (source) → the gateway process (built, \`-log-level error\`): \`mqtt\` connector, ${DEVICES} devices, transforms \`scale\` + \`round\` on one channel → seq + durable buffer (SQLite WAL, \`synchronous FULL\`: an fsync per commit) → \`mqtt\` sink, QoS 1, a record deleted only after its PUBACK → a second Mosquitto process (export) → the bench's subscriber, which checks every \`(device, seq)\` arrived and measures the end-to-end latency. The **peer**, over the same two brokers in the same run: a raw mqtt.js relay in its own process that republishes the same records with QoS 1 with the same transform and JSON, and no buffer. The rate steps up (${STEP_SECONDS} s per step); a step is *sustained* when every record arrived within 2 s of the last publish with p99 under 1 s; its rate is the achieved one (records received ÷ (last receipt − first publish)). With the source at QoS 1 the gateway acknowledges each message only once its record is committed (docs/pipeline.md, *Delivery guarantees*). \`buffer.maxInflight\` (records awaiting PUBACK) is set per run (\`PIPELINE_BENCH_INFLIGHT\`). The outage: the export broker stopped (its persistent subscriber session kept) while readings keep coming, then restarted with live traffic continuing.`,
    params: { quick: QUICK, parts: [...parts], stepSeconds: STEP_SECONDS, offeredRates: RATES, burstCount: BURST_COUNT, inflightValues: INFLIGHT_VALUES, inflightRate: INFLIGHT_RATE, outageSeconds: OUTAGE_SECONDS },
    figures,
    tables,
    raw: { ...results, inflight },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
