#!/usr/bin/env node
/**
 * `spore`: the command line for SPORE clusters — the TypeScript heir of
 * SPORE's ctl.sh (seed 002). Talks to the gateway (-gateway, $SPORE_GATEWAY,
 * default http://localhost:3001), or with -direct to the nodes themselves.
 * Exit status: 0 success, 1 the operation failed, 2 a usage error.
 */
import { CliFailure, parseCommandLine, UsageError, usage } from './spore/cli-options.js';
import type { Command, CommandContext } from './spore/command-context.js';
import { clusterMembers, nodeStatus } from './spore/commands-cluster.js';
import { fleetNodes } from './spore/commands-fleet.js';
import { firmwareList, firmwareRemove, firmwareUpload } from './spore/commands-firmware.js';
import { otaAll, otaUpdate } from './spore/commands-ota.js';
import { rolloutControl, rolloutFollowUp, rolloutList, rolloutStatus } from './spore/commands-rollout.js';
import { firmwareSign, keysGenerate } from './spore/commands-keys.js';
import { GatewayApi } from './spore/gateway-api.js';
import { backupCommand, restoreCommand } from './spore/commands-backup.js';
import { makeOut } from './spore/output.js';
import { GatewayError } from '../errors.js';
import { runMain } from './run-main.js';

const COMMANDS: Record<string, Command> = {
  'cluster members': clusterMembers,
  'fleet nodes': fleetNodes,
  'node status': nodeStatus,
  'ota update': otaUpdate,
  'ota all': otaAll,
  'firmware upload': firmwareUpload,
  'firmware list': firmwareList,
  'firmware rm': firmwareRemove,
  'firmware sign': firmwareSign,
  'keys generate': keysGenerate,
  'rollout list': rolloutList,
  'rollout status': rolloutStatus,
  'rollout pause': rolloutControl('pause'),
  'rollout resume': rolloutControl('resume'),
  'rollout cancel': rolloutControl('cancel'),
  'rollout retry': rolloutFollowUp('retry'),
  'rollout rollback': rolloutFollowUp('rollback'),
  backup: backupCommand,
  restore: restoreCommand,
};

const DEFAULT_GATEWAY = 'http://localhost:3001';

async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`spore: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const json = parsed.flags.get('json') === true;
  const out = makeOut(json);
  if (parsed.command === null || parsed.flags.get('help') === true) {
    process.stdout.write(usage());
    return parsed.command === null && parsed.flags.get('help') !== true && argv.length > 0 ? 2 : 0;
  }
  let gateway = parsed.flags.get('gateway') as string | undefined;
  if (!gateway && env.SPORE_GATEWAY) {
    try {
      const url = new URL(env.SPORE_GATEWAY);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
      gateway = url.toString().replace(/\/+$/, '');
    } catch {
      out.error(`SPORE_GATEWAY ${JSON.stringify(env.SPORE_GATEWAY)} is not an http:// or https:// URL (e.g. http://localhost:3001)`);
      return 2;
    }
  }
  const controller = new AbortController();
  const onSigint = (): void => controller.abort();
  process.once('SIGINT', onSigint);
  const ctx: CommandContext = {
    args: parsed.args,
    flags: parsed.flags,
    out,
    api: new GatewayApi(gateway ?? DEFAULT_GATEWAY, (parsed.flags.get('api-key') as string | undefined) ?? (env.SPORE_API_KEY || undefined)),
    direct: parsed.flags.get('direct') === true,
    nodePort: parsed.flags.get('node-port') as number | undefined,
    env,
    cwd: process.cwd(),
    signal: controller.signal,
  };
  try {
    return await COMMANDS[parsed.command]!(ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(err.message);
      return 2;
    }
    if (err instanceof CliFailure || err instanceof GatewayError) {
      out.error(err.message);
      if (json) out.json({ error: err instanceof GatewayError ? err.code : 'failed', message: err.message, ...(err instanceof CliFailure && err.details ? { details: err.details } : {}) });
      return 1;
    }
    out.error(`unexpected error: ${(err as Error).message}`);
    return 1;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

runMain('spore', main);
