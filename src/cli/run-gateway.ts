import { ConfigError } from '../config/load-config.js';
import type { Gateway } from '../gateway.js';
import { DataDirError } from '../store/data-dir.js';
import { FlagError } from './parse-flags.js';

/** Bad flags or configuration: one clear message on stderr and exit code 2; anything else is rethrown. */
export function explainStartupError(binary: string, err: unknown): number {
  if (err instanceof FlagError || err instanceof ConfigError || err instanceof DataDirError) {
    process.stderr.write(`${binary}: ${err.message}\n`);
    return 2;
  }
  throw err;
}

/**
 * Starts the gateway; on failure prints why in one line on stderr (port in use,
 * permission, data directory) — no stack trace — and returns false: the caller
 * exits with code 2, as for any other start-up refusal.
 */
export async function startGateway(binary: string, gateway: Gateway): Promise<boolean> {
  holdStopSignals();
  try {
    await gateway.start();
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    const where = `${e.address ?? ''}:${e.port ?? ''}`;
    const what =
      err instanceof DataDirError || (err as Error).name === 'UdpPortTakenError'
        ? (err as Error).message
        : e.code === 'EADDRINUSE'
          ? `address ${where} is already in use (another gateway or program listens there; choose another port)`
          : e.code === 'EACCES'
            ? `permission denied binding ${where} (ports below 1024 need privileges)`
            : e.message;
    process.stderr.write(`${binary}: cannot start: ${what}\n`);
    await gateway.stop().catch(() => undefined);
    return false;
  }
}

/**
 * A SIGINT/SIGTERM that arrives while the gateway is starting (its HTTP port may already answer)
 * is held, not left to the default action that would end the process without its graceful stop;
 * runUntilSignal then acts on it at once.
 */
let heldSignal: NodeJS.Signals | null = null;
const holdSignal = (signal: NodeJS.Signals): void => {
  heldSignal ??= signal;
};
function holdStopSignals(): void {
  process.on('SIGINT', holdSignal);
  process.on('SIGTERM', holdSignal);
}

/** How long a graceful shutdown may take before the process gives up on it, ms. */
export const SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Resolves after SIGINT/SIGTERM once `stop` has run (graceful shutdown), bounded to
 * SHUTDOWN_TIMEOUT_MS: then the process exits with code 1, saying so on stderr and in the log,
 * with the step it was stuck in (never silently).
 */
export function runUntilSignal(
  gateway: Pick<Gateway, 'logger' | 'stop' | 'stopStep'>,
  stop: () => Promise<void> = () => gateway.stop(),
  { binary = 'spore-gateway', timeoutMs = SHUTDOWN_TIMEOUT_MS }: { binary?: string; timeoutMs?: number } = {},
): Promise<void> {
  return new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      gateway.logger.info({ signal }, 'shutting down');
      // A stuck shutdown must not keep the process alive forever.
      setTimeout(() => {
        const step = gateway.stopStep ?? 'before the gateway stop';
        const why = `shutdown did not finish within ${timeoutMs / 1000} s (still stopping: ${step}); exiting with code 1`;
        gateway.logger.error({ signal, step }, why);
        gateway.logger.flush?.();
        process.stderr.write(`${binary}: ${why}\n`);
        process.exit(1);
      }, timeoutMs).unref();
      stop().then(resolve, (err: unknown) => {
        gateway.logger.error({ err }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.off('SIGINT', holdSignal);
    process.off('SIGTERM', holdSignal);
    if (heldSignal) shutdown(heldSignal);
  });
}
