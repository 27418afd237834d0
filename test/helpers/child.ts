import type { ChildProcess } from 'node:child_process';

/**
 * Stops a child process and waits until it has exited; a no-op once it has ended. SIGKILL (the
 * default) is an abrupt outage, like a crash or a pulled cable.
 */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
}
