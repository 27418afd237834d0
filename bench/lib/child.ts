import { fork, type ChildProcess } from 'node:child_process';

/**
 * A benchmark helper process (load generator or peer) forked with tsx and driven over IPC, so it
 * never shares an event loop with the system under test or with the bench's own bookkeeping.
 */
export class BenchChild {
  readonly child: ChildProcess;
  private waiters: Array<(m: any) => boolean> = [];
  private readonly startedP: Promise<void>;

  constructor(script: URL, args: string[] = [], env?: NodeJS.ProcessEnv) {
    this.child = fork(script.pathname, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], ...(env ? { env: { ...process.env, ...env } } : {}) });
    this.child.on('message', (m: any) => {
      this.waiters = this.waiters.filter((w) => !w(m));
    });
    this.startedP = this.next((m) => (m.started ? true : undefined), 60_000).then(() => undefined);
  }

  get pid(): number {
    return this.child.pid!;
  }

  started(): Promise<void> {
    return this.startedP;
  }

  /** Resolves with the first message `pick` accepts. */
  next<T>(pick: (m: any) => T | undefined, timeoutMs = 120_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.child.spawnargs.join(' ')}: no answer in ${timeoutMs} ms`)), timeoutMs);
      const onExit = (code: number | null) => reject(new Error(`${this.child.spawnargs.join(' ')} exited with ${code}`));
      this.child.once('exit', onExit);
      this.waiters.push((m) => {
        const v = pick(m);
        if (v === undefined) return false;
        clearTimeout(timer);
        this.child.off('exit', onExit);
        resolve(v);
        return true;
      });
    });
  }

  ask<T>(message: object, pick: (m: any) => T | undefined, timeoutMs = 120_000): Promise<T> {
    const p = this.next(pick, timeoutMs);
    this.child.send(message);
    return p;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}
