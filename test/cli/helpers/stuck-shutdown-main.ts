import { createLogger } from '../../../src/logger.js';
import { runUntilSignal } from '../../../src/cli/run-gateway.js';

/**
 * A process whose gateway stop never finishes (a connector stuck on a dead peer), under the
 * real runUntilSignal with a short bound, for test/cli/shutdown-timeout.test.ts.
 */
const logger = createLogger('info');
const gateway = { logger, stopStep: 'pipeline (connector ua)', stop: () => new Promise<void>(() => undefined) };
// Something to keep the event loop alive, as the gateway's sockets do.
const keepAlive = setInterval(() => undefined, 1000);
// READY only once the signal handlers are installed: a SIGTERM that arrived before them would end
// the process by the default action (no code), which is not what is under test.
const stopped = runUntilSignal(gateway, gateway.stop, { binary: 'spore-gateway', timeoutMs: 300 });
process.stdout.write('READY\n');
await stopped;
clearInterval(keepAlive);
