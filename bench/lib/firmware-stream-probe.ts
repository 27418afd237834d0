/**
 * Probe for bench/firmware-rollout.ts, run as its own process with
 * `--expose-gc`: streams one image to 10 emulated nodes at once (the emulator
 * in a separate `spore-sim` process, flash 1 MB/s) with the gateway's node
 * client, and samples this process's memory every 50 ms after a forced GC —
 * the live buffer memory, which is what per-node copies would inflate.
 * Prints one JSON line. Usage: node --expose-gc --import tsx bench/lib/firmware-stream-probe.ts <image MB>
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeFirmwareImage } from '../../emulator/index.js';
import { NodeClient } from '../../src/node-client/node-client.js';

const NODES = 10;
const size = Number(process.argv[2] ?? 1) * 1024 * 1024;
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');
const dir = await mkdtemp(join(tmpdir(), 'spore-probe-'));
const file = join(dir, 'image.bin');
await writeFile(file, makeFirmwareImage({ version: '2.0.0', size }));
const port = 30_000 + Math.floor(Math.random() * 20_000);
const base = `127.196.${1 + Math.floor(Math.random() * 200)}.1`;
const sim = spawn(process.execPath, ['dist/emulator/cli/sim-main.js', '-count', String(NODES), '-base-ip', base, '-http-port', String(port), '-udp-port', '9', '-flash-speed', String(1024 * 1024), '-reboot-ms', '2000', '-free-sketch-space', String(64 * 1024 * 1024)], { stdio: ['pipe', 'ignore', 'inherit'] });
const client = new NodeClient({ port, timeoutMs: 30_000 });
try {
  await new Promise((r) => setTimeout(r, 3000)); // the emulator starts
  const ips = Array.from({ length: NODES }, (_, i) => base.replace(/\.1$/, `.${i + 1}`));
  gc();
  const before = process.memoryUsage().arrayBuffers;
  let maxLive = 0;
  const timer = setInterval(() => {
    gc();
    maxLive = Math.max(maxLive, process.memoryUsage().arrayBuffers - before);
  }, 50);
  const answers = await Promise.all(ips.map((ip) => client.uploadFirmware(ip, file, { size })));
  clearInterval(timer);
  const mib = (n: number) => Math.round((n / 1048576) * 100) / 100;
  console.log(JSON.stringify({ imageMB: size / 1048576, uploads: NODES, accepted: answers.filter((a) => a.status === 200).length, maxLiveBufferMiB: mib(maxLive) }));
} finally {
  client.close();
  sim.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
}
