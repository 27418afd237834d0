/**
 * Benchmark (issue 2): UDP heartbeat ingestion by the real gateway process.
 *  - 1,000 and 10,000 virtual nodes at a 2 s heartbeat: gateway CPU %, RSS, loss.
 *  - The highest heartbeat rate sustained without loss, against a bare dgram
 *    receiver in its own process (the ceiling on this machine) as the peer.
 * Run: npm run build && node --import tsx bench/core-udp-ingest.ts
 */
import { fork } from 'node:child_process';
import { cpuSeconds, rssMiB } from './lib/proc-stats.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { HeartbeatDriver } from './lib/heartbeat-driver.js';

// The status poll would dial 10,000 absent HTTP servers; this bench isolates UDP ingestion.
const QUIET_POLLS = { nodes: { statusPollIntervalMs: 3_600_000, membersRefreshIntervalMs: 3_600_000, removeDeadAfterMs: 3_600_000 } };

async function validCount(url: string): Promise<number> {
  const res = await fetch(`${url}/api/health`);
  const body = (await res.json()) as { components: { udp: { datagrams: { valid: number } } } };
  return body.components.udp.datagrams.valid;
}

async function steadyHeartbeats(nodes: number, seconds: number) {
  const gw = await startGatewayProcess(QUIET_POLLS);
  const driver = new HeartbeatDriver(nodes, { host: '127.0.0.1', port: gw.udpPort });
  try {
    await driver.open();
    const idleRss = rssMiB(gw.pid);
    const before = await validCount(gw.url);
    const c0 = cpuSeconds(gw.pid);
    const t0 = performance.now();
    const sent = await driver.run(nodes / 2, seconds); // one heartbeat per node every 2 s
    await new Promise((r) => setTimeout(r, 500));
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(gw.pid) - c0) / elapsed) * 100;
    const received = (await validCount(gw.url)) - before;
    const listed = ((await (await fetch(`${gw.url}/api/discovery/nodes`)).json()) as { totalNodes: number }).totalNodes;
    return { nodes, ratePerSec: nodes / 2, seconds, sent, received, lost: sent - received, registered: listed, cpuPercent: round(cpu), rssMiB: rssMiB(gw.pid), idleRssMiB: idleRss };
  } finally {
    driver.close();
    await gw.stop();
  }
}

/** A bare receiver that only counts datagrams: the ceiling for any UDP service here. */
async function bareReceiver(): Promise<{ port: number; count: () => Promise<number>; stop: () => void; pid: number }> {
  const child = fork(new URL('./lib/bare-udp-receiver.ts', import.meta.url), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((r) => child.once('message', (m) => r((m as { port: number }).port)));
  return {
    port,
    pid: child.pid!,
    count: () =>
      new Promise<number>((r) => {
        child.once('message', (m) => r((m as { count: number }).count));
        child.send('count');
      }),
    stop: () => child.kill(),
  };
}

async function maxLossFreeRate(kind: 'gateway' | 'bare', rates: number[], nodes: number) {
  const results: Array<{ rate: number; sent: number; received: number; lossPercent: number }> = [];
  let stop: () => Promise<void> | void;
  let port: number;
  let counter: () => Promise<number>;
  if (kind === 'gateway') {
    const gw = await startGatewayProcess(QUIET_POLLS);
    port = gw.udpPort;
    counter = () => validCount(gw.url);
    stop = () => gw.stop();
  } else {
    const r = await bareReceiver();
    port = r.port;
    counter = r.count;
    stop = r.stop;
  }
  const driver = new HeartbeatDriver(nodes, { host: '127.0.0.1', port });
  await driver.open();
  try {
    for (const rate of rates) {
      const before = await counter();
      const sent = await driver.run(rate, 3);
      await new Promise((r) => setTimeout(r, 700));
      const received = (await counter()) - before;
      results.push({ rate, sent, received, lossPercent: round(((sent - received) / sent) * 100) });
    }
  } finally {
    driver.close();
    await stop();
  }
  const best = results.filter((r) => r.lossPercent === 0).at(-1)?.rate ?? 0;
  return { kind, best, results };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

export async function run(): Promise<Record<string, unknown>> {
  const steady1k = await steadyHeartbeats(1000, 10);
  const steady10k = await steadyHeartbeats(10_000, 10);
  const rates = [10_000, 20_000, 40_000, 80_000, 120_000, 160_000];
  const gateway = await maxLossFreeRate('gateway', rates, 1000);
  const bare = await maxLossFreeRate('bare', rates, 1000);
  const summary = {
    steady: [steady1k, steady10k],
    maxLossFreeRate: { gateway: gateway.best, bareReceiver: bare.best, ratio: bare.best ? round(gateway.best / bare.best) : null },
    ramps: { gateway: gateway.results, bareReceiver: bare.results },
  };
  return summary;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
