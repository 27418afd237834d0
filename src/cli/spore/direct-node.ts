import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NodeClient } from '../../node-client/node-client.js';
import { isValidIpv4 } from '../../protocol/ip.js';
import { UsageError } from './cli-options.js';

/**
 * `--direct`: the CLI talks to nodes itself, as SPORE's ctl.sh did — the
 * cluster is reached through API_NODE, read from the environment or from a
 * `.env` file in the current directory (`API_NODE=…` or `export API_NODE=…`).
 */
export async function resolveApiNode(env: NodeJS.ProcessEnv, cwd: string): Promise<{ host: string; port: number | undefined }> {
  let raw = env.API_NODE?.trim();
  let source = 'the environment';
  if (!raw) {
    try {
      const text = await readFile(join(cwd, '.env'), 'utf8');
      for (const line of text.split(/\r?\n/)) {
        const m = /^\s*(?:export\s+)?API_NODE\s*=\s*(.*?)\s*$/.exec(line);
        if (m) raw = m[1]!.replace(/^(['"])(.*)\1$/, '$2').trim();
      }
      source = `${join(cwd, '.env')}`;
    } catch {
      // no .env
    }
  }
  if (!raw) {
    throw new UsageError('--direct needs API_NODE, the address of a node: set it in the environment or in a .env file (API_NODE=192.168.1.100)');
  }
  const m = /^(?:https?:\/\/)?([^/:]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (!m || !isValidIpv4(m[1]!)) {
    throw new UsageError(`API_NODE ${JSON.stringify(raw)} from ${source} is not a node address: give an IPv4 address, optionally with :port (e.g. 192.168.1.100)`);
  }
  const port = m[2] ? Number(m[2]) : undefined;
  if (port !== undefined && (port < 1 || port > 65535)) throw new UsageError(`API_NODE ${JSON.stringify(raw)}: the port must be 1-65535`);
  return { host: m[1]!, port };
}

/** A node client for --direct, on the node port (API_NODE's port, else -node-port, else 80). */
export function directClient(port: number): NodeClient {
  // Uploads to an ESP8266 may stall while it erases flash: allow a generous idle time.
  return new NodeClient({ port, timeoutMs: 10_000, maxSockets: 8 });
}
