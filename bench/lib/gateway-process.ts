import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/net.js';

export const GATEWAY_BIN = 'dist/src/cli/gateway-main.js';

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  udpPort: number;
  nodePort: number;
  dataDir: string;
  stop(): Promise<void>;
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
    [...nodeArgs, bin, '-port', String(port), '-udp-port', String(udpPort), '-node-port', String(nodePort), '-log-level', 'error', '-data-dir', dataDir, '-config', configFile, '-bind', '127.0.0.1', ...extraArgs],
    { stdio: ['ignore', process.env.BENCH_GATEWAY_STDOUT === '1' ? 'inherit' : 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000; // ms: a loaded 2-core machine can take tens of seconds
  for (;;) {
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.status < 600) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('gateway did not start');
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
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
