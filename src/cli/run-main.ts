/**
 * The one tail of every binary: the exit code `main` resolves with, or, on an unexpected
 * error, one line `<binary>: unexpected error: <message>` on stderr and exit code 1 (never a
 * stack trace). `forceExit`: exit shortly after main resolves, for a binary whose open stdin
 * would keep the event loop alive after a signal (spore-sim).
 */
export function runMain(binary: string, main: (argv: string[]) => Promise<number>, options: { forceExit?: boolean } = {}): void {
  main(process.argv.slice(2)).then(
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
