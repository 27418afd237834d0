import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findBinary } from '../../helpers/peers.js';
import { freePort, waitFor } from '../../helpers/net.js';

const run = promisify(execFile);

export const MOSQUITTO = findBinary('mosquitto');
export const MOSQUITTO_PUB = findBinary('mosquitto_pub');
export const MOSQUITTO_SUB = findBinary('mosquitto_sub');
export const MOSQUITTO_PASSWD = findBinary('mosquitto_passwd');
export const OPENSSL = findBinary('openssl');
export const HAVE_MOSQUITTO = Boolean(MOSQUITTO && MOSQUITTO_PUB && MOSQUITTO_SUB && MOSQUITTO_PASSWD && OPENSSL);

export interface MosquittoOptions {
  /** Also listen for MQTT over WebSocket. */
  websockets?: boolean;
}

/**
 * A real Mosquitto the test starts on random loopback ports: a password file
 * made with mosquitto_passwd (no anonymous access), a plain TCP listener, a
 * TLS listener with a CA and server certificate made with openssl, and
 * optionally a WebSocket listener. `kill()` and `start()` again keep the ports.
 */
export class MosquittoBroker {
  readonly user = 'spore';
  readonly password = 'spore-secret';
  port = 0;
  tlsPort = 0;
  wsPort = 0;
  caFile = '';
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    readonly dir: string,
    private readonly options: MosquittoOptions,
  ) {}

  static async create(options: MosquittoOptions = {}): Promise<MosquittoBroker> {
    const dir = await mkdtemp(join(tmpdir(), 'spore-mosquitto-'));
    const broker = new MosquittoBroker(dir, options);
    await broker.prepare();
    await broker.start();
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get log(): string {
    return this.output;
  }

  async start(): Promise<void> {
    const child = spawn(MOSQUITTO!, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d) => (this.output += d));
    child.stderr!.on('data', (d) => (this.output += d));
    await waitFor(async () => (child.exitCode !== null ? Promise.reject(new Error(`mosquitto exited: ${this.output}`)) : canConnect(this.port)), `mosquitto on port ${this.port}`, 10_000);
    if (this.options.websockets) await waitFor(() => canConnect(this.wsPort), 'mosquitto websockets', 10_000);
  }

  /** SIGKILL: the broker vanishes like a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    await this.kill();
    await rm(this.dir, { recursive: true, force: true });
  }

  /** Publishes with mosquitto_pub (an independent client). */
  async pub(topic: string, payload: string | Buffer, extra: string[] = []): Promise<void> {
    const args = ['-h', '127.0.0.1', '-p', String(this.port), '-u', this.user, '-P', this.password, '-t', topic, ...extra];
    if (typeof payload === 'string') {
      // -n: a zero-length ("null") message.
      await run(MOSQUITTO_PUB!, payload === '' ? [...args, '-n'] : [...args, '-m', payload]);
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const child = execFile(MOSQUITTO_PUB!, [...args, '-s'], (err) => (err ? reject(err) : resolve()));
      child.stdin!.end(payload);
    });
  }

  /** Reads the retained message of `topic` with mosquitto_sub (null when none). */
  async retained(topic: string): Promise<string | null> {
    const { stdout } = await run(MOSQUITTO_SUB!, ['-h', '127.0.0.1', '-p', String(this.port), '-u', this.user, '-P', this.password, '-t', topic, '--retained-only', '-C', '1', '-W', '2', '-N'], {
      encoding: 'utf8',
    }).catch((err: { stdout?: string; code?: number }) => ({ stdout: err.code === 27 ? '' : (err.stdout ?? '') }));
    return stdout === '' ? null : stdout;
  }

  private async prepare(): Promise<void> {
    this.port = await freePort();
    this.tlsPort = await freePort();
    this.wsPort = await freePort();
    const d = (f: string): string => join(this.dir, f);
    // A CA and a server certificate for 127.0.0.1 / localhost signed by it.
    const ssl = (args: string[]): Promise<unknown> => run(OPENSSL!, args, { cwd: this.dir });
    await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', d('ca.key'), '-out', d('ca.crt'), '-days', '2', '-subj', '/CN=SPORE test CA']);
    await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', d('server.key'), '-out', d('server.csr'), '-subj', '/CN=localhost']);
    await writeFile(d('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
    await ssl(['x509', '-req', '-in', d('server.csr'), '-CA', d('ca.crt'), '-CAkey', d('ca.key'), '-CAcreateserial', '-out', d('server.crt'), '-days', '2', '-extfile', d('server.ext')]);
    this.caFile = d('ca.crt');
    await run(MOSQUITTO_PASSWD!, ['-c', '-b', d('passwd'), this.user, this.password]);
    const lines = [
      // Run as whoever runs the test: as root, mosquitto would otherwise switch to a user that cannot read the temp dir.
      `user ${userInfo().username}`,
      'per_listener_settings false',
      'allow_anonymous false',
      `password_file ${d('passwd')}`,
      'persistence false',
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      'log_type notice',
      `listener ${this.port} 127.0.0.1`,
      `listener ${this.tlsPort} 127.0.0.1`,
      `cafile ${d('ca.crt')}`,
      `certfile ${d('server.crt')}`,
      `keyfile ${d('server.key')}`,
    ];
    if (this.options.websockets) lines.push(`listener ${this.wsPort} 127.0.0.1`, 'protocol websockets');
    await writeFile(d('mosquitto.conf'), lines.join('\n') + '\n');
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
