/**
 * Benchmark (issue 4, issue 16 §1): a rollout of a 1 MB image to 50 emulated nodes with a 2 s
 * reboot, batch sizes 1, 5 and 10 (5 and 10 in quick mode) — wall time against a measured ideal,
 * and the gateway's peak RSS.
 *
 * Three processes: the built gateway (a fresh one per rollout, so its peak RSS — VmHWM — belongs to
 * that rollout alone), the emulator (`spore-sim`) and this driver. The ideal is measured in the same
 * run (bench/lib/firmware-ideal.ts): nodes of a fresh emulator process updated one at a time with a
 * plain client, per node upload + reboot + verification; ideal = batches × the mean cycle (a batch
 * takes at least one node's cycle). To show images are streamed, not copied per node, a scaling
 * series updates 10 nodes at once with 1, 4 and 16 MB images, and a probe process
 * (bench/lib/firmware-stream-probe.ts, --expose-gc) measures the live buffer memory of 10
 * simultaneous uploads after a forced GC every 50 ms.
 * Run: npm run build && npm run bench -- firmware-rollout
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFirmwareImage } from '../emulator/index.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { measureNodeCycles, startSimProcess, stopProcess } from './lib/firmware-ideal.js';
import { peakRssMiB, rssMiB } from './lib/proc-stats.js';
import { QUICK, round, type BenchReport } from './lib/report.js';

const NODES = 50;
const IMAGE_BYTES = 1024 * 1024; // 1 MB
const REBOOT_MS = 2000; // the emulated nodes' reboot
const FLASH_BYTES_PER_SEC = 1024 * 1024; // emulated flash write speed: 1 s per image
const BATCH_SIZES = QUICK ? [5, 10] : [1, 5, 10];
const IDEAL_SAMPLES = QUICK ? 3 : 6; // nodes timed one at a time for the ideal
/** The streaming check: 10 nodes in one batch of 10, images of 1, 4 and 16 MB (the default upload limit). */
const SCALING_NODES = 10;
const SCALING_IMAGE_MB = QUICK ? [1, 16] : [1, 4, 16];
const SIM_FLASH = ['-flash-speed', String(FLASH_BYTES_PER_SEC), '-reboot-ms', String(REBOOT_MS), '-flash-size', String(16 * 1024 * 1024), '-free-sketch-space', String(64 * 1024 * 1024)];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

async function json(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

interface RunResult {
  batchSize: number;
  batches: number;
  imageBytes: number;
  wallSeconds: number;
  idealSeconds: number;
  ratioToIdeal: number;
  nodesVerified: number;
  status: string;
  rssMiB: { idleWithNodes: number; peakDuringRollout: number; growth: number };
}

async function rollout(batchSize: number, imageFile: string, imageBytes: number, meanCycleMs: number, run: number, nodes = NODES): Promise<RunResult> {
  const gw = await startGatewayProcess({});
  const sim = startSimProcess(['-count', String(nodes), '-base-ip', `127.${200 + run}.${1 + Math.floor(Math.random() * 200)}.1`, '-http-port', String(gw.nodePort), '-udp-port', String(gw.udpPort), '-heartbeat-ms', '2000', '-labels', 'fleet=bench', ...SIM_FLASH]);
  try {
    await waitUntil(async () => (await json(`${gw.url}/api/discovery/nodes`)).nodes.filter((n: any) => n.status === 'ACTIVE' && n.labels?.fleet === 'bench').length === nodes, `${nodes} nodes`, 60_000);
    await sleep(3000); // a status poll round, then settle
    const idle = rssMiB(gw.pid);
    const form = new FormData();
    form.append('name', 'bench');
    form.append('version', '2.0.0');
    form.append('file', new Blob([await readFile(imageFile)]), 'bench.bin');
    const fw = await json(`${gw.url}/api/firmware`, { method: 'POST', body: form });
    const started = performance.now();
    const created = await json(`${gw.url}/api/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ firmwareId: fw.id, target: { labels: { fleet: 'bench' } }, batchSize, maxFailures: 0, bootTimeoutSec: 30 }),
    });
    let final: any;
    await waitUntil(
      async () => {
        final = await json(`${gw.url}/api/rollouts/${created.id}`);
        return final.finishedAt !== null;
      },
      'rollout end',
      15 * 60_000,
    );
    const wallSeconds = (performance.now() - started) / 1000;
    const peak = peakRssMiB(gw.pid);
    const batches = Math.ceil((nodes - 1) / batchSize) + 1; // the primary goes alone, last
    const idealSeconds = (batches * meanCycleMs) / 1000;
    return {
      batchSize,
      batches,
      imageBytes,
      wallSeconds: round(wallSeconds, 1),
      idealSeconds: round(idealSeconds, 1),
      ratioToIdeal: round(wallSeconds / idealSeconds, 2),
      nodesVerified: final.nodes.filter((n: any) => n.state === 'succeeded').length,
      status: final.status,
      rssMiB: { idleWithNodes: idle, peakDuringRollout: peak, growth: round(peak - idle, 1) },
    };
  } finally {
    await stopProcess(sim);
    await gw.stop();
  }
}

const cyclesOf = (file: string, size: number) => measureNodeCycles({ imageFile: file, imageBytes: size, version: '2.0.0', samples: IDEAL_SAMPLES, simArgs: SIM_FLASH });
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function run(): Promise<BenchReport> {
  const dir = await mkdtemp(join(tmpdir(), 'spore-bench-fw-'));
  const imageFile = join(dir, 'image.bin');
  await writeFile(imageFile, makeFirmwareImage({ version: '2.0.0', size: IMAGE_BYTES }));
  try {
    const cycles = await cyclesOf(imageFile, IMAGE_BYTES);
    const results: RunResult[] = [];
    for (const [i, batchSize] of BATCH_SIZES.entries()) results.push(await rollout(batchSize, imageFile, IMAGE_BYTES, mean(cycles), i));
    const scaling = [];
    for (const [i, mb] of SCALING_IMAGE_MB.entries()) {
      const file = join(dir, `image-${mb}.bin`);
      const size = mb * 1024 * 1024;
      await writeFile(file, makeFirmwareImage({ version: '2.0.0', size }));
      // batch 10 over 10 nodes: the primary goes alone, so 9 then 1 — at most 9 uploads in flight.
      const r = await rollout(SCALING_NODES, file, size, mean(await cyclesOf(file, size)), BATCH_SIZES.length + i, SCALING_NODES);
      scaling.push({ imageMB: mb, peakRssGrowthMiB: r.rssMiB.growth, copiesWouldAddMiB: (SCALING_NODES - 1) * mb, wallSeconds: r.wallSeconds, ratioToIdeal: r.ratioToIdeal, nodesVerified: r.nodesVerified, status: r.status });
    }
    const liveBuffers: Array<{ imageMB: number; maxLiveBufferMiB: number; accepted: number }> = [];
    for (const mb of SCALING_IMAGE_MB) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/lib/firmware-stream-probe.ts', String(mb)]);
      liveBuffers.push(JSON.parse(stdout.trim().split('\n').at(-1)!));
    }
    const b10 = results.find((r) => r.batchSize === 10)!;
    const b1 = results.find((r) => r.batchSize === 1);
    return {
      title: 'Rollout of a 1 MB image to 50 nodes',
      method: `Three processes: the built gateway (\`-log-level error\`, default settings; a fresh one per rollout so its peak RSS — VmHWM — belongs to that rollout alone), the emulator (\`spore-sim\`: ${NODES} nodes, heartbeats every 2 s, flash written at ${FLASH_BYTES_PER_SEC / 1048576} MiB/s, a ${REBOOT_MS / 1000} s reboot) and the driver. One rollout per batch size, \`maxFailures\` 0, \`bootTimeoutSec\` 30; every node is verified on the new version before it counts.

**Ideal** (the peer), measured in the same run: ${IDEAL_SAMPLES} nodes of a fresh emulator process updated one at a time with a plain client — per node upload + reboot + verification (status reads until it reports the new version). A batch takes at least one node's cycle, so ideal = batches × the mean cycle (batches = ⌈49 ÷ batch⌉ + 1: the primary goes alone, last); at batch 1 that is the sum of 50 cycles.

**Streaming**: if the gateway held an image per node in flight, peak RSS would grow by the image size × the nodes in flight. A series at batch 10 over 10 nodes (9 at once, then the primary) with growing images, and a probe (\`bench/lib/firmware-stream-probe.ts\`, \`--expose-gc\`) that streams one image to 10 nodes at once with the gateway's node client and samples buffer memory after a forced GC every 50 ms (the live memory; peak RSS also holds garbage not yet collected).`,
      params: { quick: QUICK, nodes: NODES, batchSizes: BATCH_SIZES, idealSamples: IDEAL_SAMPLES, scalingImageMB: SCALING_IMAGE_MB },
      figures: [
        { id: 'rollout.batch10-wall', label: 'rollout, 50 nodes, batch 10, wall time', unit: 's', ours: b10.wallSeconds, peer: b10.idealSeconds, peerName: 'measured ideal', goal: { of: 'ratio', op: '<=', value: 1.2 } },
        ...(b1 ? [{ id: 'rollout.batch1-wall', label: 'rollout, 50 nodes, batch 1, wall time', unit: 's', ours: b1.wallSeconds, peer: b1.idealSeconds, peerName: 'measured ideal', goal: { of: 'ratio' as const, op: '<=' as const, value: 1.2 } }] : []),
        { id: 'rollout.batch10-rss-growth', label: 'gateway peak RSS growth, batch 10', unit: 'MiB', ours: b10.rssMiB.growth },
      ],
      tables: [
        {
          columns: ['batch size', 'batches', 'wall time s', 'ideal s', 'ratio', 'nodes verified', 'RSS idle → peak MiB', 'growth MiB'],
          rows: results.map((r) => [r.batchSize, r.batches, r.wallSeconds, r.idealSeconds, r.ratioToIdeal, `${r.nodesVerified} / ${NODES}`, `${r.rssMiB.idleWithNodes} → ${r.rssMiB.peakDuringRollout}`, r.rssMiB.growth]),
        },
        { title: 'One node\'s cycle, one at a time (the ideal)', columns: ['samples', 'min s', 'mean s', 'max s'], rows: [[cycles.length, round(Math.min(...cycles) / 1000, 2), round(mean(cycles) / 1000, 2), round(Math.max(...cycles) / 1000, 2)]] },
        { title: 'Images are streamed, not copied per node', columns: ['image MB', 'peak RSS growth MiB', 'copies per node would add MiB', 'live buffer memory of 10 simultaneous uploads (peak, after GC) MiB'], rows: scaling.map((s, i) => [s.imageMB, s.peakRssGrowthMiB, s.copiesWouldAddMiB, liveBuffers[i]?.maxLiveBufferMiB ?? null]) },
      ],
      notes: [
        `Batch 10 took ${b10.wallSeconds} s against an ideal of ${b10.idealSeconds} s (ratio ${b10.ratioToIdeal})${b1 ? `; batch 1 ${b1.wallSeconds} s against ${b1.idealSeconds} s (ratio ${b1.ratioToIdeal})` : ''}. Above 1 is the gateway's own cost per batch (scheduling, the status reads that verify each node, the next batch's start) plus, at batch > 1, parallel uploads sharing one emulator process and one gateway on 2 cores: each batch waits for its slowest node.`,
      ],
      raw: { cycles, runs: results, scaling, liveBuffers },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
