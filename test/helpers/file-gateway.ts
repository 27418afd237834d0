import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigManager } from '../../src/config/config-manager.js';
import { Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { LogBuffer } from '../../src/logs/log-buffer.js';
import { FAST_NODES } from './gateway-harness.js';
import { freeUdpPort } from './net.js';

/** A `nodes:` section with the test harness's fast ageing and polling, nodes serving on `port`. */
export function fastNodesYaml(port: number): string {
  return ['nodes:', `  port: ${port}`, ...Object.entries(FAST_NODES).map(([k, v]) => `  ${k}: ${v}`)].join('\n');
}

export interface FileGateway {
  gateway: Gateway;
  url: string;
  /** The configuration file the gateway was started with (undefined: started without one). */
  file: string | undefined;
  dataDir: string;
  logs: LogBuffer;
  /** Stops the gateway (keeps its files). */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  destroy(): Promise<void>;
}

/** What every test file needs under the user's own settings: loopback, random ports, a data directory. */
export async function gatewayYaml(dir: string, extra = ''): Promise<string> {
  return [
    '# SPORE gateway of a test (a comment the editor must keep)',
    'http:',
    '  port: 0 # any free port',
    '  host: 127.0.0.1',
    'udp:',
    `  port: ${await freeUdpPort()}`,
    '  host: 0.0.0.0',
    '  broadcastAddress: 127.255.255.255',
    'log:',
    '  level: info',
    `dataDir: ${join(dir, 'data')}`,
    extra,
  ].join('\n');
}

/**
 * A gateway in-process started the way the binary starts one: from a
 * configuration file through the ConfigManager (so it can be edited), with a
 * logger that feeds the in-memory log view (and writes nothing to stdout).
 */
export async function startFileGateway(opts: { dir?: string; yaml?: string; file?: string | null; env?: Record<string, unknown> } = {}): Promise<FileGateway> {
  const dir = opts.dir ?? (await mkdtemp(join(tmpdir(), 'spore-gw15-')));
  let file: string | undefined;
  if (opts.file !== null) {
    file = opts.file ?? join(dir, 'gateway.yaml');
    if (opts.yaml !== undefined) await writeFile(file, opts.yaml);
  }
  const manager = await ConfigManager.load({ defaults: {}, ...(file ? { filePath: file } : {}), env: { values: opts.env ?? {}, sources: new Map() }, flags: {} });
  const logs = new LogBuffer(manager.current.log.bufferLines);
  const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
  const gateway = new Gateway(manager.current, { configManager: manager, logger: createLogger(manager.current.log.level, devNull, logs), logBuffer: logs });
  await gateway.start();
  return {
    gateway,
    url: gateway.url,
    file: manager.filePath,
    dataDir: manager.current.dataDir,
    logs,
    stop: () => gateway.stop(),
    async destroy() {
      await gateway.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
