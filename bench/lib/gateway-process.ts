import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../test/helpers/net.js';

export const GATEWAY_BIN = 'dist/src/cli/gateway-main.js';
/** Gateway log lines kept for an unexpected exit. */
const LOG_LINES = 50;

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  udpPort: number;
  nodePort: number;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * The node options a binary gives itself in its `#!/usr/bin/env -S node <options>` line
 * (src/cli/gateway-main.ts: `--max-semi-space-size=1`). The gateway is started with
 * `process.execPath` rather than exec'd, so these are passed as exec'ing the file would.
 */
export function shebangNodeArgs(bin: string): string[] {
  const first = readFileSync(bin, 'utf8').split('\n', 1)[0] ?? '';
  const m = /^#!\S*\benv -S node\s+(.*)$/.exec(first);
  return m ? m[1]!.trim().split(/\s+/) : [];
}

/** Starts the built gateway (`npm run build` first) as its own process with a config file. */
/** `nodeArgs` go to node before the script (e.g. `--cpu-prof`, for bench/mqtt-ws-throughput.ts's profile). */
export async function startGatewayProcess(config: Record<string, unknown> = {}, extraArgs: string[] = [], bin = GATEWAY_BIN, nodeArgs: string[] = []): Promise<GatewayProcess> {
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run \`npm run build\` first`);
  const dataDir = await mkdtemp(join(tmpdir(), 'spore-bench-'));
  const port = await freePort();
  const udpPort = await freePort();
  const nodePort = await freePort();
  const configFile = join(dataDir, 'config.json');
  await writeFile(configFile, JSON.stringify(config));
  const child = spawn(
    process.execPath,
    [...shebangNodeArgs(bin), ...nodeArgs, bin, '-port', String(port), '-udp-port', String(udpPort), '-node-port', String(nodePort), '-log-level', 'warn', '-data-dir', dataDir, '-config', configFile, '-bind', '127.0.0.1', ...extraArgs],
    { stdio: ['ignore', process.env.BENCH_GATEWAY_STDOUT === '1' ? 'inherit' : 'pipe', 'inherit'] },
  );
  // The gateway logs (JSON, stdout) are kept, the last LOG_LINES of them, and shown when it
  // exits other than by our stop(): an exit under load must never go unexplained.
  const log: string[] = [];
  if (child.stdout) createInterface({ input: child.stdout }).on('line', (line) => log.push(line) > LOG_LINES && log.shift());
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (stopping && code === 0) return;
    process.stderr.write(`gateway ${bin} exited (${code ?? signal})${stopping ? ' at stop' : ' unexpectedly'}; its last log lines:\n${log.join('\n') || '(none)'}\n`);
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000; // ms: a loaded 2-core machine can take tens of seconds
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.status < 600) break;
    } catch {
      // not up yet
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      stopping = true;
      child.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
      throw new Error(`gateway did not start (${child.exitCode === null ? 'no answer from /api/health in 60 s' : `exited ${child.exitCode}`}); its last log lines:\n${log.join('\n')}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    pid: child.pid!,
    url,
    udpPort,
    nodePort,
    dataDir,
    async stop() {
      stopping = true;
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
