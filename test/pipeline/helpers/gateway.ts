import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { mergeConfig, validateConfig } from '../../../src/config/load-config.js';
import { Gateway } from '../../../src/gateway.js';
import { createLogger } from '../../../src/logger.js';
import { FAST_NODES, spawnTs, waitServing, type SpawnedProcess } from '../../helpers/gateway-harness.js';
import { freePort, freeUdpPort } from '../../helpers/net.js';
import { writeFile } from 'node:fs/promises';

/** An in-process gateway whose warn/error log lines are kept (to check drop warnings). */
export interface LoggedGateway {
  gateway: Gateway;
  url: string;
  dataDir: string;
  logLines: () => Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startLoggedGateway(overrides: Record<string, unknown>): Promise<LoggedGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'spore-pipe-'));
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const config = validateConfig(
    mergeConfig(
      {
        http: { port: 0, host: '127.0.0.1' },
        udp: { port: await freeUdpPort(), host: '127.0.0.1', broadcastAddress: '127.255.255.255' },
        nodes: { ...FAST_NODES, port: await freePort() },
        dataDir,
      },
      overrides,
    ),
  );
  const gateway = new Gateway(config, { logger: createLogger('warn', sink) });
  await gateway.start();
  return {
    gateway,
    url: gateway.url,
    dataDir,
    logLines: () => lines,
    async stop() {
      await gateway.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** The real gateway binary (from source) as its own process, so it can be killed with SIGKILL. */
export interface GatewayProcess {
  proc: SpawnedProcess;
  url: string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function spawnGateway(config: Record<string, unknown>, dataDir: string): Promise<GatewayProcess> {
  const port = await freePort();
  const udpPort = await freeUdpPort();
  const file = join(dataDir, `config-${port}.json`);
  await writeFile(file, JSON.stringify(config));
  const proc = spawnTs('src/cli/gateway-main.ts', ['-config', file, '-port', String(port), '-udp-port', String(udpPort), '-udp-bind', '127.0.0.1', '-bind', '127.0.0.1', '-data-dir', dataDir, '-log-level', 'warn']);
  const url = `http://127.0.0.1:${port}`;
  await waitServing(proc, url);
  return {
    proc,
    url,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      await proc.kill(signal);
    },
  };
}
