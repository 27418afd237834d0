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
    const lines = createInterface({ input: child.stdout! });
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

  /** SIGKILL: the controller vanishes (like a stick pulled out, or ser2net gone). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await stopChild(child);
  }
}
