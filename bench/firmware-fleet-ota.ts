/**
 * Benchmark (issue 17): a signed rollout — `firmware.signing.required`, the
 * image uploaded with its ed25519 signature — of a 1 MiB image to 50 emulated
 * 4 MB nodes, batch 10, against a measured ideal.
 *
 * Each party runs in its own process: the built gateway, the emulator
 * (`spore-sim`, flash written at 1 MiB/s, 2 s reboot) and this driver. The
 * ideal is measured in the same run, one node at a time with a plain client
 * straight to emulated nodes (a fresh `spore-sim` process): per node, upload +
 * reboot + verification (status read until the node reports the new version).
 * A batch of 10 takes at least one such cycle, so ideal = batches × the mean
 * cycle (batches = ceil(49 / 10) + 1: the primary goes alone, last); the sum of
 * 50 cycles (the fleet one node at a time) is reported too.
 * Run: npm run build && node --import tsx bench/firmware-fleet-ota.ts
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFirmwareImage } from '../emulator/index.js';
import { generateKeyPair, parsePrivateKey, signImage } from '../src/firmware/firmware-signing.js';
import { measureNodeCycles, startSimProcess, stopProcess } from './lib/firmware-ideal.js';
import { startGatewayProcess } from './lib/gateway-process.js';
import type { BenchReport } from './lib/report.js';

const NODES = 50;
const BATCH = 10;
const IMAGE_BYTES = 1024 * 1024; // 1 MiB
const REBOOT_MS = 2000;
const FLASH_BYTES_PER_SEC = 1024 * 1024;
const IDEAL_SAMPLES = 5; // nodes timed one at a time for the ideal
const FLASH = ['-flash-size', String(4 * 1024 * 1024), '-free-sketch-space', String(2 * 1024 * 1024)];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The emulator with this benchmark's flash layout and speed. */
const SIM_FLASH = ['-flash-speed', String(FLASH_BYTES_PER_SEC), '-reboot-ms', String(REBOOT_MS), ...FLASH];
const startSim = (args: string[]): ChildProcess => startSimProcess([...SIM_FLASH, ...args]);

async function json(url: string, init?: RequestInit): Promise<any> {
  const res = await fetch(url, init);
  const body = await res.json();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function measure(): Promise<any> {
  const dir = await mkdtemp(join(tmpdir(), 'spore-bench-fleet-'));
  const imageFile = join(dir, 'image.bin');
  const image = makeFirmwareImage({ version: '2.0.0', size: IMAGE_BYTES });
  await writeFile(imageFile, image);
  const key = generateKeyPair();
  const signature = signImage(image, parsePrivateKey(key.privateKeyPem)).toString('base64');
  try {
    const cycles = await measureNodeCycles({ imageFile, imageBytes: IMAGE_BYTES, version: '2.0.0', samples: IDEAL_SAMPLES, simArgs: SIM_FLASH });
    const meanCycleMs = cycles.reduce((a, b) => a + b, 0) / cycles.length;
    const gw = await startGatewayProcess({ firmware: { signing: { required: true, trustedKeys: [{ id: 'bench', publicKey: key.publicKeyBase64 }] } } });
    const sim = startSim(['-count', String(NODES), '-base-ip', `127.194.${1 + Math.floor(Math.random() * 200)}.1`, '-http-port', String(gw.nodePort), '-udp-port', String(gw.udpPort), '-labels', 'fleet=bench']);
    try {
      const deadline = Date.now() + 60_000;
      while ((await json(`${gw.url}/api/discovery/nodes`)).nodes.filter((n: any) => n.status === 'ACTIVE' && n.labels?.fleet === 'bench').length < NODES) {
        if (Date.now() > deadline) throw new Error('nodes not discovered');
        await sleep(200);
      }
      await sleep(3000); // a status poll round: flash sizes known
      const form = new FormData();
      form.append('name', 'bench');
      form.append('version', '2.0.0');
      form.append('signature', signature);
      form.append('file', new Blob([await readFile(imageFile)]), 'bench.bin');
      const signedAt = performance.now();
      const fw = await json(`${gw.url}/api/firmware`, { method: 'POST', body: form });
      const storeMs = performance.now() - signedAt;
      if (fw.signature !== 'verified') throw new Error('the image was not verified');
      const started = performance.now();
      const created = await json(`${gw.url}/api/rollouts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ firmwareId: fw.id, target: { labels: { fleet: 'bench' } }, batchSize: BATCH, maxFailures: 0, bootTimeoutSec: 30 }),
      });
      let final: any;
      for (;;) {
        final = await json(`${gw.url}/api/rollouts/${created.id}`);
        if (final.finishedAt !== null) break;
        await sleep(100);
      }
      const wallSeconds = (performance.now() - started) / 1000;
      const batches = Math.ceil((NODES - 1) / BATCH) + 1;
      const idealSeconds = (batches * meanCycleMs) / 1000;
      const round = (x: number, d = 10) => Math.round(x * d) / d;
      return {
        nodes: NODES,
        batchSize: BATCH,
        batches,
        imageBytes: IMAGE_BYTES,
        signing: 'required (ed25519)',
        storeWithSignatureCheckMs: round(storeMs),
        perNodeCycleSeconds: cycles.map((c) => round(c / 1000, 100)),
        idealSeconds: round(idealSeconds),
        oneAtATimeSeconds: round((NODES * meanCycleMs) / 1000),
        wallSeconds: round(wallSeconds),
        ratioToIdeal: round(wallSeconds / idealSeconds, 100),
        status: final.status,
        nodesVerified: final.nodes.filter((n: any) => n.state === 'succeeded').length,
      };
    } finally {
      await stopProcess(sim);
      await gw.stop();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchReport> {
  const r = await measure();
  const cyc = r.perNodeCycleSeconds as number[];
  return {
    title: 'Signed fleet rollout of a 1 MiB image to 50 nodes, batch 10',
    method: `Three processes: the built gateway with \`firmware.signing.required\` (one trusted ed25519 key), the emulator (\`spore-sim\`, ${NODES} nodes with 4 MB flash and 2 MiB \`freeSketchSpace\`, flash written at 1 MiB/s, ${REBOOT_MS / 1000} s reboot, heartbeats every 2 s) and the driver. The image is uploaded with its detached signature (the store verifies it and the flash fit is checked per node), then rolled out with \`batchSize\` ${BATCH}, \`maxFailures\` 0. The **ideal** is measured in the same run against a fresh emulator process, ${IDEAL_SAMPLES} nodes one at a time with a plain client: upload + reboot + verification (status reads until the node reports the new version) = one node's cycle; ideal = batches (⌈49 ÷ ${BATCH}⌉ + 1, the primary alone) × the mean cycle.`,
    params: { nodes: NODES, batchSize: BATCH, idealSamples: IDEAL_SAMPLES },
    figures: [{ id: 'fleet.signed-batch10', label: 'signed rollout, 50 nodes, batch 10, wall time', unit: 's', ours: r.wallSeconds, peer: r.idealSeconds, peerName: 'measured ideal', goal: { of: 'ratio', op: '<=', value: 1.2 } }],
    tables: [
      {
        columns: ['measured', 'value'],
        rows: [
          [`one node's cycle (upload + reboot + verification), ${cyc.length} samples, s`, `${Math.min(...cyc)}–${Math.max(...cyc)}`],
          [`ideal (${r.batches} × mean cycle) s`, r.idealSeconds],
          ['the fleet one node at a time (50 × cycle) s', r.oneAtATimeSeconds],
          ['store with signature check (1 MiB) ms', r.storeWithSignatureCheckMs],
          ['signed rollout, batch 10, wall time s', r.wallSeconds],
          ['ratio to the ideal', r.ratioToIdeal],
          ['nodes verified on the new version', `${r.nodesVerified} / ${NODES}`],
        ],
      },
    ],
    raw: r,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  run().then((s) => console.log(JSON.stringify(s, null, 2)));
}
