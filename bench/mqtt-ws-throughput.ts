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
import { loadavg, cpus } from 'node:os';
import net from 'node:net';
import { cpuSeconds, peakRssMiB, rssMiB } from './lib/proc-stats.js';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { nodeRedVersion, startMosquitto, startNodeRed } from './lib/mqtt-peers.js';
import { RawPublisher } from './lib/raw-mqtt-publisher.js';

const QUICK = process.env.MQTT_BENCH_QUICK === '1';
const WINDOW = Number(process.env.MQTT_BENCH_WINDOW ?? 1000); // messages in flight in the closed loop
const THROUGHPUT_MESSAGES = QUICK ? 5_000 : 30_000;
const LATENCY_RATE = 1000; // messages/s
const LATENCY_SECONDS = QUICK ? 2 : 5;
/** Run only these systems (comma-separated names), e.g. MQTT_BENCH_SYSTEMS=gateway,node-red. */
const ONLY = process.env.MQTT_BENCH_SYSTEMS?.split(',');
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
): Promise<{ messagesPerSec: number; lost: number; cpuPercent: number; cpuMicrosPerMessage: number; brokerCpuPercent: number; clientsCpuPercent: number; publisherCpuPercent: number }> {
  const padding = 'x'.repeat(size);
  await fleet.reset(total);
  let published = 0;
  let acked = 0;
  let lastProgressAt = Date.now();
  const cpu0 = cpuSeconds(pids.system);
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
  const brokerCpu = cpuSeconds(pids.broker) - broker0;
  const fleetCpu = cpuSeconds(pids.fleet) - fleet0;
  const self = process.cpuUsage(self0);
  const endNs = report.doneAtNs !== '0' ? BigInt(report.doneAtNs) : process.hrtime.bigint();
  const seconds = Number(endNs - t0) / 1e9;
  const delivered = Math.min(...report.received);
  return {
    messagesPerSec: Math.round(delivered / seconds),
    lost: total - delivered,
    cpuPercent: round((cpu / seconds) * 100, 1),
    // CPU time of the system under test per message delivered to every client, µs.
    cpuMicrosPerMessage: round((cpu / Math.max(1, delivered)) * 1e6, 1),
    brokerCpuPercent: pids.broker === pids.system ? NaN : round((brokerCpu / seconds) * 100, 1),
    clientsCpuPercent: round((fleetCpu / seconds) * 100, 1),
    publisherCpuPercent: round(((self.user + self.system) / 1e6 / seconds) * 100, 1),
  };
}

/** Publishes at `rate` for `seconds` (paced every ms) and reads the latency distribution. */
async function openLoop(publisher: RawPublisher, fleet: Fleet, rate: number, seconds: number, size: number): Promise<{ p50ms: number; p99ms: number; maxMs: number; delivered: number }> {
  const padding = 'x'.repeat(size);
  const total = rate * seconds;
  await fleet.reset(total);
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
  const r = await fleet.report();
  return { p50ms: round(r.p50, 3), p99ms: round(r.p99, 3), maxMs: round(r.max, 1), delivered: round(Math.min(...r.received) / total, 4) };
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

/** The gateway's RSS with one client that reads nothing while RSS_RATE messages/s flow. */
async function rssWithStalledClient(publisher: RawPublisher, fleet: Fleet, gw: GatewayProcess): Promise<Record<string, unknown>> {
  const rssBefore = rssMiB(gw.pid);
  const port = Number(new URL(gw.url).port);
  const stalled = net.connect(port, '127.0.0.1');
  await new Promise<void>((r) => stalled.once('connect', () => r()));
  stalled.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
  await new Promise<void>((r) => stalled.once('data', () => r()));
  stalled.pause(); // reads nothing from now on
  let stalledDroppedAfterMs: number | null = null;
  await fleet.connect('json', `${gw.url.replace(/^http/, 'ws')}/ws`, 1);
  await warm(publisher, fleet, 100);
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
        // When did the gateway give up on the client that reads nothing (closed with 1013)?
        if (stalledDroppedAfterMs === null) {
          const at = Math.round(now - t0);
          void fetch(`${gw.url}/api/health`)
            .then((r) => r.json() as Promise<{ components: { websocket: { slowClientsDropped: number } } }>)
            .then((h) => {
              if (stalledDroppedAfterMs === null && h.components.websocket.slowClientsDropped > 0) stalledDroppedAfterMs = at;
            }, () => undefined);
        }
      }
      if (sent < total) setTimeout(tick, 1);
      else resolve();
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 2000));
  const report = await fleet.report();
  await fleet.close();
  const health = (await (await fetch(`${gw.url}/api/health`)).json()) as { components: { websocket: Record<string, number>; mqtt: Record<string, number> } };
  stalled.destroy();
  return {
    rateMessagesPerSec: RSS_RATE,
    seconds: RSS_SECONDS,
    rssMiB: { before: rssBefore, maxDuring: Math.max(...samples), end: rssMiB(gw.pid), peakHighWaterMark: peakRssMiB(gw.pid), samples },
    stalledClientDroppedWithin1sOfMs: stalledDroppedAfterMs,
    slowClientsDropped: health.components.websocket.slowClientsDropped,
    readingClientReceived: report.received[0],
    readingClientExpected: total,
    readingClientLatencyP99ms: round(report.p99, 2),
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const loadBefore = loadavg().map((l) => round(l, 2));
  const mosquitto = await startMosquitto();
  const fleet = new Fleet();
  await fleet.started();
  const publisher = await RawPublisher.connect(mosquitto.port, `bench-publisher-${process.pid}`);
  const results: Array<Record<string, unknown>> = [];
  const systems: Array<() => Promise<System>> = [
    async () => {
      const gw = await startGatewayProcess({ mqtt: { url: `mqtt://127.0.0.1:${mosquitto.port}` } });
      await waitForGatewayMqtt(gw.url);
      return { name: 'gateway', kind: 'json', url: `${gw.url.replace(/^http/, 'ws')}/ws`, pid: gw.pid, stop: () => gw.stop() };
    },
    async () => ({ name: 'mosquitto-ws', kind: 'mqtt', url: `${mosquitto.wsUrl}/mqtt`, pid: mosquitto.pid!, stop: async () => undefined }),
    async () => {
      const nr = await startNodeRed(mosquitto.port);
      return { name: 'node-red', kind: 'json', url: nr.wsUrl, pid: nr.pid, stop: () => nr.stop() };
    },
  ];
  let rss: Record<string, unknown> = {};
  try {
    for (const startSystem of systems) {
      const system = await startSystem();
      if (ONLY && !ONLY.includes(system.name)) {
        await system.stop();
        continue;
      }
      try {
        for (const size of [100, 1024]) {
          for (const clients of [1, 10]) {
            await fleet.connect(system.kind, system.url, clients);
            await warm(publisher, fleet, size);
            const throughput = await closedLoop(publisher, fleet, THROUGHPUT_MESSAGES, size, { system: system.pid, broker: mosquitto.pid!, fleet: fleet.pid });
            const latency = await openLoop(publisher, fleet, LATENCY_RATE, LATENCY_SECONDS, size);
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
    const gw = await startGatewayProcess({ mqtt: { url: `mqtt://127.0.0.1:${mosquitto.port}` } });
    try {
      await waitForGatewayMqtt(gw.url);
      if (!ONLY || ONLY.includes('rss')) rss = await rssWithStalledClient(publisher, fleet, gw);
      process.stderr.write(`${JSON.stringify(rss)}\n`);
    } finally {
      await gw.stop();
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
      };
    }),
  );
  return {
    machine: { cpus: cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: loadavg().map((l) => round(l, 2)) },
    nodeRed: await nodeRedVersion().catch(() => 'unknown'),
    method: { window: WINDOW, throughputMessages: THROUGHPUT_MESSAGES, latencyRate: LATENCY_RATE, latencySeconds: LATENCY_SECONDS, topic: TOPIC, qos: 0 },
    results,
    ratios,
    rssWithStalledClient: rss,
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
