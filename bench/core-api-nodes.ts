/**
 * Benchmark (issue 2): `GET /api/discovery/nodes` with 1,000 nodes, measured
 * with autocannon against the real gateway process; the peer is a bare Fastify
 * server answering the same bytes from memory (the ceiling for this route).
 * Also: gateway RSS idle and with 1,000 nodes.
 * Run: npm run build && node --import tsx bench/core-api-nodes.ts
 */
import autocannon from 'autocannon';
import Fastify from 'fastify';
import { rssMiB } from './lib/proc-stats.js';
import { freePort } from '../test/helpers/net.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { HeartbeatDriver } from './lib/heartbeat-driver.js';

const QUIET_POLLS = { nodes: { statusPollIntervalMs: 3_600_000, membersRefreshIntervalMs: 3_600_000, activeThresholdMs: 3_600_000, deadThresholdMs: 7_200_000 } };

function cannon(url: string, seconds: number): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    autocannon({ url, connections: 20, duration: seconds, pipelining: 1 }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

export async function run(): Promise<Record<string, unknown>> {
  const gw = await startGatewayProcess(QUIET_POLLS);
  const driver = new HeartbeatDriver(1000, { host: '127.0.0.1', port: gw.udpPort });
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const idleRss = rssMiB(gw.pid);
    await driver.open();
    await driver.run(2000, 1); // every node heard twice
    await new Promise((r) => setTimeout(r, 1000));
    const list = await fetch(`${gw.url}/api/discovery/nodes`);
    const body = await list.text();
    const total = (JSON.parse(body) as { totalNodes: number }).totalNodes;
    const rss1k = rssMiB(gw.pid);
    const gatewayResult = await cannon(`${gw.url}/api/discovery/nodes`, 10);
    const rssAfterLoad = rssMiB(gw.pid);

    const peer = Fastify();
    peer.get('/api/discovery/nodes', async (_req, reply) => reply.type('application/json').send(body));
    const peerPort = await freePort();
    await peer.listen({ port: peerPort, host: '127.0.0.1' });
    const peerResult = await cannon(`http://127.0.0.1:${peerPort}/api/discovery/nodes`, 10);
    await peer.close();

    const summarise = (r: autocannon.Result) => ({ requestsPerSec: Math.round(r.requests.average), p50ms: r.latency.p50, p99ms: r.latency.p99, errors: r.errors, non2xx: r.non2xx });
    return {
      nodes: total,
      responseBytes: body.length,
      gateway: summarise(gatewayResult),
      staticPeer: summarise(peerResult),
      ratio: Math.round((gatewayResult.requests.average / peerResult.requests.average) * 100) / 100,
      rssMiB: { idle: idleRss, with1000Nodes: rss1k, afterLoad: rssAfterLoad },
    };
  } finally {
    driver.close();
    await gw.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
