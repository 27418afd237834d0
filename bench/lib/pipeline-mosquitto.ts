// A Mosquitto process for the pipeline benchmark (same setup as test/pipeline/helpers/mosquitto.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './gateway-process.js';

export const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto', '/usr/local/bin/mosquitto'].find((p) => existsSync(p));

export class BenchBroker {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly persistence: boolean,
  ) {}

  static async start(persistence = false): Promise<BenchBroker> {
    if (!MOSQUITTO) throw new Error('mosquitto is not installed');
    const dir = await mkdtemp(join(tmpdir(), 'spore-bench-mosq-'));
    await chmod(dir, 0o777); // run as root, mosquitto writes its persistence file as user "mosquitto"
    const b = new BenchBroker(await freePort(), dir, persistence);
    await b.start();
    return b;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    const persistence = this.persistence ? ['persistence true', `persistence_location ${this.dir}/`, 'autosave_interval 0'] : ['persistence false'];
    await writeFile(conf, [`listener ${this.port} 127.0.0.1`, 'allow_anonymous true', ...persistence, 'max_queued_messages 0', 'max_inflight_messages 0', 'log_type error', ''].join('\n'));
    this.child = spawn(MOSQUITTO!, ['-c', conf], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (!(await canConnect(this.port))) {
      if (Date.now() > deadline) throw new Error('mosquitto did not start');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop('SIGKILL');
    await rm(this.dir, { recursive: true, force: true });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
