#!/usr/bin/env -S node --max-semi-space-size=1 --heap-growing-percent=20 --no-concurrent-recompilation
// The V8 flags above (docs/deploy.md "Memory"): V8's young generation may grow to 2 × 16 MiB,
// and the gateway's start-up (loading its modules) grows it all the way, pages that stay
// resident while the gateway idles; 1 MiB semi-spaces keep an idle gateway ~20 MiB smaller
// (issue 16 §3). The old generation is collected again once it grew by 20 % of what the last
// full collection kept, not by V8's own factor of up to 4×: at 10,000 nodes the member list
// (a 7 MB answer, parsed every 20 s) leaves tens of MB of old-space garbage, and RSS was
// 270–300 MB for a live heap of ~65 MB; with 20 % it is ~190 MB at the same CPU (issue 19,
// bench/gentle-polling.ts). It is no cap: a larger live heap only grows the heap. The
// Dockerfile's ENTRYPOINT passes the same flags. `node gateway-main.js` without them works too.
import { maskSecrets } from '../config/mask-secrets.js';
import { Gateway } from '../gateway.js';
import { prettyDestination, resolveLogFormat } from '../logger.js';
import { fileClock } from '../util/clock.js';
import { GATEWAY_FLAGS } from './gateway-flags.js';
import { loadGatewayConfig } from './load-gateway-config.js';
import { formatHelp } from './parse-flags.js';
import { explainStartupError, runUntilSignal, startGateway } from './run-gateway.js';
import { packageVersion, runMain } from './run-main.js';

/** How long the process may linger after a completed stop before it exits regardless, ms. */
const LINGER_MS = 1000;

const USAGE = 'Usage: spore-gateway [options]\n\nSPORE Gateway: discovers SPORE nodes over UDP and serves the REST/WebSocket API.';


async function main(argv: string[]): Promise<number> {
  let loaded;
  try {
    loaded = await loadGatewayConfig(argv);
  } catch (err) {
    return explainStartupError('spore-gateway', err);
  }
  if (loaded.help) {
    process.stdout.write(formatHelp(USAGE, GATEWAY_FLAGS));
    return 0;
  }
  if (loaded.version) {
    process.stdout.write(`spore-gateway ${packageVersion()}\n`);
    return 0;
  }
  if (loaded.printConfig) {
    process.stdout.write(`${JSON.stringify(maskSecrets(loaded.config), null, 2)}\n`);
    return 0;
  }
  // SPORE_CLOCK_FILE: tests of scheduled rollouts move the gateway's "now" (docs/firmware.md).
  const clockFile = process.env.SPORE_CLOCK_FILE;
  // Issue 12 §16: human-readable on a terminal, JSON lines otherwise; -log-format / log.format choose.
  const logDestination = resolveLogFormat(loaded.config.log.format) === 'pretty' ? await prettyDestination() : undefined;
  const gateway = new Gateway(loaded.config, {
    configManager: loaded.manager,
    ...(logDestination ? { logDestination } : {}),
    ...(clockFile ? { clock: fileClock(clockFile) } : {}),
  });
  // A bug that leaves a promise rejected must not end a gateway that runs a site: log it, keep running.
  process.on('unhandledRejection', (reason) => gateway.logger.error({ err: reason }, 'unhandled rejection (a bug; please report it)'));
  if (!(await startGateway('spore-gateway', gateway))) return 2;
  // SIGHUP re-reads the configuration, as daemons do.
  process.on('SIGHUP', () => void gateway.reload());
  await runUntilSignal(gateway);
  // Stopped, buffers flushed. Should a library have left a timer or a socket open, the process
  // exits anyway (once main has returned, this timer is all that may remain), saying what was left.
  setTimeout(() => {
    gateway.logger.warn({ open: process.getActiveResourcesInfo() }, 'the gateway stopped but the process had not ended after 1 s (a library left these open); exiting');
    gateway.logger.flush?.();
    process.exit(process.exitCode ?? 0);
  }, LINGER_MS).unref();
  return 0;
}

runMain('spore-gateway', main);
