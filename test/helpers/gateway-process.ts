import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { watchChild, type SpawnedProcess } from './gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from './net.js';

const HOOK = fileURLToPath(new URL('./fail-on-unhandled.mjs', import.meta.url));
const DIST_MAIN = fileURLToPath(new URL('../../dist/src/cli/gateway-main.js', import.meta.url));

export interface GatewayProcess extends SpawnedProcess {
  url: string;
  httpPort: number;
  udpPort: number;
  dataDir: string;
  /** Every line the process wrote, stdout and stderr. */
  lines(): string[];
  /** Stops the process (SIGTERM) and removes its data directory unless `keepDataDir`. */
  stop(): Promise<number | null>;
}

export interface GatewayProcessOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  keepDataDir?: boolean;
  /** Wait until /api/health answers (default true). */
  waitHealthy?: boolean;
  httpPort?: number;
  udpPort?: number;
  /** Run the built binary (dist/src/cli/gateway-main.js, `npm run build` first) instead of the source through tsx: starts faster. */
  fromDist?: boolean;
}

/**
 * The real gateway binary (src/cli/gateway-main.ts through tsx) in its own
 * process, on random ports and a fresh data directory, with a hook that ends
 * it with code 70 on any unhandled rejection or uncaught exception.
 */
export async function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'spore-gwp-')));
  const httpPort = options.httpPort ?? (await freePort());
  const udpPort = options.udpPort ?? (await freeUdpPort());
  const args = ['-port', String(httpPort), '-udp-port', String(udpPort), '-bind', '127.0.0.1', '-data-dir', dataDir, ...(options.args ?? [])];
  const spawned = watchChild(
    spawn(process.execPath, [...(options.fromDist ? [] : ['--import', 'tsx']), '--import', HOOK, options.fromDist ? DIST_MAIN : 'src/cli/gateway-main.ts', ...args], {
      env: { ...process.env, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
  const { child, kill } = spawned;
  const url = `http://127.0.0.1:${httpPort}`;
  const proc: GatewayProcess = {
    ...spawned,
    url,
    httpPort,
    udpPort,
    dataDir,
    lines: () => `${spawned.stdout()}\n${spawned.stderr()}`.split('\n').filter((l) => l.length > 0),
    async stop() {
      const code = await kill();
      if (!options.keepDataDir && !options.dataDir) await rm(dataDir, { recursive: true, force: true });
      return code;
    },
  };
  if (options.waitHealthy ?? true) {
    try {
      const state = await waitFor(
        async () => (child.exitCode !== null ? 'exited' : (await fetch(`${url}/api/health`).catch(() => null))?.status === 200 ? 'up' : null),
        'gateway up',
        30_000,
      );
      if (state === 'exited') throw new Error(`gateway exited with ${child.exitCode}: ${spawned.stderr()}`);
    } catch (e) {
      await proc.stop();
      throw e;
    }
  }
  return proc;
}
