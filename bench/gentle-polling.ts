/**
 * Benchmark (issue 19 point 2): gentle polling. At 100, 1,000 and 10,000 nodes heartbeating every
 * 2 s, in steady state: the HTTP requests per second the nodes receive (per route, counted by the
 * emulator), the gateway's CPU (% of a core, /proc CPU time of its pid) and RSS — before (the
 * gateway of the commit before gentle polling landed: every ACTIVE node's status read every 10 s)
 * and after (today's defaults). Goal at 10,000 nodes: < 5 % of a core, < 150 MB RSS, ≤ 10
 * requests/s to nodes.
 * Run: npm run build && npm run bench -- gentle-polling
 * GENTLE_SIZES=10000 (comma-separated node counts) runs only those sizes; GENTLE_TRIALS=2 runs
 * the 10,000-node pair twice; GENTLE_WINDOW_SEC sets the window.
 */
import { measureBareUdp, type BareUdpRun } from './lib/bare-udp-floor.js';
import { gatewayAtCommit } from './lib/build-at-commit.js';
import { measurePolling, SHARED_LISTENER_ABOVE, MEMBERS_ROUTE, STATUS_ROUTE, type PollingRun } from './lib/polling-run.js';
import { QUICK, median, round, type BenchReport } from './lib/report.js';

/** The last commit before gentle polling (c85f94c, "cluster: gentle polling …"). */
export const BEFORE_COMMIT = '4c8a7cdbcbf882e1332a01b8f20f3f8c9422e56c';
const SIZES = (process.env.GENTLE_SIZES ?? '100,1000,10000').split(',').map((n) => Number(n.trim()));
if (SIZES.some((n) => !Number.isInteger(n) || n < 1 || n > 10_000)) throw new Error(`GENTLE_SIZES: comma-separated node counts 1–10000, not ${JSON.stringify(process.env.GENTLE_SIZES)}`);
const WINDOW_SEC = Number(process.env.GENTLE_WINDOW_SEC ?? (QUICK ? 20 : 40));
/** > statusPollIntervalMs (10 s): a node read on appearance is due again by then under the old rule. */
const SETTLE_SEC = 12;
const TRIALS_10K = Number(process.env.GENTLE_TRIALS ?? 1);

type Variant = 'before' | 'after' | 'heartbeats only';
/** The floor: the same gateway and nodes with status polling and member refresh pushed to an hour (what UDP ingestion, ageing, history and the registry cost alone). */
const HEARTBEATS_ONLY = { nodes: { statusPollIntervalMs: 3_600_000, membersRefreshIntervalMs: 3_600_000 } };

export async function run(): Promise<BenchReport> {
  const beforeBin = gatewayAtCommit(BEFORE_COMMIT);
  const runs: Array<PollingRun & { variant: Variant; trial: number }> = [];
  const failures: string[] = [];
  let bare: BareUdpRun | null = null;
  let k = 0;
  for (const nodes of SIZES) {
    const trials = nodes === 10_000 ? TRIALS_10K : 1;
    for (let trial = 1; trial <= trials; trial++) {
      const variants: Variant[] = nodes === 10_000 && trial === 1 ? ['before', 'after', 'heartbeats only'] : ['before', 'after'];
      for (const variant of variants) {
        const baseIp = `127.${201 + (k++ % 40)}.0.1`;
        let r: PollingRun;
        try {
          r = await measurePolling({ nodes, windowSec: WINDOW_SEC, settleSec: SETTLE_SEC, baseIp, startTimeoutMs: nodes >= 10_000 ? 300_000 : 180_000, ...(variant === 'before' ? { bin: beforeBin } : {}), ...(variant === 'heartbeats only' ? { config: HEARTBEATS_ONLY, waitForReads: false } : {}) });
        } catch (err) {
          // One run that cannot reach steady state must not lose the others: it is reported as failed.
          failures.push(`${variant}, ${nodes.toLocaleString('en-US')} nodes, trial ${trial}: ${(err as Error).message}`);
          process.stderr.write(`  gentle-polling ${variant} ${nodes} nodes #${trial} FAILED: ${(err as Error).message}\n`);
          continue;
        }
        process.stderr.write(`  gentle-polling ${variant} ${nodes} nodes #${trial}: ${r.requestsPerSec} req/s to nodes, gateway ${r.gatewayCpuPercent} % CPU, ${r.gatewayRssMB} MB\n`);
        runs.push({ ...r, variant, trial });
      }
      if (nodes === 10_000 && trial === 1) {
        // The peer: Node's bare dgram receiving the same 10,000 nodes' heartbeats.
        try {
          bare = await measureBareUdp({ nodes, windowSec: WINDOW_SEC, settleSec: SETTLE_SEC, baseIp: `127.${201 + (k++ % 40)}.0.1` });
          process.stderr.write(`  gentle-polling bare dgram receiver ${nodes} nodes: ${bare.datagramsPerSec} datagrams/s, ${bare.cpuPercent} % CPU, ${bare.rssMB} MB\n`);
        } catch (err) {
          failures.push(`bare dgram receiver, 10,000 nodes: ${(err as Error).message}`);
        }
      }
    }
  }
  const pick = (variant: Variant, nodes: number, f: (r: PollingRun) => number) => round(median(runs.filter((r) => r.variant === variant && r.nodes === nodes).map(f)), 2);
  const fig = (id: string, label: string, unit: string, f: (r: PollingRun) => number, goal: number) => ({
    id,
    label,
    unit,
    ours: pick('after', 10_000, f),
    peer: pick('before', 10_000, f),
    peerName: `before gentle polling (${BEFORE_COMMIT.slice(0, 7)})`,
    goal: { of: 'ours' as const, op: '<=' as const, value: goal },
    ...(TRIALS_10K > 1 ? { note: `median of ${TRIALS_10K} trials` } : {}),
  });
  const after10k = runs.filter((r) => r.variant === 'after' && r.nodes === 10_000);
  return {
    title: 'Gentle polling: HTTP requests to nodes, gateway CPU and RSS',
    method: `The real gateway process (built, \`-log-level warn\`, default configuration) and N virtual nodes in one \`spore-sim\` process (its own event loop; above ${SHARED_LISTENER_ABOVE.toLocaleString('en-US')} nodes it serves HTTP from one listener, \`-http-listen 0.0.0.0\`, so 10,000 nodes fit the 20,000-descriptor limit), each node on its own 127.x address, heartbeating every 2 s and serving the node API: the primary's \`/api/cluster/members\` (every node, with its resources) and each node's \`/api/node/status\`. The emulator counts every HTTP request its nodes receive, per route and per node (\`GET /requests\`, \`GET /nodes\` on its control port).

A run waits until all N nodes are registered and ACTIVE and every node's status was read once (on appearance), then ${SETTLE_SEC} s (longer than \`statusPollIntervalMs\`, 10 s), then measures a ${WINDOW_SEC} s window: requests the nodes received ÷ the window; gateway CPU = its /proc user+system CPU time over the window ÷ the window (% of one core); RSS at the end of the window (MB = 10⁶ bytes; peak of 1 s samples in the table).

**Before** is not a configuration of today's gateway: no setting restores "every ACTIVE node's status every 10 s", so it is the gateway of commit \`${BEFORE_COMMIT.slice(0, 7)}\` (the parent of c85f94c, where gentle polling landed), built by the benchmark from \`git archive\` in a temporary directory (\`bench/lib/build-at-commit.ts\`, server only) with the same node_modules, driven by today's emulator. It differs from today's gateway in more than polling (everything else landed since), so CPU and RSS before/after compare two builds, the request counts compare the polling rules. **After** is today's build with the defaults. The 10,000-node pair runs ${TRIALS_10K} time(s), alternating before/after; the figures are medians. **Heartbeats only** (10,000 nodes, once) is today's build with status polling and the member refresh pushed to an hour: the floor that UDP ingestion, ageing, the node store and history cost without any polling, on the same machine at the same time. **Bare dgram receiver** (10,000 nodes, once; \`bench/lib/bare-udp-floor.ts\`) is no gateway at all: a plain Node.js \`dgram\` socket with the gateway's node options that only counts the same emulator's heartbeats, read the plain way (one epoll wake-up per datagram) — the peer of the CPU figure. The gateway reads in bursts above ~500 datagrams/s (\`src/cluster/udp-read-coalescer.ts\`: the socket paused ≤ 20 ms, then the kernel queue drained), so it can spend less per datagram than this receiver. The machine is shared (2 cores, other engineers' work): the load average is in the header.`,
    params: { quick: QUICK, sizes: SIZES, windowSec: WINDOW_SEC, settleSec: SETTLE_SEC, trials10k: TRIALS_10K, heartbeatMs: 2000, beforeCommit: BEFORE_COMMIT },
    figures: [
      fig('poll.requests-10k', 'HTTP requests/s to nodes, 10,000 nodes, steady state', 'requests/s', (r) => r.requestsPerSec, 10),
      fig('poll.cpu-10k', 'gateway CPU, 10,000 nodes at a 2 s heartbeat (goal < 5)', '% of a core', (r) => r.gatewayCpuPercent, 5),
      fig('poll.rss-10k', 'gateway RSS, 10,000 nodes (goal < 150)', 'MB', (r) => r.gatewayRssMB, 150),
      {
        id: 'poll.cpu-10k-vs-bare-udp',
        label: 'gateway CPU (after) vs a bare Node.js dgram receiver of the same heartbeats, 10,000 nodes',
        unit: '% of a core',
        ours: pick('after', 10_000, (r) => r.gatewayCpuPercent),
        peer: bare ? bare.cpuPercent : null,
        peerName: 'bare dgram receiver (counts datagrams only)',
      },
    ],
    tables: [
      {
        title: 'Steady state, per run',
        columns: ['nodes', 'gateway', 'trial', 'requests/s to nodes', `${STATUS_ROUTE} /s`, `${MEMBERS_ROUTE} /s`, 'status reads at the primary / others (window)', 'heartbeats/s counted', 'gateway CPU % of a core', 'gateway RSS MB (peak)', 'emulator CPU %', 'start-up s (all registered, read once)'],
        rows: [
          ...runs.map((r) => [r.nodes, r.variant, r.trial, r.requestsPerSec, r.statusPerSec, r.membersPerSec, `${r.statusAtPrimary} / ${r.statusAtOthers}`, r.heartbeatsPerSec, r.gatewayCpuPercent, `${r.gatewayRssMB} (${r.gatewayPeakRssMB})`, r.simCpuPercent, r.startupSec]),
          ...(bare ? [[10_000, 'bare dgram receiver', 1, '—', '—', '—', '—', bare.datagramsPerSec, bare.cpuPercent, `${bare.rssMB}`, '—', '—']] : []),
        ],
      },
    ],
    notes: [
      ...failures.map((f) => `**Run failed** (no figures from it): ${f}`),
      ...SIZES.map((n) => {
        const b = pick('before', n, (r) => r.requestsPerSec);
        const a = pick('after', n, (r) => r.requestsPerSec);
        return `${n.toLocaleString('en-US')} nodes: ${b.toLocaleString('en-US')} → ${a.toLocaleString('en-US')} requests/s to nodes (${b > 0 ? `${round(b / Math.max(a, 0.01), 1)}× fewer` : '—'}); gateway CPU ${pick('before', n, (r) => r.gatewayCpuPercent)} → ${pick('after', n, (r) => r.gatewayCpuPercent)} % of a core, RSS ${pick('before', n, (r) => r.gatewayRssMB)} → ${pick('after', n, (r) => r.gatewayRssMB)} MB.`;
      }),
      `Heartbeats only, 10,000 nodes: gateway CPU ${pick('heartbeats only', 10_000, (r) => r.gatewayCpuPercent)} % of a core, RSS ${pick('heartbeats only', 10_000, (r) => r.gatewayRssMB)} MB — what polling adds on top is after − this.`,
      ...(bare ? [`Bare dgram receiver, 10,000 nodes: ${bare.cpuPercent} % of a core for ${bare.datagramsPerSec} datagrams/s (${round((bare.cpuPercent * 10_000) / Math.max(bare.datagramsPerSec, 1), 1)} µs each: kernel receive, libuv, one JavaScript callback) — what plain \`dgram\` reading costs, one wake-up per datagram (the gateway coalesces its reads at this rate); the gateway's CPU is ${round(pick('after', 10_000, (r) => r.gatewayCpuPercent) / Math.max(bare.cpuPercent, 0.01), 2)}× it.`] : []),
      `After, at 10,000 nodes, the requests left are the member list (one request per \`membersRefreshIntervalMs\`, 5 s, or \`membersRefreshMsPerNode\` × nodes when longer: 20 s at 10,000) and the primary's health check (its \`/api/node/status\` every \`primaryCheckIntervalMs\`, 2 s): ${after10k.map((r) => `${r.statusAtOthers} status read(s) of non-primary nodes in the window, ${r.nodesReadMoreThanOnce} non-primary node(s) read more than once since start`).join('; ')}.`,
    ],
    raw: { runs },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
