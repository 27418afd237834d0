// Loaded with `--import` before the gateway: any unhandled rejection or uncaught
// exception ends the process with code 70 and says so on stderr, so a test that
// checks the exit code and stderr sees it even though the gateway logs and survives.
process.on('unhandledRejection', (reason) => {
  process.stderr.write(`TEST-HOOK unhandledRejection: ${reason instanceof Error ? reason.stack : String(reason)}\n`);
  process.exit(70);
});
process.on('uncaughtException', (err) => {
  process.stderr.write(`TEST-HOOK uncaughtException: ${err.stack}\n`);
  process.exit(70);
});
