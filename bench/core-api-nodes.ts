/**
 * Benchmark (issue 2, issue 16 §1): `GET /api/discovery/nodes` with 1,000 nodes. Three processes:
 * the system under test (the built gateway, then the peer — a bare Fastify server answering the
 * same bytes from memory, bench/lib/static-http-peer.ts), and autocannon in a third
 * (bench/lib/autocannon-runner.ts). Also: gateway RSS idle and with 1,000 nodes.
 * Run: npm run build && npm run bench -- core-api
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BenchChild } from './lib/child.js';
import { rssMiB } from './lib/proc-stats.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { HeartbeatDriver } from './lib/heartbeat-driver.js';
import { QUICK, type BenchReport } from './lib/report.js';

const QUIET_POLLS = { nodes: { statusPollIntervalMs: 3_600_000, membersRefreshIntervalMs: 3_600_000, activeThresholdMs: 3_600_000, deadThresholdMs: 7_200_000 } };
const CONNECTIONS = 20;
const SECONDS = QUICK ? 4 : 10;
const ROUTE = '/api/discovery/nodes';

interface CannonResult { requests: number; seconds: number; requestsPerSec: number; p50ms: number; p99ms: number; errors: number; non2xx: number }

async function cannon(url: string): Promise<CannonResult> {
  const runner = new BenchChild(new URL('./lib/autocannon-runner.ts', import.meta.url));
  try {
    await runner.started();
    const r = await runner.ask({ cmd: 'run', url, connections: CONNECTIONS, seconds: SECONDS }, (m) => (m.result || m.error ? m : undefined));
    if (r.error) throw new Error(r.error);
    return r.result as CannonResult;
  } finally {
    await runner.stop();
  }
}

export async function run(): Promise<BenchReport> {
  const gw = await startGatewayProcess(QUIET_POLLS);
  const driver = new HeartbeatDriver(1000, { host: '127.0.0.1', port: gw.udpPort });
  const dir = await mkdtemp(join(tmpdir(), 'spore-bench-api-'));
  let gateway: CannonResult;
  let peer: CannonResult;
  let total: number;
  let bytes: number;
  const rss: Record<string, number> = {};
  try {
    await new Promise((r) => setTimeout(r, 2000));
    rss.idle = rssMiB(gw.pid);
    await driver.open();
    await driver.run(2000, 1); // every node heard twice
    await new Promise((r) => setTimeout(r, 1000));
    const body = await (await fetch(`${gw.url}${ROUTE}`)).text();
    bytes = Buffer.byteLength(body);
    total = (JSON.parse(body) as { totalNodes: number }).totalNodes;
    await writeFile(join(dir, 'body.json'), body);
    rss.with1000Nodes = rssMiB(gw.pid);
    gateway = await cannon(`${gw.url}${ROUTE}`);
    rss.afterLoad = rssMiB(gw.pid);
  } finally {
    driver.close();
    await gw.stop();
  }
  const peerProc = new BenchChild(new URL('./lib/static-http-peer.ts', import.meta.url), [join(dir, 'body.json'), ROUTE]);
  try {
    const port = await peerProc.next((m) => m.port as number | undefined);
    peer = await cannon(`http://127.0.0.1:${port}${ROUTE}`);
  } finally {
    await peerProc.stop();
    await rm(dir, { recursive: true, force: true });
  }
  return {
    title: `GET ${ROUTE} with 1,000 nodes`,
    method: `Three processes: the server (the built gateway holding 1,000 nodes heard over UDP, then the peer), and autocannon (${CONNECTIONS} connections, ${SECONDS} s, no pipelining) in a third. The peer is a bare Fastify server in its own process answering the same bytes (the gateway's answer, saved) from memory: the ceiling for this route on this machine. Requests/s = responses counted ÷ measured duration. The gateway serialises the node list at most once per 200 ms and invalidates it at once on any membership, status, label or primary change.`,
    params: { quick: QUICK, connections: CONNECTIONS, seconds: SECONDS, nodes: total, responseBytes: bytes },
    figures: [
      { id: 'api.nodes-rps', label: `${ROUTE}, 1,000 nodes`, unit: 'requests/s', ours: gateway.requestsPerSec, peer: peer.requestsPerSec, peerName: 'static Fastify, own process', goal: { of: 'ratio', op: '>=', value: 0.5 } },
      { id: 'api.nodes-p99', label: `${ROUTE} p99 latency`, unit: 'ms', ours: gateway.p99ms, peer: peer.p99ms, peerName: 'static Fastify' },
    ],
    tables: [
      { columns: ['server', 'requests/s', 'p50 ms', 'p99 ms', 'errors', 'non-2xx'], rows: [['gateway', gateway.requestsPerSec, gateway.p50ms, gateway.p99ms, gateway.errors, gateway.non2xx], ['static peer', peer.requestsPerSec, peer.p50ms, peer.p99ms, peer.errors, peer.non2xx]] },
      { title: 'Gateway memory', columns: ['state', 'RSS MiB'], rows: [['idle, no nodes', rss.idle], ['1,000 nodes', rss.with1000Nodes], [`1,000 nodes after ${SECONDS} s of the load above`, rss.afterLoad]] },
    ],
    raw: { gateway, peer, rssMiB: rss },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
