/**
 * Benchmark (issue 4): a rollout of a 1 MB image to 50 emulated nodes with a
 * 2 s reboot, batch sizes 1, 5 and 10 — wall time and the gateway's peak RSS.
 *
 * Each batch size gets a fresh gateway process (built, `-log-level error`) so
 * its peak RSS (VmHWM) belongs to that rollout alone. Peers measured in the
 * same run: the ideal wall time (batches × (one bare upload + reboot), the
 * upload timed with a plain client straight to a node) and the same gateway
 * idle with the same 50 nodes. To show images are streamed, not copied per
 * node, a scaling series updates 10 nodes at once (batch 10) with 1, 4 and
 * 16 MB images: copies per node would add 10, 40 and 160 MB of peak RSS.
 * Peak RSS also holds garbage not yet collected, so a probe process
 * (bench/lib/firmware-stream-probe.ts, --expose-gc) measures the live buffer
 * memory of 10 simultaneous uploads after a forced GC every 50 ms.
 * Run: npm run build && node --import tsx bench/firmware-rollout.ts
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFirmwareImage, SimCluster } from '../emulator/index.js';
import { NodeClient } from '../src/node-client/node-client.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import { peakRssMiB, rssMiB } from './lib/proc-stats.js';

const NODES = 50;
const IMAGE_BYTES = 1024 * 1024; // 1 MB
const REBOOT_MS = 2000; // the emulated nodes' reboot
const FLASH_BYTES_PER_SEC = 1024 * 1024; // emulated flash write speed: 1 s per image
const BATCH_SIZES = [1, 5, 10];
/** The streaming check: 10 nodes in one batch of 10, images of 1, 4 and 16 MB (the default upload limit). */
const SCALING_NODES = 10;
const SCALING_IMAGE_MB = [1, 4, 16];

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
  imageBytes: number;
  wallSeconds: number;
  idealSeconds: number;
  ratioToIdeal: number;
  nodesUpdated: number;
  status: string;
  rssMiB: { idleWith50Nodes: number; peakDuringRollout: number; growth: number };
}

async function rollout(batchSize: number, imageFile: string, imageBytes: number, bareUploadMs: number, run: number, nodes = NODES): Promise<RunResult> {
  const gw = await startGatewayProcess({});
  // A distinct /24 per run: the previous run's sockets on the same addresses are long closed, but stay clear anyway.
  const sim = await SimCluster.start({
    count: nodes,
    baseIp: `127.${200 + run}.${1 + Math.floor(Math.random() * 200)}.1`,
    httpPort: gw.nodePort,
    gatewayPort: gw.udpPort,
    rebootMs: REBOOT_MS,
    flashBytesPerSec: FLASH_BYTES_PER_SEC,
    heartbeatIntervalMs: 2000, // SPORE's own
    labels: { fleet: 'bench' },
    // Room for the streaming series' 16 MB image (issue 17 §2 skips nodes an image does not fit).
    flashChipSize: 16 * 1024 * 1024,
    freeSketchSpace: 64 * 1024 * 1024,
  });
  try {
    await waitUntil(async () => (await json(`${gw.url}/api/discovery/nodes`)).nodes.filter((n: any) => n.status === 'ACTIVE').length === nodes, `${nodes} nodes`, 30_000);
    await sleep(3000); // a status poll round, then settle
    const idle = rssMiB(gw.pid);
    const form = new FormData();
    form.append('name', 'bench');
    form.append('version', '2.0.0');
    form.append('file', new Blob([await import('node:fs/promises').then((fs) => fs.readFile(imageFile))]), 'bench.bin');
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
    const idealSeconds = (batches * (bareUploadMs + REBOOT_MS)) / 1000;
    return {
      batchSize,
      imageBytes,
      wallSeconds: Math.round(wallSeconds * 10) / 10,
      idealSeconds: Math.round(idealSeconds * 10) / 10,
      ratioToIdeal: Math.round((wallSeconds / idealSeconds) * 100) / 100,
      nodesUpdated: sim.nodes.filter((n) => n.version === '2.0.0').length,
      status: final.status,
      rssMiB: { idleWith50Nodes: idle, peakDuringRollout: peak, growth: Math.round((peak - idle) * 10) / 10 },
    };
  } finally {
    await sim.stop();
    await gw.stop();
  }
}

/** One upload with a plain client straight to an emulated node: the floor of each node's upload time. */
async function bareUpload(imageFile: string, imageBytes: number): Promise<number> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const sim = await SimCluster.start({ count: 1, baseIp: `127.199.${1 + Math.floor(Math.random() * 200)}.1`, httpPort: port, gatewayPort: 9, rebootMs: REBOOT_MS, flashBytesPerSec: FLASH_BYTES_PER_SEC, answerDiscovery: false, freeSketchSpace: 64 * 1024 * 1024 });
  const client = new NodeClient({ port, timeoutMs: 30_000 });
  try {
    const t0 = performance.now();
    const res = await client.uploadFirmware(sim.ips[0]!, imageFile, { size: imageBytes });
    if (res.status !== 200) throw new Error(`bare upload answered ${res.status}`);
    return performance.now() - t0;
  } finally {
    client.close();
    await sim.stop();
  }
}

export async function run(): Promise<Record<string, unknown>> {
  const dir = await mkdtemp(join(tmpdir(), 'spore-bench-fw-'));
  const imageFile = join(dir, 'image.bin');
  await writeFile(imageFile, makeFirmwareImage({ version: '2.0.0', size: IMAGE_BYTES }));
  try {
    const bareUploadMs = await bareUpload(imageFile, IMAGE_BYTES);
    const results: RunResult[] = [];
    for (const [i, batchSize] of BATCH_SIZES.entries()) results.push(await rollout(batchSize, imageFile, IMAGE_BYTES, bareUploadMs, i));
    const scaling = [];
    for (const [i, mb] of SCALING_IMAGE_MB.entries()) {
      const file = join(dir, `image-${mb}.bin`);
      const size = mb * 1024 * 1024;
      await writeFile(file, makeFirmwareImage({ version: '2.0.0', size }));
      // batch 10 over 10 nodes: the primary goes alone, so 9 then 1 — at most 9 uploads in flight.
      const r = await rollout(SCALING_NODES, file, size, await bareUpload(file, size), BATCH_SIZES.length + i, SCALING_NODES);
      scaling.push({ imageMB: mb, peakRssGrowthMiB: r.rssMiB.growth, copiesWouldAddMiB: (SCALING_NODES - 1) * mb, wallSeconds: r.wallSeconds, nodesUpdated: r.nodesUpdated, status: r.status });
    }
    const liveBuffers = [];
    for (const mb of SCALING_IMAGE_MB) {
      const { stdout } = await promisify(execFile)(process.execPath, ['--expose-gc', '--import', 'tsx', 'bench/lib/firmware-stream-probe.ts', String(mb)]);
      liveBuffers.push(JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>);
    }
    return {
      nodes: NODES,
      imageBytes: IMAGE_BYTES,
      rebootMs: REBOOT_MS,
      flashBytesPerSec: FLASH_BYTES_PER_SEC,
      bareUploadSeconds: Math.round(bareUploadMs / 100) / 10,
      runs: results,
      streamingCheck: { nodes: SCALING_NODES, batchSize: SCALING_NODES, runs: scaling, liveBuffersAfterGc: liveBuffers },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
