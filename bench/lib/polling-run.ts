/**
 * One gentle-polling measurement (issue 19 point 2), shared by bench/gentle-polling.ts and its
 * quick form in CI (test/cluster/gentle-polling-bench.test.ts): the real gateway process, N
 * virtual nodes in one `spore-sim` process (its own event loop) heartbeating every 2 s, serving
 * the primary's `/api/cluster/members` and every node's `/api/node/status`; the emulator counts
 * the HTTP requests its nodes receive, per route and per node (`GET /requests`, `GET /nodes`
 * on its control port). Steady state is measured after every node is registered, every node
 * has been read once, and a settle time has passed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpuSeconds, rssMiB } from './proc-stats.js';
import { startGatewayProcess, GATEWAY_BIN } from './gateway-process.js';
import { SIM_BIN, stopProcess } from './firmware-ideal.js';
import { freePort } from '../../test/helpers/net.js';

export const STATUS_ROUTE = 'GET /api/node/status';
export const MEMBERS_ROUTE = 'GET /api/cluster/members';
/**
 * Above this many nodes the emulator serves HTTP from one listener (`-http-listen 0.0.0.0`): a
 * node's own UDP socket and HTTP listener are 2 descriptors, 20,000 at 10,000 nodes — the
 * descriptor limit here (`ulimit -n`, not raisable without CAP_SYS_RESOURCE).
 */
export const SHARED_LISTENER_ABOVE = 5000;

export interface PollingRunOptions {
  nodes: number;
  /** Steady-state window, s. */
  windowSec: number;
  /** After every node was read once: wait this long before the window, s. */
  settleSec: number;
  /** Gateway config (the defaults: {}). */
  config?: Record<string, unknown>;
  /** Gateway binary (an older build for "before"). */
  bin?: string;
  heartbeatMs?: number;
  /** First node address; the others follow (x.y.z.0 and .255 skipped). */
  baseIp?: string;
  /** How long registration and the first reads may take, ms. */
  startTimeoutMs?: number;
  /** Node options of the gateway process (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Wait for every node's status to be read once before measuring (off when polling is off). */
  waitForReads?: boolean;
  /** Called with each process started (tests register them to be killed at exit). */
  track?: (child: ChildProcess) => void;
}

export interface PollingRun {
  nodes: number;
  registered: number;
  active: number;
  windowSec: number;
  /** HTTP requests the nodes received in the window, per route. */
  requests: Record<string, number>;
  requestsPerSec: number;
  statusPerSec: number;
  membersPerSec: number;
  /** Status reads in the window at the node that is primary at its end (the primary's health check) vs all others. */
  statusAtPrimary: number;
  statusAtOthers: number;
  /** Nodes whose status was read more than once since start (only "on appearance" means none but the primary). */
  nodesReadMoreThanOnce: number;
  /** Status reads before the window: the reads on appearance. */
  statusBeforeWindow: number;
  /** s from the emulator's start until every node was registered and read once. */
  startupSec: number;
  gatewayCpuPercent: number;
  gatewayRssMB: number;
  gatewayPeakRssMB: number;
  simCpuPercent: number;
  heartbeatsPerSec: number;
  primary: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const MB = (mib: number) => Math.round(mib * 1.048576 * 10) / 10; // MiB → MB (10^6 bytes)

async function json<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return (await res.json()) as T;
}

interface SimNodeView {
  ip: string;
  statusRequests: number;
}

function startSim(args: string[]): ChildProcess {
  return spawn(process.execPath, [SIM_BIN, '-quiet', ...args], { stdio: ['pipe', 'ignore', 'inherit'] });
}

export async function measurePolling(o: PollingRunOptions): Promise<PollingRun> {
  const gw = await startGatewayProcess(o.config ?? {}, [], o.bin ?? GATEWAY_BIN, o.nodeArgs ?? []);
  o.track?.(gw.child);
  const controlPort = await freePort();
  const started = performance.now();
  const sim = startSim(['-count', String(o.nodes), '-base-ip', o.baseIp ?? '127.201.0.1', '-http-port', String(gw.nodePort), '-udp-port', String(gw.udpPort), '-gateway', '127.0.0.1', '-heartbeat-ms', String(o.heartbeatMs ?? 2000), '-control-port', String(controlPort), ...(o.nodes > SHARED_LISTENER_ABOVE ? ['-http-listen', '0.0.0.0'] : [])]);
  o.track?.(sim);
  const control = `http://127.0.0.1:${controlPort}`;
  let simExit: string | null = null;
  sim.once('exit', (code, signal) => (simExit = `spore-sim exited (${code ?? signal})`));
  try {
    const deadline = Date.now() + (o.startTimeoutMs ?? 180_000);
    const health = () => json<{ components: { nodes: { total: number; ACTIVE: number; primaryNode?: string | null }; udp?: { datagrams?: { valid: number } } } }>(`${gw.url}/api/health`);
    const requests = async () => (await json<{ requests: Record<string, number> }>(`${control}/requests`)).requests;
    const simNodes = () => json<SimNodeView[]>(`${control}/nodes`);
    // Every node registered and ACTIVE, every node's status read once (on appearance).
    let seen = 'nothing yet';
    for (let i = 0; ; i++) {
      if (simExit) throw new Error(simExit);
      if (Date.now() > deadline) throw new Error(`${o.nodes} nodes: not all registered and read once in time; last: ${seen}`);
      try {
        const h = await health();
        seen = `${h.components.nodes.total} registered, ${h.components.nodes.ACTIVE} ACTIVE`;
        const r = await requests();
        seen += `, ${r[STATUS_ROUTE] ?? 0} status reads`;
        // All registered; ACTIVE all but 1 % (a gateway of the old build stalls on a loaded machine).
        if (h.components.nodes.total === o.nodes && h.components.nodes.ACTIVE >= o.nodes - Math.floor(o.nodes / 100) && (o.waitForReads === false || (r[STATUS_ROUTE] ?? 0) >= o.nodes)) break;
      } catch {
        // the control port is up once every node has booted
      }
      if (process.env.BENCH_VERBOSE === '1' && i % 20 === 0) process.stderr.write(`  ${((performance.now() - started) / 1000).toFixed(0)} s: ${seen}\n`);
      await sleep(250);
    }
    const startupSec = (performance.now() - started) / 1000;
    await sleep(o.settleSec * 1000);
    const r0 = await requests();
    const n0 = await simNodes();
    const h0 = await health();
    const c0 = cpuSeconds(gw.pid);
    const s0 = cpuSeconds(sim.pid!);
    const t0 = performance.now();
    let peak = rssMiB(gw.pid);
    const until = t0 + o.windowSec * 1000;
    while (performance.now() < until) {
      await sleep(Math.min(1000, Math.max(0, until - performance.now())));
      peak = Math.max(peak, rssMiB(gw.pid));
    }
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(gw.pid) - c0) / elapsed) * 100;
    const simCpu = ((cpuSeconds(sim.pid!) - s0) / elapsed) * 100;
    const rss = rssMiB(gw.pid);
    const r1 = await requests();
    const n1 = await simNodes();
    const h1 = await health();
    const routes = new Set([...Object.keys(r0), ...Object.keys(r1)]);
    const delta: Record<string, number> = {};
    for (const k of routes) delta[k] = (r1[k] ?? 0) - (r0[k] ?? 0);
    const total = Object.values(delta).reduce((a, b) => a + b, 0);
    const primary = h1.components.nodes.primaryNode ?? null;
    const before = new Map(n0.map((n) => [n.ip, n.statusRequests]));
    let atPrimary = 0;
    let atOthers = 0;
    for (const n of n1) {
      const d = n.statusRequests - (before.get(n.ip) ?? 0);
      if (n.ip === primary) atPrimary += d;
      else atOthers += d;
    }
    const valid = (h: typeof h0) => h.components.udp?.datagrams?.valid ?? NaN;
    const round1 = (x: number) => Math.round(x * 10) / 10;
    return {
      nodes: o.nodes,
      registered: h1.components.nodes.total,
      active: h1.components.nodes.ACTIVE,
      windowSec: round1(elapsed),
      requests: delta,
      requestsPerSec: Math.round((total / elapsed) * 100) / 100,
      statusPerSec: Math.round(((delta[STATUS_ROUTE] ?? 0) / elapsed) * 100) / 100,
      membersPerSec: Math.round(((delta[MEMBERS_ROUTE] ?? 0) / elapsed) * 100) / 100,
      statusAtPrimary: atPrimary,
      statusAtOthers: atOthers,
      nodesReadMoreThanOnce: n1.filter((n) => n.ip !== primary && n.statusRequests > 1).length,
      statusBeforeWindow: r0[STATUS_ROUTE] ?? 0,
      startupSec: round1(startupSec),
      gatewayCpuPercent: Math.round(cpu * 100) / 100,
      gatewayRssMB: MB(rss),
      gatewayPeakRssMB: MB(peak),
      simCpuPercent: round1(simCpu),
      heartbeatsPerSec: Math.round((valid(h1) - valid(h0)) / elapsed),
      primary,
    };
  } finally {
    await stopProcess(sim);
    await gw.stop();
  }
}
