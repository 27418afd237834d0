import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { findBinary } from './peers.js';
import { waitFor } from './net.js';

export const SOCAT = findBinary('socat');

/**
 * A pair of real pseudo-terminals joined by socat (Debian package `socat`): what one end writes
 * the other reads, like the two ends of a null-modem cable. `a` and `b` are symlinks under
 * `dir`; stop() makes both vanish (an adapter unplugged), start() brings them back on the same
 * paths (plugged in again).
 */
export class PtyPair {
  readonly a: string;
  readonly b: string;
  private child: ChildProcess | undefined;

  constructor(dir: string, name = 'tty') {
    this.a = join(dir, `${name}-a`);
    this.b = join(dir, `${name}-b`);
  }

  static async start(dir: string, name?: string): Promise<PtyPair> {
    const pair = new PtyPair(dir, name);
    await pair.start();
    return pair;
  }

  async start(): Promise<void> {
    if (!SOCAT) throw new Error('socat is not installed');
    const child = spawn(SOCAT, [`pty,raw,echo=0,link=${this.a}`, `pty,raw,echo=0,link=${this.b}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    this.child = child;
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`socat exited (${child.exitCode}): ${stderr}`);
      return existsSync(this.a) && existsSync(this.b);
    }, 'socat to create the pty pair', 10_000, 20);
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await waitFor(() => !existsSync(this.a) && !existsSync(this.b), 'the pty links to vanish', 5000, 20);
  }
}
