import { stat } from 'node:fs/promises';
import { isValidIpv4 } from '../../protocol/ip.js';
import { UsageError } from './cli-options.js';
import type { GatewayApi } from './gateway-api.js';
import type { Out } from './output.js';

/** What every command gets. */
export interface CommandContext {
  args: string[];
  flags: Map<string, unknown>;
  out: Out;
  api: GatewayApi;
  direct: boolean;
  /** -node-port for --direct. */
  nodePort: number | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on Ctrl-C: long waits stop and say what keeps running. */
  signal: AbortSignal;
}

export type Command = (ctx: CommandContext) => Promise<number>;

export function requireIp(raw: string, what = '<ip>'): string {
  if (!isValidIpv4(raw)) throw new UsageError(`${what} ${JSON.stringify(raw)} is not an IPv4 address; give one such as 192.168.1.100`);
  return raw;
}

export async function requireFile(path: string, what = '<file>'): Promise<void> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new UsageError(`${what} ${JSON.stringify(path)}: no such file`);
  if (!info.isFile()) throw new UsageError(`${what} ${JSON.stringify(path)} is not a regular file`);
}

export function notInDirectMode(ctx: CommandContext, command: string): void {
  if (ctx.direct) throw new UsageError(`"spore ${command}" needs the gateway (it keeps the firmware store and rollouts); drop -direct`);
}

export { sleepUnlessAborted as sleep } from '../../util/concurrency.js';
