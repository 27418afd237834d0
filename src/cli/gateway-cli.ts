// The spore-gateway command: flags and configuration in, a running gateway out, until a signal.
// Loaded by gateway-main.ts (the binary) with import(), once V8's compilers are held off.
import { enableCompilers } from './startup-compilers.js';
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
  enableCompilers(); // start-up is done: V8 tiers up hot code from here on, as usual
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
