/**
 * Benchmark (issue 2, issue 16 §1): UDP heartbeat ingestion by the real gateway process.
 *  - 1,000 and 10,000 virtual nodes at a 2 s heartbeat: gateway CPU %, RSS, loss.
 *  - The knee: the highest achieved rate with loss ≤ 0.1 %, for the gateway and for a bare dgram
 *    receiver (its own process, the ceiling of any UDP service here), driven by several sender
 *    processes (bench/lib/udp-blaster.ts) so the driver can outrun both.
 * Run: npm run build && npm run bench -- core-udp
 */
import { readFileSync } from 'node:fs';
import { BenchChild } from './lib/child.js';
import { cpuSeconds, rssMiB } from './lib/proc-stats.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { HeartbeatDriver } from './lib/heartbeat-driver.js';
import { QUICK, round, type BenchReport } from './lib/report.js';

// The status poll would dial 10,000 absent HTTP servers; this bench isolates UDP ingestion.
const QUIET_POLLS = { nodes: { statusPollIntervalMs: 3_600_000, membersRefreshIntervalMs: 3_600_000, removeDeadAfterMs: 3_600_000 } };
const SENDER_PROCESSES = 3;
const SOURCES = 999; // distinct source addresses, split over the sender processes
const STEP_SECONDS = QUICK ? 2 : 3;
const RATES = [5_000, 10_000, 20_000, 40_000, 60_000, 80_000, 120_000, 160_000, 240_000, 320_000]; // offered datagrams/s
const LOSS_LIMIT = 0.1; // % — the knee's definition

async function validCount(url: string): Promise<number> {
  const res = await fetch(`${url}/api/health`);
  const body = (await res.json()) as { components: { udp: { datagrams: { valid: number } } } };
  return body.components.udp.datagrams.valid;
}

async function listedCount(url: string): Promise<number> {
  const res = await fetch(`${url}/api/discovery/nodes`);
  return ((await res.json()) as { totalNodes: number }).totalNodes;
}

/** The kernel's count of UDP datagrams dropped for a full receive buffer, machine-wide (/proc/net/snmp RcvbufErrors). */
function udpReceiveBufferErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const [head, values] = [lines[0]!.split(/\s+/), lines[1]!.split(/\s+/)];
  return Number(values[head.indexOf('RcvbufErrors')] ?? NaN);
}

async function steadyHeartbeats(nodes: number, seconds: number) {
  const gw = await startGatewayProcess(QUIET_POLLS);
  const driver = new HeartbeatDriver(nodes, { host: '127.0.0.1', port: gw.udpPort });
  try {
    await driver.open();
    const idleRss = rssMiB(gw.pid);
    // Registration first (issue 19's finding): a new node costs the gateway ~10× a heartbeat, so
    // the first round of 10,000 is the worst and, on a loaded machine, overflows the socket's
    // receive queue. Rounds of one heartbeat per node until every node is listed; then measure.
    const r0 = performance.now();
    let registrationRounds = 0;
    for (let listed = 0; listed < nodes; ) {
      if (performance.now() - r0 > 180_000) throw new Error(`only ${listed} of ${nodes} nodes registered in 180 s`);
      await driver.run(nodes / 2, 2);
      registrationRounds++;
      await new Promise((r) => setTimeout(r, 500));
      listed = await listedCount(gw.url);
    }
    const registrationSeconds = round((performance.now() - r0) / 1000, 1);
    await new Promise((r) => setTimeout(r, 1000));
    const drops0 = udpReceiveBufferErrors();
    const before = await validCount(gw.url);
    const c0 = cpuSeconds(gw.pid);
    const t0 = performance.now();
    const sent = await driver.run(nodes / 2, seconds); // one heartbeat per node every 2 s
    const sendSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 500));
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(gw.pid) - c0) / elapsed) * 100;
    const received = (await validCount(gw.url)) - before;
    const kernelDrops = udpReceiveBufferErrors() - drops0;
    const listed = await listedCount(gw.url);
    return { nodes, offeredPerSec: nodes / 2, achievedPerSec: Math.round(sent / sendSeconds), seconds: round(sendSeconds, 1), sent, received, lost: sent - received, registered: listed, registrationRounds, registrationSeconds, kernelReceiveBufferErrors: kernelDrops, cpuPercent: round(cpu, 1), rssMiB: rssMiB(gw.pid), idleRssMiB: idleRss };
  } finally {
    driver.close();
    await gw.stop();
  }
}

interface Step {
  offered: number;
  sent: number;
  received: number;
  seconds: number;
  /** datagrams sent ÷ measured send time */
  achievedSendRate: number;
  /** datagrams counted by the receiver ÷ the same time */
  achievedRate: number;
  lossPercent: number;
  sendErrors: number;
}

async function ramp(kind: 'gateway' | 'bare'): Promise<{ kind: string; knee: number; firstLossy: Step | null; driverLimited: boolean; steps: Step[] }> {
  let stop: () => Promise<void>;
  let port: number;
  let counter: () => Promise<number>;
  if (kind === 'gateway') {
    const gw = await startGatewayProcess(QUIET_POLLS);
    port = gw.udpPort;
    counter = () => validCount(gw.url);
    stop = () => gw.stop();
  } else {
    const r = new BenchChild(new URL('./lib/bare-udp-receiver.ts', import.meta.url));
    port = await r.next((m) => m.port as number | undefined);
    counter = () => r.ask({ cmd: 'count' }, (m) => m.count as number | undefined);
    stop = () => r.stop();
  }
  const senders = Array.from({ length: SENDER_PROCESSES }, () => new BenchChild(new URL('./lib/udp-blaster.ts', import.meta.url)));
  const steps: Step[] = [];
  try {
    await Promise.all(senders.map((s) => s.started()));
    const per = Math.floor(SOURCES / SENDER_PROCESSES);
    await Promise.all(senders.map((s, i) => s.ask({ cmd: 'open', host: '127.0.0.1', port, first: i * per, count: per }, (m) => m.opened as number | undefined)));
    const step = async (offered: number): Promise<Step> => {
      const before = await counter();
      const runs = await Promise.all(senders.map((s) => s.ask({ cmd: 'run', rate: offered / SENDER_PROCESSES, seconds: STEP_SECONDS }, (m) => (m.sent !== undefined ? (m as { sent: number; errors: number; startMs: number; endMs: number }) : undefined))));
      const seconds = (Math.max(...runs.map((r) => r.endMs)) - Math.min(...runs.map((r) => r.startMs))) / 1000;
      await new Promise((r) => setTimeout(r, 700)); // the receiver drains its socket buffer
      const received = (await counter()) - before;
      const sent = runs.reduce((a, r) => a + r.sent, 0);
      return { offered, sent, received, seconds: round(seconds, 2), achievedSendRate: Math.round(sent / seconds), achievedRate: Math.round(received / seconds), lossPercent: round(((sent - received) / sent) * 100, 3), sendErrors: runs.reduce((a, r) => a + r.errors, 0) };
    };
    let firstLossy: Step | null = null;
    for (const offered of RATES) {
      let s = await step(offered);
      // One retry: a neighbour's burst on this shared machine can drop a step that is otherwise clean.
      if (s.lossPercent > LOSS_LIMIT) s = await step(offered);
      steps.push(s);
      if (s.lossPercent > LOSS_LIMIT) {
        firstLossy = s;
        break;
      }
    }
    const clean = firstLossy ? steps.slice(0, -1) : steps;
    const knee = Math.max(0, ...clean.map((s) => s.achievedRate));
    // If no step lost anything, the knee is where the driver ran out, not the receiver.
    return { kind, knee, firstLossy, driverLimited: firstLossy === null, steps };
  } finally {
    await Promise.all(senders.map((s) => s.stop()));
    await stop();
  }
}

export async function run(): Promise<BenchReport> {
  const steady1k = await steadyHeartbeats(1000, QUICK ? 4 : 10);
  const steady10k = await steadyHeartbeats(10_000, QUICK ? 4 : 10);
  const gateway = await ramp('gateway');
  const bare = await ramp('bare');
  const limit = (r: typeof gateway) => (r.driverLimited ? ' (no loss at the highest rate the driver achieved: a lower bound)' : '');
  return {
    title: 'UDP heartbeat ingestion',
    method: `The real gateway process (built, \`-log-level error\`, status polling off so only UDP ingestion is measured).

**Steady load**: N virtual nodes, each a UDP socket bound to its own 127.100.x.y address, send \`CLUSTER_HEARTBEAT:<hostname>\` every 2 s. First every node registers (rounds of one heartbeat per node until \`/api/discovery/nodes\` lists all N: a new node costs the gateway about ten times a heartbeat, and on a loaded machine that first round overflows its socket's receive queue — issue 19's finding), then the measured ${QUICK ? 4 : 10} s. Loss = heartbeats sent − valid datagrams the gateway counted (\`/api/health\`); the kernel's machine-wide \`RcvbufErrors\` count (/proc/net/snmp) over the same time is shown beside it. The rate given is the achieved one (sent ÷ measured send time).

**Knee**: ${SENDER_PROCESSES} sender processes (\`bench/lib/udp-blaster.ts\`, ${SOURCES} source addresses between them) offer a rising rate for ${STEP_SECONDS} s per step; the receiver is the gateway, then — as the peer — a bare \`dgram\` receiver in its own process that only counts (same 4 MiB receive buffer). Every rate is achieved: datagrams counted by the receiver ÷ the measured time from the first send to the last send's completion over all senders. The knee is the highest achieved rate of the steps before the first step with loss > ${LOSS_LIMIT} % (a lossy step is retried once). Senders and receiver share the 2 cores, so the knee is also bounded by what the senders take.`,
    params: { quick: QUICK, senderProcesses: SENDER_PROCESSES, sources: SOURCES, stepSeconds: STEP_SECONDS, offeredRates: RATES, lossLimitPercent: LOSS_LIMIT },
    figures: [
      { id: 'udp.knee', label: `UDP heartbeat knee, loss ≤ ${LOSS_LIMIT} %`, unit: 'datagrams/s', ours: gateway.knee, peer: bare.knee, peerName: 'bare dgram receiver', goal: { of: 'ratio', op: '>=', value: 0.5 }, note: `gateway${limit(gateway)}; peer${limit(bare)}` },
      { id: 'udp.cpu-10k-nodes', label: 'gateway CPU with 10,000 nodes at a 2 s heartbeat', unit: '% of a core', ours: steady10k.cpuPercent },
      { id: 'udp.loss-10k-nodes', label: 'heartbeats lost with 10,000 nodes', unit: 'datagrams', ours: steady10k.lost, goal: { of: 'ours', op: '<=', value: 0 } },
    ],
    tables: [
      {
        title: 'Steady load',
        columns: ['nodes', 'heartbeat', 'registration (rounds, s)', 'offered datagrams/s', 'achieved datagrams/s', 'sent', 'lost', 'kernel UDP RcvbufErrors meanwhile (machine-wide)', 'nodes registered', 'gateway CPU %', 'gateway RSS MiB (idle → loaded)'],
        rows: [steady1k, steady10k].map((s) => [s.nodes, '2 s', `${s.registrationRounds}, ${s.registrationSeconds}`, s.offeredPerSec, s.achievedPerSec, s.sent, s.lost, s.kernelReceiveBufferErrors, s.registered, s.cpuPercent, `${s.idleRssMiB} → ${s.rssMiB}`]),
      },
      {
        title: 'Ramp (each step; the last one of a receiver is its first lossy step, if any)',
        columns: ['receiver', 'offered /s', 'sent /s (achieved)', 'received /s (achieved)', 'loss %', 'send errors'],
        rows: [gateway, bare].flatMap((r) => r.steps.map((s) => [r.kind === 'gateway' ? 'gateway' : 'bare dgram', s.offered, s.achievedSendRate, s.achievedRate, s.lossPercent, s.sendErrors])),
      },
    ],
    notes: [
      `Knee: gateway ${gateway.knee.toLocaleString('en-US')} datagrams/s${limit(gateway)}, bare receiver ${bare.knee.toLocaleString('en-US')} datagrams/s${limit(bare)}. ` +
        `${gateway.firstLossy ? `The gateway first lost more than ${LOSS_LIMIT} % at ${gateway.firstLossy.achievedSendRate.toLocaleString('en-US')} datagrams/s sent (${gateway.firstLossy.lossPercent} % lost). ` : ''}` +
        `${bare.firstLossy ? `The bare receiver first lost at ${bare.firstLossy.achievedSendRate.toLocaleString('en-US')} datagrams/s sent (${bare.firstLossy.lossPercent} %). ` : ''}` +
        `At a 2 s heartbeat, ${gateway.knee.toLocaleString('en-US')} datagrams/s is the traffic of ${(gateway.knee * 2).toLocaleString('en-US')} nodes.`,
    ],
    raw: { steady: [steady1k, steady10k], ramps: { gateway, bare } },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
