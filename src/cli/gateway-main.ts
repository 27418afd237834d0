#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { ConfigError } from '../config/load-config.js';
import { Gateway } from '../gateway.js';
import { GATEWAY_FLAGS } from './gateway-flags.js';
import { loadGatewayConfig } from './load-gateway-config.js';
import { FlagError, formatHelp } from './parse-flags.js';

const USAGE = 'Usage: spore-gateway [options]\n\nSPORE Gateway: discovers SPORE nodes over UDP and serves the REST/WebSocket API.';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
    return pkg.version;
  } catch {
    return 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  let loaded;
  try {
    loaded = await loadGatewayConfig(argv);
  } catch (err) {
    if (err instanceof FlagError) {
      process.stderr.write(`spore-gateway: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`spore-gateway: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (loaded.help) {
    process.stdout.write(formatHelp(USAGE, GATEWAY_FLAGS));
    return 0;
  }
  if (loaded.version) {
    process.stdout.write(`spore-gateway ${packageVersion()}\n`);
    return 0;
  }

  const gateway = new Gateway(loaded.config);
  try {
    await gateway.start();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
    const what = e.code === 'EADDRINUSE' ? `address ${e.address ?? ''}:${e.port ?? ''} is already in use` : e.code === 'EACCES' ? `permission denied binding ${e.address ?? ''}:${e.port ?? ''}` : e.message;
    gateway.logger.error({ err }, 'gateway failed to start');
    process.stderr.write(`spore-gateway: cannot start: ${what}\n`);
    await gateway.stop().catch(() => undefined);
    return 1;
  }

  await new Promise<void>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      gateway.logger.info({ signal }, 'shutting down');
      // A stuck shutdown must not keep the process alive forever.
      setTimeout(() => process.exit(1), 10_000).unref();
      gateway.stop().then(resolve, (err: unknown) => {
        gateway.logger.error({ err }, 'error during shutdown');
        resolve();
      });
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`spore-gateway: unexpected error: ${(err as Error).message}\n`);
    process.exitCode = 1;
  },
);
