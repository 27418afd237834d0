/**
 * Benchmark (issue 3): MQTT → WebSocket throughput (messages/s) and latency
 * (p50, p99) with 1 and 10 WebSocket clients and 100 B / 1 KB payloads,
 * measured side by side in the same run for:
 *   - the gateway (built, its own process) bridging from Mosquitto to /ws;
 *   - Mosquitto's own WebSocket listener delivering the same traffic (the ceiling);
 *   - Node-RED's `mqtt in` → `websocket out` flow (installed at bench time into a
 *     temp directory with `npm install --prefix`, never a dependency).
 * All three read the same Mosquitto, fed by one publisher (raw QoS 0 PUBLISH
 * packets on a no-delay socket, one topic); the WebSocket clients live in a separate process (bench/lib/ws-client-fleet.ts).
 *
 * Throughput: closed loop — at most WINDOW messages in flight (published, not
 * yet received by every client); messages/s = N / (last receipt − first publish).
 * Latency: open loop at LATENCY_RATE messages/s for LATENCY_SECONDS; publish → receipt,
 * over every client's every message.
 * Also: the gateway's RSS while 10,000 messages/s flow to one WebSocket client
 * that reads nothing (and one that reads).
 *
 * Run: npm run build && node --import tsx bench/mqtt-ws-throughput.ts
 *      (or `npm run bench -- mqtt-ws`); MQTT_BENCH_QUICK=1 for a short run.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { copyFile, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { cpuSeconds, cpuSplit, peakRssMiB, rssMiB } from './lib/proc-stats.js';
import { summariseProfile, type ProfileSummary } from './lib/cpu-profile-summary.js';
import { QUICK as ALL_QUICK, type BenchReport, type Figure } from './lib/report.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { nodeRedVersion, startMosquitto, startNodeRed } from './lib/mqtt-peers.js';
import { RawPublisher } from './lib/raw-mqtt-publisher.js';
import { freePort } from '../test/helpers/net.js';
import { gatewayAtCommit } from './lib/build-at-commit.js';

const QUICK = ALL_QUICK || process.env.MQTT_BENCH_QUICK === '1';
/** The closed-loop runs profiled with --cpu-prof (1 client, each of PROFILE_SIZES): where the gateway's time goes (issue 16 §5). */
const PROFILE_MESSAGES = QUICK ? 100_000 : 300_000;
/** Payloads of the profiled runs, bytes (e.g. MQTT_BENCH_PROFILE_SIZES=1024 for a diagnostic run). */
const PROFILE_SIZES = (process.env.MQTT_BENCH_PROFILE_SIZES?.split(',') ?? ['100', '1024']).map(Number);
const WINDOW = Number(process.env.MQTT_BENCH_WINDOW ?? 1000); // messages in flight in the closed loop
const THROUGHPUT_MESSAGES = Number(process.env.MQTT_BENCH_MESSAGES ?? (QUICK ? 5_000 : 30_000));
/**
 * Closed-loop runs per row; the row is the one with the median CPU per message (its rate, CPU and
 * feed together), the others kept beside it. On the shared 2-core machine one 1-client run swings
 * by ±3 µs/msg with the other processes' load (issue 16 §5: a figure must meet its goal reliably).
 */
const CLOSED_LOOP_TRIALS = Number(process.env.MQTT_BENCH_TRIALS ?? (QUICK ? 1 : 3));
const LATENCY_RATE = 1000; // messages/s
const LATENCY_SECONDS = QUICK ? 2 : 5;
/** Run only these systems (comma-separated names), e.g. MQTT_BENCH_SYSTEMS=gateway,node-red. */
const ONLY = process.env.MQTT_BENCH_SYSTEMS?.split(',');
/** Only these payload sizes (bytes) and client counts, e.g. MQTT_BENCH_SIZES=100 MQTT_BENCH_CLIENTS=1 for an A/B run. */
const SIZES = (process.env.MQTT_BENCH_SIZES?.split(',') ?? ['100', '1024']).map(Number);
const CLIENT_COUNTS = (process.env.MQTT_BENCH_CLIENTS?.split(',') ?? ['1', '10']).map(Number);
const RSS_RATE = 10_000; // messages/s
const RSS_SECONDS = QUICK ? 5 : 30;
const TOPIC = 'bench/sensor';

type Kind = 'json' | 'mqtt';

/** The client process. */
class Fleet {
  private readonly child: ChildProcess;
  private waiters: Array<(m: any) => boolean> = [];
  onProgress: (min: number) => void = () => undefined;

  constructor() {
    this.child = fork(new URL('./lib/ws-client-fleet.ts', import.meta.url).pathname, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: any) => {
      if (m.progress !== undefined) this.onProgress(m.progress);
      this.waiters = this.waiters.filter((w) => !w(m));
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  private ask<T>(message: unknown, pick: (m: any) => T | undefined, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`fleet did not answer ${JSON.stringify(message)}`)), timeoutMs);
      this.waiters.push((m) => {
        const v = pick(m);
        if (v === undefined) return false;
        clearTimeout(timer);
        resolve(v);
        return true;
      });
      this.child.send(message as object);
    });
  }

  async started(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.waiters.push((m) => (m.started ? (resolve(), true) : false));
    });
  }

  async connect(kind: Kind, url: string, count: number): Promise<void> {
    const r = await this.ask({ cmd: 'connect', kind, url, count }, (m) => (m.ready || m.error ? m : undefined));
    if (r.error) throw new Error(`clients could not connect to ${url}: ${r.error}`);
  }

  reset(expected: number): Promise<unknown> {
    return this.ask({ cmd: 'reset', expected }, (m) => m.reset);
  }

  report(): Promise<{ received: number[]; doneAtNs: string; p50: number; p99: number; max: number; samples: number; unparsable: number }> {
    return this.ask({ cmd: 'report' }, (m) => m.report);
  }

  close(): Promise<unknown> {
    return this.ask({ cmd: 'close' }, (m) => m.closed);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

function payloadOf(seq: number, size: number, padding: string): string {
  const head = `|${seq}|${process.hrtime.bigint()}|`;
  return head + padding.slice(0, Math.max(0, size - head.length));
}

const round = (n: number, digits = 2): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Publishes until every client has every message, never more than WINDOW ahead. */
async function closedLoop(
  publisher: RawPublisher,
  fleet: Fleet,
  total: number,
  size: number,
  pids: { system: number; broker: number; fleet: number },
): Promise<{ messagesPerSec: number; lost: number; cpuPercent: number; cpuMicrosPerMessage: number; kernelMicrosPerMessage: number; brokerMicrosPerMessage: number; pathMicrosPerMessage: number; brokerCpuPercent: number; clientsCpuPercent: number; publisherCpuPercent: number }> {
  const padding = 'x'.repeat(size);
  await fleet.reset(total);
  let published = 0;
  let acked = 0;
  let lastProgressAt = Date.now();
  const cpu0 = cpuSeconds(pids.system);
  const split0 = cpuSplit(pids.system);
  const broker0 = cpuSeconds(pids.broker);
  const fleet0 = cpuSeconds(pids.fleet);
  const self0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const pump = (): void => {
    while (published < total && published - acked < WINDOW) {
      publisher.publish(TOPIC, payloadOf(published, size, padding));
      published++;
    }
  };
  await new Promise<void>((resolve) => {
    const stall = setInterval(() => {
      // A QoS 0 message lost on the way would stall the loop: give up after 10 s without progress.
      if (Date.now() - lastProgressAt > 10_000) {
        clearInterval(stall);
        resolve();
      }
    }, 500);
    fleet.onProgress = (min) => {
      acked = min;
      lastProgressAt = Date.now();
      if (min >= total) {
        clearInterval(stall);
        resolve();
      } else pump();
    };
    pump();
  });
  fleet.onProgress = () => undefined;
  const report = await fleet.report();
  const cpu = cpuSeconds(pids.system) - cpu0;
  const kernel = cpuSplit(pids.system).system - split0.system;
  const brokerCpu = cpuSeconds(pids.broker) - broker0;
  const fleetCpu = cpuSeconds(pids.fleet) - fleet0;
  const self = process.cpuUsage(self0);
  const endNs = report.doneAtNs !== '0' ? BigInt(report.doneAtNs) : process.hrtime.bigint();
  const seconds = Number(endNs - t0) / 1e9;
  const delivered = Math.min(...report.received);
  const perMsg = (sec: number) => round((sec / Math.max(1, delivered)) * 1e6, 1);
  const sameProcess = pids.broker === pids.system;
  return {
    messagesPerSec: Math.round(delivered / seconds),
    lost: total - delivered,
    cpuPercent: round((cpu / seconds) * 100, 1),
    // CPU time of the system's own process per message delivered to every client, µs.
    cpuMicrosPerMessage: perMsg(cpu),
    kernelMicrosPerMessage: perMsg(kernel),
    // The Mosquitto feeding the system (0 for Mosquitto's own listener: it is the system).
    brokerMicrosPerMessage: sameProcess ? 0 : perMsg(brokerCpu),
    // The same work on every side: from the publisher's PUBLISH in to the WebSocket frames out.
    pathMicrosPerMessage: sameProcess ? perMsg(cpu) : perMsg(cpu + brokerCpu),
    brokerCpuPercent: pids.broker === pids.system ? NaN : round((brokerCpu / seconds) * 100, 1),
    clientsCpuPercent: round((fleetCpu / seconds) * 100, 1),
    publisherCpuPercent: round(((self.user + self.system) / 1e6 / seconds) * 100, 1),
  };
}

/** Publishes at `rate` for `seconds` (paced every ms) and reads the latency distribution. */
async function openLoop(publisher: RawPublisher, fleet: Fleet, rate: number, seconds: number, size: number, pids: { system: number; broker: number }): Promise<{ p50ms: number; p99ms: number; maxMs: number; delivered: number; pathMicrosPerMessageAtRate: number }> {
  const padding = 'x'.repeat(size);
  const total = rate * seconds;
  await fleet.reset(total);
  const c0 = cpuSeconds(pids.system) + (pids.broker === pids.system ? 0 : cpuSeconds(pids.broker));
  let sent = 0;
  let min = 0;
  fleet.onProgress = (m) => (min = m);
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
      while (sent < due) publisher.publish(TOPIC, payloadOf(sent++, size, padding));
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  const deadline = Date.now() + 10_000;
  while (min < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  fleet.onProgress = () => undefined;
  const c1 = cpuSeconds(pids.system) + (pids.broker === pids.system ? 0 : cpuSeconds(pids.broker));
  const r = await fleet.report();
  // The same path accounting as the closed loop, at the same fixed rate for every system.
  return { p50ms: round(r.p50, 3), p99ms: round(r.p99, 3), maxMs: round(r.max, 1), delivered: round(Math.min(...r.received) / total, 4), pathMicrosPerMessageAtRate: round(((c1 - c0) / Math.max(1, Math.min(...r.received))) * 1e6, 1) };
}

/** Sends probes until every client has one: the whole path is live. */
async function warm(publisher: RawPublisher, fleet: Fleet, size: number): Promise<void> {
  await fleet.reset(1);
  let got = false;
  fleet.onProgress = (m) => (got = m >= 1);
  const padding = 'x'.repeat(size);
  const deadline = Date.now() + 30_000;
  while (!got) {
    if (Date.now() > deadline) throw new Error('the clients never received a probe');
    publisher.publish(TOPIC, payloadOf(0, size, padding));
    await new Promise((r) => setTimeout(r, 100));
  }
  fleet.onProgress = () => undefined;
  await fleet.report();
  // A short closed-loop run to warm up JITs and buffers.
  await fleet.reset(2000);
  let acked = 0;
  let published = 0;
  await new Promise<void>((resolve) => {
    const pump = (): void => {
      while (published < 2000 && published - acked < WINDOW) publisher.publish(TOPIC, payloadOf(published++, size, padding));
    };
    const timer = setTimeout(resolve, 15_000);
    fleet.onProgress = (m) => {
      acked = m;
      if (m >= 2000) {
        clearTimeout(timer);
        resolve();
      } else pump();
    };
    pump();
  });
  fleet.onProgress = () => undefined;
  await fleet.report();
}

interface System {
  name: string;
  kind: Kind;
  url: string;
  pid: number;
  /** The broker the publisher talks to: the shared Mosquitto, or the system itself (its embedded broker). */
  brokerPid: number;
  /** A publisher of its own (to the system's embedded broker); the shared one to Mosquitto otherwise. */
  publisher?: RawPublisher;
  stop(): Promise<void>;
}

async function waitForGatewayMqtt(url: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const health = (await (await fetch(`${url}/api/health`)).json()) as { components: { mqtt: { status: string } } };
    if (health.components.mqtt.status === 'up') return;
    if (Date.now() > deadline) throw new Error('the gateway did not connect to Mosquitto');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The gateway's RSS with one client that stops reading while RSS_RATE messages/s flow, and what
 * that client observes: once the gateway has dropped it (its counter), the client reads again and
 * records the close code it gets — 1013 if the close frame reaches it, 1006 if the connection ended
 * without one.
 */
async function rssWithStalledClient(publisher: RawPublisher, fleet: Fleet, gw: GatewayProcess): Promise<Record<string, any>> {
  const rssBefore = rssMiB(gw.pid);
  const stalled = new WebSocket(`${gw.url.replace(/^http/, 'ws')}/ws`, { perMessageDeflate: false });
  await new Promise<void>((resolve, reject) => {
    stalled.once('open', () => resolve());
    stalled.once('error', reject);
  });
  const socket = (stalled as unknown as { _socket: import('node:net').Socket })._socket;
  const closed = new Promise<{ code: number; reason: string; atMs: number }>((resolve) => stalled.once('close', (code, reason) => resolve({ code, reason: reason.toString(), atMs: performance.now() })));
  stalled.on('error', () => undefined);
  await fleet.connect('json', `${gw.url.replace(/^http/, 'ws')}/ws`, 1);
  await warm(publisher, fleet, 100);
  socket.pause(); // reads nothing from now on
  let stalledDroppedAtMs: number | null = null;
  // When does the gateway give up on the client that reads nothing? Then that client reads again.
  const poller = setInterval(() => {
    void fetch(`${gw.url}/api/health`)
      .then((r) => r.json() as Promise<{ components: { websocket: { slowClientsDropped: number } } }>)
      .then(
        (h) => {
          if (stalledDroppedAtMs === null && h.components.websocket.slowClientsDropped > 0) {
            stalledDroppedAtMs = performance.now();
            clearInterval(poller);
            socket.resume();
          }
        },
        () => undefined,
      );
  }, 100);
  const total = RSS_RATE * RSS_SECONDS;
  await fleet.reset(total);
  const padding = 'x'.repeat(100);
  const samples: number[] = [];
  let sent = 0;
  const t0 = performance.now();
  await new Promise<void>((resolve) => {
    let lastSample = 0;
    const tick = (): void => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - t0) / 1000) * RSS_RATE));
      while (sent < due) publisher.publish(TOPIC, payloadOf(sent++, 100, padding));
      if (now - lastSample >= 1000) {
        lastSample = now;
        samples.push(rssMiB(gw.pid));
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  // A drop may come after the last publish (the backlog still growing from what is queued).
  for (let i = 0; i < 100 && stalledDroppedAtMs === null; i++) await new Promise((r) => setTimeout(r, 100));
  clearInterval(poller);
  await new Promise((r) => setTimeout(r, 2000));
  const report = await fleet.report();
  await fleet.close();
  const health = (await (await fetch(`${gw.url}/api/health`)).json()) as { components: { websocket: Record<string, number>; mqtt: Record<string, number> } };
  const close = await Promise.race([closed, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
  stalled.terminate();
  return {
    rateMessagesPerSec: RSS_RATE,
    seconds: RSS_SECONDS,
    rssMiB: { before: rssBefore, maxDuring: Math.max(...samples), end: rssMiB(gw.pid), peakHighWaterMark: peakRssMiB(gw.pid), samples },
    stalledClientDroppedAfterMs: stalledDroppedAtMs === null ? null : Math.round(stalledDroppedAtMs - t0),
    stalledClientObservedClose: close ? { code: close.code, reason: close.reason, msAfterDropSeen: stalledDroppedAtMs === null ? null : Math.round(close.atMs - stalledDroppedAtMs) } : null,
    slowClientsDropped: health.components.websocket.slowClientsDropped,
    readingClientReceived: report.received[0],
    readingClientExpected: total,
    readingClientLatencyP99ms: round(report.p99, 2),
  };
}

/**
 * A/B diagnostics, never in the committed run: MQTT_BENCH_GATEWAY_COMMIT=<commit> measures the
 * gateway of that commit (built in /tmp, bench/lib/build-at-commit.ts); MQTT_BENCH_NODE_ARGS
 * adds node options (e.g. --max-semi-space-size=16, which comes after the binary's own and wins).
 */
const GATEWAY_BIN = process.env.MQTT_BENCH_GATEWAY_COMMIT ? gatewayAtCommit(process.env.MQTT_BENCH_GATEWAY_COMMIT) : undefined;
const EXTRA_NODE_ARGS = process.env.MQTT_BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];

/** A gateway fed by the shared Mosquitto, or with its own embedded broker the publisher talks to. */
async function startGateway(feed: 'mosquitto' | 'embedded', mosquitto: { port: number; pid: number }, profileArgs: string[] = []): Promise<{ gw: GatewayProcess; publisher: RawPublisher | undefined; brokerPid: number }> {
  const nodeArgs = [...EXTRA_NODE_ARGS, ...profileArgs];
  if (feed === 'mosquitto') {
    const gw = await startGatewayProcess({ mqtt: { url: `mqtt://127.0.0.1:${mosquitto.port}` } }, [], GATEWAY_BIN, nodeArgs);
    await waitForGatewayMqtt(gw.url);
    return { gw, publisher: undefined, brokerPid: mosquitto.pid };
  }
  const port = await freePort();
  // The default configuration otherwise (subscription #, retention, cluster on MQTT): only the broker differs.
  const gw = await startGatewayProcess({ mqtt: { url: 'embedded', embedded: { host: '127.0.0.1', port } } }, [], GATEWAY_BIN, nodeArgs);
  try {
    await waitForGatewayMqtt(gw.url);
    const publisher = await RawPublisher.connect(port, `bench-publisher-embedded-${process.pid}`);
    return { gw, publisher, brokerPid: gw.pid };
  } catch (err) {
    await gw.stop();
    throw err;
  }
}

/** The gateway under --cpu-prof for one closed-loop run (1 client, `bytes` payloads): where its time goes. */
async function profileGateway(feed: 'mosquitto' | 'embedded', bytes: number, shared: RawPublisher, fleet: Fleet, mosquitto: { port: number; pid: number }): Promise<{ feed: string; bytes: number; summary: ProfileSummary; run: Record<string, number>; userSeconds: number; kernelSeconds: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'spore-bench-prof-'));
  try {
    const { gw, publisher: own, brokerPid } = await startGateway(feed, mosquitto, ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval', '200']);
    const publisher = own ?? shared;
    let runFigures: Record<string, number>;
    let split: { user: number; system: number };
    let startUs = 0;
    let endUs = 0;
    try {
      await fleet.connect('json', `${gw.url.replace(/^http/, 'ws')}/ws`, 1);
      await warm(publisher, fleet, bytes);
      const s0 = cpuSplit(gw.pid);
      startUs = Number(process.hrtime.bigint() / 1000n);
      runFigures = await closedLoop(publisher, fleet, PROFILE_MESSAGES, bytes, { system: gw.pid, broker: brokerPid, fleet: fleet.pid });
      endUs = Number(process.hrtime.bigint() / 1000n);
      const s1 = cpuSplit(gw.pid);
      split = { user: s1.user - s0.user, system: s1.system - s0.system };
      await fleet.close();
    } finally {
      await own?.end();
      await gw.stop(); // SIGTERM: the gateway exits normally and node writes the profile
    }
    const file = (await readdir(dir)).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error('the gateway wrote no CPU profile');
    if (process.env.MQTT_BENCH_KEEP_PROFILE) await copyFile(join(dir, file), `${process.env.MQTT_BENCH_KEEP_PROFILE}-${feed}-${bytes}.cpuprofile`);
    return { feed, bytes, summary: summariseProfile(join(dir, file), 15, { startUs, endUs }), run: runFigures, userSeconds: round(split.user, 2), kernelSeconds: round(split.system, 2) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const feedOf = (m: { port: number; pid?: number }): { port: number; pid: number } => ({ port: m.port, pid: m.pid! });

export async function run(): Promise<BenchReport> {
  const mosquitto = await startMosquitto();
  const fleet = new Fleet();
  await fleet.started();
  const publisher = await RawPublisher.connect(mosquitto.port, `bench-publisher-${process.pid}`);
  const results: Array<Record<string, unknown>> = [];
  const systems: Array<[string, () => Promise<System>]> = [
    ['gateway', async () => {
      const { gw } = await startGateway('mosquitto', feedOf(mosquitto));
      return { name: 'gateway', kind: 'json', url: `${gw.url.replace(/^http/, 'ws')}/ws`, pid: gw.pid, brokerPid: mosquitto.pid!, stop: () => gw.stop() };
    }],
    // The same work as Mosquitto's own WebSocket listener, in one process: the publisher's MQTT in
    // (the gateway's embedded broker), WebSocket frames out on /ws.
    ['gateway-embedded', async () => {
      const { gw, publisher: own, brokerPid } = await startGateway('embedded', feedOf(mosquitto));
      return { name: 'gateway-embedded', kind: 'json', url: `${gw.url.replace(/^http/, 'ws')}/ws`, pid: gw.pid, brokerPid, publisher: own!, stop: async () => { await own!.end(); await gw.stop(); } };
    }],
    ['mosquitto-ws', async () => ({ name: 'mosquitto-ws', kind: 'mqtt', url: `${mosquitto.wsUrl}/mqtt`, pid: mosquitto.pid!, brokerPid: mosquitto.pid!, stop: async () => undefined })],
    ['node-red', async () => {
      const nr = await startNodeRed(mosquitto.port);
      return { name: 'node-red', kind: 'json', url: nr.wsUrl, pid: nr.pid, brokerPid: mosquitto.pid!, stop: () => nr.stop() };
    }],
  ];
  let rss: Record<string, any> = {};
  const profiles: Array<Awaited<ReturnType<typeof profileGateway>>> = [];
  try {
    for (const [name, startSystem] of systems) {
      if (ONLY && !ONLY.includes(name)) continue;
      const system = await startSystem();
      try {
        const pub = system.publisher ?? publisher;
        for (const size of SIZES) {
          for (const clients of CLIENT_COUNTS) {
            await fleet.connect(system.kind, system.url, clients);
            await warm(pub, fleet, size);
            const trials: Array<Awaited<ReturnType<typeof closedLoop>>> = [];
            for (let t = 0; t < CLOSED_LOOP_TRIALS; t++) trials.push(await closedLoop(pub, fleet, THROUGHPUT_MESSAGES, size, { system: system.pid, broker: system.brokerPid, fleet: fleet.pid }));
            const byCpu = [...trials].sort((a, b) => a.cpuMicrosPerMessage - b.cpuMicrosPerMessage);
            const throughput = { ...byCpu[Math.floor((byCpu.length - 1) / 2)]!, trialsCpuMicrosPerMessage: trials.map((t) => t.cpuMicrosPerMessage), trialsPathMicrosPerMessage: trials.map((t) => t.pathMicrosPerMessage), trialsMessagesPerSec: trials.map((t) => t.messagesPerSec) };
            const latency = await openLoop(pub, fleet, LATENCY_RATE, LATENCY_SECONDS, size, { system: system.pid, broker: system.brokerPid });
            await fleet.close();
            const row = { system: system.name, payloadBytes: size, clients, ...throughput, latencyAt: LATENCY_RATE, ...latency };
            process.stderr.write(`${JSON.stringify(row)}\n`);
            results.push(row);
          }
        }
      } finally {
        await system.stop();
      }
    }
    for (const bytes of PROFILE_SIZES) {
      if (!ONLY || ONLY.includes('profile')) profiles.push(await profileGateway('mosquitto', bytes, publisher, fleet, feedOf(mosquitto)));
      if (!ONLY || ONLY.includes('profile-embedded')) profiles.push(await profileGateway('embedded', bytes, publisher, fleet, feedOf(mosquitto)));
    }
    if (!ONLY || ONLY.includes('rss')) {
      const gw = await startGatewayProcess({ mqtt: { url: `mqtt://127.0.0.1:${mosquitto.port}` } });
      try {
        await waitForGatewayMqtt(gw.url);
        rss = await rssWithStalledClient(publisher, fleet, gw);
        process.stderr.write(`${JSON.stringify(rss)}\n`);
      } finally {
        await gw.stop();
      }
    }
  } finally {
    await publisher.end();
    fleet.kill();
    await mosquitto.destroy('SIGTERM');
  }
  const find = (system: string, size: number, clients: number): Record<string, any> | undefined =>
    results.find((r) => r.system === system && r.payloadBytes === size && r.clients === clients);
  const ratios = [100, 1024].flatMap((size) =>
    [1, 10].map((clients) => {
      const g = find('gateway', size, clients)?.messagesPerSec ?? NaN;
      return {
        payloadBytes: size,
        clients,
        gatewayVsNodeRed: round(g / (find('node-red', size, clients)?.messagesPerSec ?? NaN)),
        gatewayVsMosquitto: round(g / (find('mosquitto-ws', size, clients)?.messagesPerSec ?? NaN)),
        embeddedVsMosquitto: round((find('gateway-embedded', size, clients)?.messagesPerSec ?? NaN) / (find('mosquitto-ws', size, clients)?.messagesPerSec ?? NaN)),
      };
    }),
  );
  const nodeRed = await nodeRedVersion().catch(() => 'unknown');
  const figures: Figure[] = [];
  for (const size of [100, 1024]) {
    for (const clients of [1, 10]) {
      const g = find('gateway', size, clients);
      const ge = find('gateway-embedded', size, clients);
      const nr = find('node-red', size, clients);
      const mq = find('mosquitto-ws', size, clients);
      const tag = `${size === 100 ? '100 B' : '1 KB'}, ${clients} client${clients > 1 ? 's' : ''}`;
      if (g && nr) {
        figures.push({ id: `mqttws.rate-vs-nodered.${size}b.${clients}c`, label: `MQTT → WebSocket throughput, ${tag}`, unit: 'messages/s', ours: g.messagesPerSec, peer: nr.messagesPerSec, peerName: 'Node-RED', goal: { of: 'ratio', op: '>=', value: 3 } });
        // The same work on both sides, two ways. The goal (issue 16 §5: ≤ 0.5× Node-RED's) is on
        // each system's own process, as the issue measured it ("7–12 µs against Node-RED's
        // 13–32 µs", neither counting Mosquitto). The path adds the one Mosquitto that feeds both
        // alike — work neither system does — so it is kept beside it for reference, no goal.
        figures.push({ id: `mqttws.cpu-vs-nodered.${size}b.${clients}c`, label: `MQTT → WebSocket CPU per message, each fed by Mosquitto, the feed counted on both sides (reference), ${tag}`, unit: 'µs/msg', ours: g.pathMicrosPerMessage, peer: nr.pathMicrosPerMessage, peerName: 'Node-RED' });
        figures.push({ id: `mqttws.cpu-own-vs-nodered.${size}b.${clients}c`, label: `MQTT → WebSocket CPU per message, each fed by Mosquitto, own process only on both sides, ${tag}`, unit: 'µs/msg', ours: g.cpuMicrosPerMessage, peer: nr.cpuMicrosPerMessage, peerName: 'Node-RED', goal: { of: 'ratio', op: '<=', value: 0.5 } });
      }
      if (g && mq) figures.push({ id: `mqttws.rate-vs-mosquitto.${size}b.${clients}c`, label: `MQTT → WebSocket throughput, gateway fed by Mosquitto, ${tag}`, unit: 'messages/s', ours: g.messagesPerSec, peer: mq.messagesPerSec, peerName: 'Mosquitto WS listener', goal: { of: 'ratio', op: '>=', value: 0.5 } });
      // Gateway behind Mosquitto vs Mosquitto alone: two processes against one, kept for reference (no goal).
      if (g && mq) figures.push({ id: `mqttws.cpu-vs-mosquitto.${size}b.${clients}c`, label: `MQTT → WebSocket CPU per message, gateway + the Mosquitto feeding it vs Mosquitto alone, ${tag}`, unit: 'µs/msg', ours: g.pathMicrosPerMessage, peer: mq.pathMicrosPerMessage, peerName: 'Mosquitto WS listener' });
      if (ge && mq) {
        figures.push({ id: `mqttws.rate-embedded-vs-mosquitto.${size}b.${clients}c`, label: `MQTT → WebSocket throughput, one broker process each (gateway's embedded broker), ${tag}`, unit: 'messages/s', ours: ge.messagesPerSec, peer: mq.messagesPerSec, peerName: 'Mosquitto WS listener', goal: { of: 'ratio', op: '>=', value: 0.5 } });
        figures.push({ id: `mqttws.cpu-embedded-vs-mosquitto.${size}b.${clients}c`, label: `MQTT → WebSocket CPU per message, one broker process each (gateway's embedded broker), ${tag}`, unit: 'µs/msg', ours: ge.cpuMicrosPerMessage, peer: mq.cpuMicrosPerMessage, peerName: 'Mosquitto WS listener', goal: { of: 'ratio', op: '<=', value: 1 } });
      }
    }
  }
  if (rss.rssMiB) {
    figures.push({ id: 'mqttws.stalled-client-rss', label: `gateway peak RSS, ${RSS_RATE.toLocaleString('en-US')} msg/s to a client that stops reading`, unit: 'MiB', ours: rss.rssMiB.peakHighWaterMark });
    figures.push({ id: 'mqttws.stalled-client-close-code', label: 'close code the stalled client observed (contract: 1013)', unit: 'code', ours: rss.stalledClientObservedClose?.code ?? null, goal: { of: 'ours', op: '>=', value: 1013 } });
  }
  const sysName = (n: string) => (n === 'gateway' ? 'gateway (fed by Mosquitto)' : n === 'gateway-embedded' ? 'gateway, embedded broker' : n === 'node-red' ? 'Node-RED (fed by Mosquitto)' : 'Mosquitto direct');
  const tables: NonNullable<BenchReport['tables']> = [
    {
      title: 'Throughput (closed loop) and latency (open loop)',
      columns: ['system', 'payload', 'clients', 'messages/s', 'system CPU %', 'system µs/msg (of which kernel)', 'system µs/msg, every trial', 'Mosquitto feed µs/msg', 'path µs/msg', `path µs/msg at ${LATENCY_RATE}/s`, 'Mosquitto %', 'clients %', 'publisher %', `latency p50 ms at ${LATENCY_RATE}/s`, 'p99 ms', 'lost'],
      rows: results.map((r: any) => [sysName(r.system), `${r.payloadBytes} B`, r.clients, r.messagesPerSec, r.cpuPercent, `${r.cpuMicrosPerMessage} (${r.kernelMicrosPerMessage})`, (r.trialsCpuMicrosPerMessage ?? [r.cpuMicrosPerMessage]).join(', '), r.brokerMicrosPerMessage, r.pathMicrosPerMessage, r.pathMicrosPerMessageAtRate, Number.isNaN(r.brokerCpuPercent) || r.brokerCpuPercent === null ? '(is the system)' : r.brokerCpuPercent, r.clientsCpuPercent, r.publisherCpuPercent, r.p50ms, r.p99ms, r.lost]),
    },
  ];
  // A sampled profile counts wall time on the thread (time preempted on a loaded machine lands in
  // whatever frame was running): each group's share of the busy (non-idle) samples is applied to
  // the CPU time /proc measured for the profiled run, so the groups add up to its µs per message.
  const perMessage = (profile: (typeof profiles)[number], ms: number): number => {
    const idle = profile.summary.categories.filter((x) => /^idle/.test(x.category)).reduce((a, x) => a + x.ms, 0);
    return round((ms / Math.max(1, profile.summary.totalMs - idle)) * profile.run.cpuMicrosPerMessage!, 2);
  };
  const feedName = (feed: string) => (feed === 'embedded' ? 'with its embedded broker (the publisher connected to the gateway)' : 'fed by Mosquitto');
  for (const profile of profiles) {
    tables.push({ title: `Where the gateway's time goes, ${feedName(profile.feed)}: --cpu-prof over ${PROFILE_MESSAGES.toLocaleString('en-US')} messages, 1 client, ${profile.bytes} B (${profile.run.messagesPerSec.toLocaleString('en-US')} messages/s, ${profile.run.cpuMicrosPerMessage} µs/msg while profiled; user ${profile.userSeconds} s, kernel ${profile.kernelSeconds} s of CPU from /proc)`, columns: ['group (self time)', 'ms', 'CPU µs per message (share of busy samples × measured CPU)', '% of the profiled thread'], rows: profile.summary.categories.slice(0, 18).map((c) => [c.category, c.ms, /^idle/.test(c.category) ? '—' : perMessage(profile, c.ms), c.percent]) });
    tables.push({ title: `Heaviest functions (self time), ${feedName(profile.feed)}, ${profile.bytes} B`, columns: ['function', 'where', 'ms', '%'], rows: profile.summary.functions.map((f) => [f.fn, f.where, f.ms, f.percent]) });
  }
  if (rss.rssMiB) {
    tables.push({
      title: `Gateway RSS: ${RSS_RATE.toLocaleString('en-US')} messages/s for ${RSS_SECONDS} s to a client that stops reading, and one that reads`,
      columns: ['RSS before MiB', 'max during MiB', 'end MiB', 'peak (VmHWM) MiB', 'stalled client dropped after ms', 'close the stalled client observed', 'reading client received'],
      rows: [[rss.rssMiB.before, rss.rssMiB.maxDuring, rss.rssMiB.end, rss.rssMiB.peakHighWaterMark, rss.stalledClientDroppedAfterMs, rss.stalledClientObservedClose ? `${rss.stalledClientObservedClose.code} ${rss.stalledClientObservedClose.reason ? `"${rss.stalledClientObservedClose.reason}"` : ''} ${rss.stalledClientObservedClose.msAfterDropSeen} ms after the drop was seen` : 'none in 5 s', `${rss.readingClientReceived} / ${rss.readingClientExpected}`]],
    });
  }
  const notes: string[] = [];
  for (const size of [100, 1024]) {
    const tag = `1 client, ${size === 1024 ? '1 KB' : `${size} B`}`;
    const g1 = find('gateway', size, 1);
    const ge1 = find('gateway-embedded', size, 1);
    const nr1 = find('node-red', size, 1);
    const mq1 = find('mosquitto-ws', size, 1);
    if (ge1 && mq1) {
      notes.push(
        `**Same work in one process each** (${tag}): the gateway with its embedded broker takes the publisher's MQTT in and delivers on /ws for ${ge1.cpuMicrosPerMessage} µs of its process's CPU per message (of which kernel ${ge1.kernelMicrosPerMessage}); Mosquitto's own WebSocket listener ${mq1.cpuMicrosPerMessage} (kernel ${mq1.kernelMicrosPerMessage}) — ratio ${round(ge1.cpuMicrosPerMessage / mq1.cpuMicrosPerMessage)} (goal ≤ 1). Each figure is that one broker process's user + kernel CPU; the publisher and the clients are in other processes, left out of both.`,
      );
    }
    if (g1 && nr1) {
      const budget = round(0.5 * nr1.pathMicrosPerMessage - g1.brokerMicrosPerMessage, 1);
      notes.push(
        `**Gateway vs Node-RED, each fed by the same Mosquitto** (${tag}): own process only, ${g1.cpuMicrosPerMessage} vs ${nr1.cpuMicrosPerMessage} µs/msg (ratio ${round(g1.cpuMicrosPerMessage / nr1.cpuMicrosPerMessage)}); with the feeding Mosquitto counted on both sides, ${g1.pathMicrosPerMessage} (${g1.cpuMicrosPerMessage} + ${g1.brokerMicrosPerMessage}) vs ${nr1.pathMicrosPerMessage} (${nr1.cpuMicrosPerMessage} + ${nr1.brokerMicrosPerMessage}) (ratio ${round(g1.pathMicrosPerMessage / nr1.pathMicrosPerMessage)}). ` +
          `The feed (Mosquitto taking the publisher's messages in and writing them to one TCP subscriber) is the same work for both and adds about the same to both, so counting it pulls the ratio toward 1: for ≤ 0.5 with it counted, the gateway's own process would have to spend at most ${Math.max(0, budget)} µs/msg${budget <= 0 ? ' — nothing: the feed alone is half of Node-RED\'s whole path' : ''}. ` +
          `While this runs, the publisher (${g1.publisherCpuPercent} %), the clients (${g1.clientsCpuPercent} %), Mosquitto (${g1.brokerCpuPercent} %) and the gateway (${g1.cpuPercent} %) share 2 cores.`,
      );
    }
  }
  for (const profile of profiles) {
    const c = profile.summary.categories;
    const us = (re: RegExp) => perMessage(profile, c.filter((x) => re.test(x.category)).reduce((a, x) => a + x.ms, 0));
    const mqttLibs = profile.feed === 'embedded' ? /library (aedes|aedes-packet|mqemitter|qlobber|fastparallel|fastfall|fastseries|reusify|mqtt-packet|bl|readable-stream|debug)$/ : /library (mqtt|mqtt-packet|bl|readable-stream|debug|mqtt-packet)$/;
    notes.push(
      `**Where the remaining time goes, ${feedName(profile.feed)}, ${profile.bytes} B** (--cpu-prof, 1 client, ${profile.bytes} B, ${profile.run.cpuMicrosPerMessage} µs of CPU per message while profiled, ${round((profile.kernelSeconds / Math.max(0.01, profile.userSeconds + profile.kernelSeconds)) * 100, 0)} % of it in the kernel), per message: ` +
        `garbage collection ${us(/garbage/)} µs; ${profile.feed === 'embedded' ? 'the MQTT receive path (aedes: parsing the publisher\'s packets, its publish pipeline and topic matching — mqtt-packet, bl, qlobber, mqemitter)' : 'the MQTT receive path (mqtt.js, mqtt-packet, bl, debug)'} ${us(mqttLibs)} µs; ` +
        `the WebSocket socket writes (\`writeBuffer\`/\`writev\`: the syscall, with the kernel's loopback delivery to the client and its wake-up) ${us(/^native: (writeBuffer|writev)$/)} µs; other native calls (\`utf8Slice\`, \`latin1Slice\`, \`isUtf8\`, reads) and V8 outside JS ${us(/^native: (?!writeBuffer$|writev$)|program/)} µs; Node.js buffers/streams/timers ${us(/^Node\.js/)} µs; the gateway's own code ${us(/^gateway /)} µs (formatting the JSON, bridge checks, retention, the WebSocket hub, the receive fast paths; by file in the table); ws ${us(/library ws$/)} µs. ` +
        `The busy samples are scaled to the CPU /proc measured (the thread was idle ${round(c.filter((x) => /^idle/.test(x.category)).reduce((a, x) => a + x.percent, 0), 1)} % of the run). The gateway runs with \`--max-semi-space-size=1\` (its binary's #! line, for idle memory, issue 16 §3): a 1 MiB young generation is collected often, and an A/B with V8's default (16 MiB), 2 trials each at load 10–11 on the code before the receive fast path, measured 1.5–2.8 µs/msg less CPU (15.3, 16.2 → 13.8, 13.4).`,
    );
  }
  if (rss.stalledClientObservedClose) {
    const code = rss.stalledClientObservedClose.code;
    notes.push(
      code === 1013
        ? `The stalled client, reading again once the gateway had dropped it, received the close frame with code 1013 (${rss.stalledClientObservedClose.msAfterDropSeen} ms after the drop was seen).`
        : `The stalled client did **not** observe 1013: it got close code ${code} ${rss.stalledClientObservedClose.msAfterDropSeen} ms after the drop was seen. The gateway's close frame is queued behind the backlog the client never read, and the gateway terminates the connection 1 s after sending it.`,
    );
  }
  return {
    title: 'MQTT → WebSocket',
    method: `Four systems get the same messages from one publisher (raw QoS 0 PUBLISH packets on a no-delay socket, one topic, in the bench process) and deliver them to the same WebSocket clients (\`ws\`, in their own process, \`bench/lib/ws-client-fleet.ts\`, reading \`|seq|hrtime|\` straight from the bytes, UTF-8 validation off for all). Three read one Mosquitto (QoS 0, \`set_tcp_nodelay true\`, no queue limit) the publisher writes to; the fourth is a broker itself:

- **gateway** (fed by Mosquitto) — the built gateway, its own process, default configuration (\`-mqtt tcp://…\`, subscription \`#\`, retention on, cluster on MQTT on), clients on \`/ws\`;
- **gateway, embedded broker** — the same gateway with \`-mqtt embedded\` (aedes in its process; the bridge takes the broker's messages in process, no loopback MQTT connection), the publisher connected to it, clients on \`/ws\`: the same work as Mosquitto direct, in one process;
- **Mosquitto direct** — Mosquitto's own WebSocket listener, the clients speaking MQTT over WebSocket;
- **Node-RED** — \`mqtt in\` (bench/#, QoS 0, UTF-8) → \`websocket out\` (whole message as JSON), installed at bench time with \`npm install --prefix $TMPDIR/spore-bench-node-red node-red@4\` (Node-RED 5 needs Node ≥ 22.9; never a dependency of the package).

Throughput: closed loop, at most ${WINDOW} messages in flight (published but not yet received by every client), ${THROUGHPUT_MESSAGES.toLocaleString('en-US')} messages; messages/s = messages received by every client ÷ (last receipt − first publish). Each row is run ${CLOSED_LOOP_TRIALS} times in a row and the run with the median CPU per message is reported (its rate, CPU and feed together; every run's CPU is in the JSON and the "trials" column). Latency: open loop at ${LATENCY_RATE} messages/s for ${LATENCY_SECONDS} s, publish → receipt at each client.

**CPU per message counts the same work on both sides of every comparison** (issue 16 §1). CPU times are from /proc (user + kernel) of the named processes, divided by the messages delivered to every client; the clients' and the publisher's processes are the same for all and left out (their CPU % is shown for reference).
- *Gateway with its embedded broker vs Mosquitto direct*: each is one broker process doing all of it — the publisher's PUBLISH packets in over TCP, the WebSocket frames out — and its CPU is that process's alone (column "system µs/msg").
- *Gateway vs Node-RED*, both fed by the same Mosquitto: their own process only ("system µs/msg": MQTT in from Mosquitto over TCP, WebSocket frames out), and, as a second figure, the *path* including the Mosquitto that feeds each ("path µs/msg" = system + "Mosquitto feed µs/msg", the feed measured in the same run). The goal (≤ 0.5×) is on the processes' own CPU, the accounting of the issue's own figures ("7–12 µs against Node-RED's 13–32 µs", neither counting Mosquitto); the path adds the same Mosquitto to both sides, work neither system does, and is shown for reference without a goal.
- *Gateway fed by Mosquitto vs Mosquitto direct* (path) compares two processes with one; kept for reference, without a goal.

**Profile** (issue 16 §5): a separate gateway process under \`node --cpu-prof\` (200 µs sampling) for one closed-loop run of ${PROFILE_MESSAGES.toLocaleString('en-US')} messages, 1 client, each of ${PROFILE_SIZES.map((b) => `${b} B`).join(' and ')}, once fed by Mosquitto and once with its embedded broker; only the samples of that run are counted, grouped by where the code lives. Kernel time is not in a V8 profile: it shows as the native call that made the syscall; the user/kernel split is from /proc.

**Memory with a client that stops reading**: ${RSS_RATE.toLocaleString('en-US')} messages/s of 100 B for ${RSS_SECONDS} s to one client that stops reading after the upgrade, and one normal client; once the gateway's \`slowClientsDropped\` counter shows it dropped the stalled client, that client reads again and records the close code it gets.`,
    params: { quick: QUICK, window: WINDOW, ...(GATEWAY_BIN ? { gatewayCommit: process.env.MQTT_BENCH_GATEWAY_COMMIT } : {}), ...(EXTRA_NODE_ARGS.length ? { nodeArgs: EXTRA_NODE_ARGS } : {}), throughputMessages: THROUGHPUT_MESSAGES, closedLoopTrials: CLOSED_LOOP_TRIALS, latencyRate: LATENCY_RATE, latencySeconds: LATENCY_SECONDS, profileMessages: PROFILE_MESSAGES, profileSizes: PROFILE_SIZES, rssRate: RSS_RATE, rssSeconds: RSS_SECONDS, ...(ONLY ? { systems: ONLY } : {}) },
    versions: { 'node-red': nodeRed },
    figures,
    tables,
    notes,
    raw: { results, ratios, rssWithStalledClient: rss, profiles },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (s) => console.log(JSON.stringify(s, null, 2)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
