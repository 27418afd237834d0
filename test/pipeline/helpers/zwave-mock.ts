import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { freePort } from '../../helpers/net.js';
import { stopChild } from '../../helpers/child.js';

const SCRIPT = new URL('./zwave-mock-main.ts', import.meta.url).pathname;

/**
 * The zwave-js mock controller of zwave-mock-main.ts, in its own process on a fixed random
 * port (tcp://127.0.0.1:<port>, like ser2net): stop() makes it vanish, start() brings it back.
 */
export class ZwaveMock {
  private child: ChildProcess | undefined;
  port = 0;
  stderr = '';
  /** "ADDED <id>" / "REMOVED <id>" lines the controller printed. */
  readonly events: string[] = [];
  private replies: ((line: string) => void)[] = [];

  static async start(): Promise<ZwaveMock> {
    const m = await ZwaveMock.create();
    await m.start();
    return m;
  }

  /** Its port, not started: a test may start it and the gateway at the same time. */
  static async create(): Promise<ZwaveMock> {
    const m = new ZwaveMock();
    m.port = await freePort();
    return m;
  }

  get url(): string {
    return `tcp://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    await (await this.prepare()).listen();
  }

  /**
   * Starts a controller process that loads everything but does not listen yet: `listen()` puts
   * it on the port. A killed controller's replacement loads during the outage this way.
   */
  async prepare(): Promise<{ listen(): Promise<void> }> {
    const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], { env: { ...process.env, ZWAVE_MOCK: JSON.stringify({ port: this.port, deferListen: true }) }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d) => (this.stderr = (this.stderr + d).slice(-4000)));
    this.replies = [];
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith('REPLY ')) this.replies.shift()?.(line.slice(6));
      else if (/^(ADDED|REMOVED) /.test(line)) this.events.push(line);
    });
    const seen = (what: string) =>
      new Promise<void>((resolve, reject) => {
        const onExit = (code: number | null) => reject(new Error(`zwave mock exited (${code}) before ${what}: ${this.stderr}`));
        child.once('exit', onExit);
        lines.on('line', (line) => {
          if (line.startsWith(what)) {
            child.off('exit', onExit);
            resolve();
          }
        });
      });
    const ready = seen('READY');
    ready.catch(() => undefined); // awaited by listen()
    await seen('LOADED');
    return {
      listen: async () => {
        child.stdin!.write('LISTEN\n');
        await ready;
      },
    };
  }

  /**
   * A device that joins at the next inclusion: `kind` switch (no security) or s2-switch (asks for
   * S2 Authenticated; the answer has its DSK and the PIN printed on it).
   */
  async join(id: number, kind: 'switch' | 's2-switch'): Promise<{ id: number; dsk?: string; pin?: string }> {
    return this.command({ cmd: 'join', id, kind });
  }

  /** Node `id` leaves at the next exclusion (its button pressed while the controller excludes). */
  async leave(id: number): Promise<void> {
    await this.command({ cmd: 'leave', id });
  }

  private command<T>(body: Record<string, unknown>): Promise<T> {
    const child = this.child;
    if (!child) return Promise.reject(new Error('the zwave mock is not running'));
    return new Promise<T>((resolve, reject) => {
      this.replies.push((line) => {
        const r = JSON.parse(line) as T & { error?: string };
        if (r.error) reject(new Error(`zwave mock: ${r.error}`));
        else resolve(r);
      });
      child.stdin!.write(`${JSON.stringify(body)}\n`);
    });
  }

  /** SIGKILL: the controller vanishes (like a stick pulled out, or ser2net gone). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await stopChild(child);
  }
}
