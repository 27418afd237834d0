/**
 * The measured ideal of a rollout (issue 16 §1), shared by bench/firmware-rollout.ts and
 * bench/firmware-fleet-ota.ts: nodes of a fresh emulator process (`spore-sim`) updated one at a
 * time with a plain client — per node, upload + reboot + verification (status reads until the
 * node reports the new version). A rollout cannot beat the sum of its batches' cycles, each batch
 * taking at least one node's cycle.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { NodeClient } from '../../src/node-client/node-client.js';

export const SIM_BIN = 'dist/emulator/cli/sim-main.js';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startSimProcess(args: string[]): ChildProcess {
  return spawn(process.execPath, [SIM_BIN, ...args], { stdio: ['pipe', 'ignore', 'inherit'] });
}

export async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** ms per node (upload + reboot + verification), `samples` nodes one after the other. */
export async function measureNodeCycles(opts: { imageFile: string; imageBytes: number; version: string; samples: number; simArgs: string[] }): Promise<number[]> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const base = `127.195.${1 + Math.floor(Math.random() * 200)}.1`;
  const sim = startSimProcess(['-count', String(opts.samples), '-base-ip', base, '-http-port', String(port), '-udp-port', '9', '-heartbeat-ms', '2000', ...opts.simArgs]);
  const client = new NodeClient({ port, timeoutMs: 30_000 });
  try {
    const ips = Array.from({ length: opts.samples }, (_, i) => base.replace(/\.1$/, `.${i + 1}`));
    for (let tries = 0; ; tries++) {
      try {
        await client.getStatus(ips.at(-1)!);
        break;
      } catch {
        if (tries > 200) throw new Error('the emulator did not start');
        await sleep(100);
      }
    }
    const cycles: number[] = [];
    for (const ip of ips) {
      const t0 = performance.now();
      const res = await client.uploadFirmware(ip, opts.imageFile, { size: opts.imageBytes });
      if (res.status !== 200) throw new Error(`upload to ${ip} answered ${res.status}`);
      for (;;) {
        await sleep(50);
        try {
          const { status } = await client.getStatus(ip);
          if (status.version === opts.version) break;
        } catch {
          // rebooting
        }
      }
      cycles.push(performance.now() - t0);
    }
    return cycles;
  } finally {
    client.close();
    await stopProcess(sim);
  }
}
