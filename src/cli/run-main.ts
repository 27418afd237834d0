import { readFileSync } from 'node:fs';

/** The package version: src/cli/run-main.ts from source, dist/src/cli/run-main.js once built. */
export function packageVersion(): string {
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), 'utf8')) as { name?: string; version: string };
      if (pkg.name === 'spore-gateway') return pkg.version;
    } catch {
      // try the next
    }
  }
  return 'unknown';
}

/**
 * The one tail of every binary: the exit code `main` resolves with, or, on an unexpected
 * error, one line `<binary>: unexpected error: <message>` on stderr and exit code 1 (never a
 * stack trace). `forceExit`: exit shortly after main resolves, for a binary whose open stdin
 * would keep the event loop alive after a signal (spore-sim).
 */
export function runMain(binary: string, main: (argv: string[]) => Promise<number>, options: { forceExit?: boolean } = {}): void {
  const argv = process.argv.slice(2);
  // `-version` alone works on every binary (issue 12 §17), also where -version is an option
  // with a value (the firmware version of `spore firmware upload`, of `spore-sim`).
  if (argv.length === 1 && (argv[0] === '-version' || argv[0] === '--version')) {
    process.stdout.write(`${binary} ${packageVersion()}\n`);
    return;
  }
  main(argv).then(
    (code) => {
      process.exitCode = code;
      if (options.forceExit) setTimeout(() => process.exit(code), 100).unref();
    },
    (err: unknown) => {
      process.stderr.write(`${binary}: unexpected error: ${(err as Error).message}\n`);
      process.exitCode = 1;
      if (options.forceExit) process.exit(1);
    },
  );
}
