import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { canConnect, freePort, waitFor } from './net.js';
import { findBinary } from './peers.js';
import { stopChild } from './child.js';

const run = promisify(execFile);

export const MOSQUITTO = findBinary('mosquitto');
export const MOSQUITTO_PASSWD = findBinary('mosquitto_passwd');
export const MOSQUITTO_PUB = findBinary('mosquitto_pub');
export const MOSQUITTO_SUB = findBinary('mosquitto_sub');
export const MOSQUITTO_RR = findBinary('mosquitto_rr');
export const OPENSSL = findBinary('openssl');

export interface MosquittoOptions {
  /** User names and passwords in a password file made with mosquitto_passwd; without it anyone may connect. */
  users?: Record<string, string>;
  /** A second listener with TLS (`tlsPort`, `tlsUrl`), its server certificate signed by a CA made with openssl (`caFile`). */
  tls?: boolean;
  /** A listener for MQTT over WebSocket (`wsPort`, `wsUrl`). */
  websockets?: boolean;
  /** Keeps sessions and queued messages across a clean stop (`stop('SIGTERM')`), the only time they are saved. */
  persistence?: boolean;
  /** More lines for the configuration file, e.g. `set_tcp_nodelay true`. */
  extraConfig?: string[];
}

/**
 * A real Mosquitto on 127.0.0.1, on random ports, for tests and benchmarks:
 * a plain listener always, optionally a password file, a TLS listener and a
 * WebSocket listener. No limit on queued or in-flight messages, so neither a
 * burst nor a backlog is ever dropped by the broker. `stop()` and `start()`
 * again keep the ports; `destroy()` also removes its directory.
 */
export class Mosquitto {
  port = 0;
  tlsPort = 0;
  wsPort = 0;
  /** The CA that signed the TLS listener's certificate (with `tls`). */
  caFile = '';
  private child: ChildProcess | undefined;
  private output = '';

  private constructor(
    /** Its configuration, password file, certificates and persistence file; removed by `destroy()`. */
    readonly dir: string,
    private readonly options: MosquittoOptions,
  ) {}

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    if (!MOSQUITTO) throw new Error('mosquitto is not installed');
    const broker = new Mosquitto(await mkdtemp(join(tmpdir(), 'spore-mosquitto-')), options);
    try {
      await broker.prepare();
      await broker.start();
    } catch (err) {
      await broker.destroy();
      throw err;
    }
    return broker;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get tlsUrl(): string {
    return `mqtts://127.0.0.1:${this.tlsPort}`;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.wsPort}`;
  }

  /** The broker process, while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** What the broker logged (errors and warnings). */
  get log(): string {
    return this.output;
  }

  /** `-h -p` (and `-u -P` for one of `users`) for mosquitto_pub, mosquitto_sub and mosquitto_rr. */
  clientArgs(user?: string): string[] {
    const args = ['-h', '127.0.0.1', '-p', String(this.port)];
    if (user === undefined) return args;
    const password = this.options.users?.[user];
    if (password === undefined) throw new Error(`no user "${user}" on this broker`);
    return [...args, '-u', user, '-P', password];
  }

  /** Starts the process (again, after `stop()`), on the same ports, and waits until every listener accepts connections. */
  async start(): Promise<void> {
    const child = spawn(MOSQUITTO!, ['-c', join(this.dir, 'mosquitto.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d) => (this.output += d));
    const ports = [this.port, ...(this.options.tls ? [this.tlsPort] : []), ...(this.options.websockets ? [this.wsPort] : [])];
    for (const port of ports) {
      const state = await waitFor(async () => (child.exitCode !== null || child.signalCode !== null ? 'exited' : (await canConnect(port)) && 'listening'), `mosquitto listening on ${port}`, 10_000);
      if (state === 'exited') throw new Error(`mosquitto exited (${child.exitCode ?? child.signalCode}): ${this.output.trim()}`);
    }
  }

  /**
   * Stops the process. SIGKILL (the default) is an abrupt outage, like a crash or a pulled
   * cable; SIGTERM is a clean shutdown that saves persistent sessions (`persistence`).
   */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    await stopChild(child, signal);
  }

  /** Stops the process and removes its directory. */
  async destroy(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.stop(signal);
    await rm(this.dir, { recursive: true, force: true });
  }

  private async prepare(): Promise<void> {
    const o = this.options;
    const file = (name: string): string => join(this.dir, name);
    // Run as root, mosquitto drops to its own user ("mosquitto"): that user must read the files
    // here and write its persistence file, in a directory mkdtemp made for root only.
    await chmod(this.dir, 0o777);
    const readable = (...names: string[]) => Promise.all(names.map((n) => chmod(file(n), 0o644)));
    this.port = await freePort();
    const lines = ['per_listener_settings false'];
    if (o.users) {
      await writeFile(file('passwd'), '');
      for (const [user, password] of Object.entries(o.users)) await run(MOSQUITTO_PASSWD!, ['-b', file('passwd'), user, password]);
      await readable('passwd');
      lines.push('allow_anonymous false', `password_file ${file('passwd')}`);
    } else {
      lines.push('allow_anonymous true');
    }
    lines.push(...(o.persistence ? ['persistence true', `persistence_location ${this.dir}/`, 'autosave_interval 0'] : ['persistence false']));
    lines.push('max_queued_messages 0', 'max_inflight_messages 0', 'log_dest stderr', 'log_type error', 'log_type warning', ...(o.extraConfig ?? []));
    lines.push(`listener ${this.port} 127.0.0.1`);
    if (o.tls) {
      this.tlsPort = await freePort();
      // A CA, and a certificate for 127.0.0.1 / localhost signed by it.
      const ssl = (args: string[]): Promise<unknown> => run(OPENSSL!, args, { cwd: this.dir });
      await ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '2', '-subj', '/CN=SPORE test CA']);
      await ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
      await writeFile(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
      await ssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.crt'), '-days', '2', '-extfile', file('server.ext')]);
      await readable('ca.crt', 'server.crt', 'server.key');
      this.caFile = file('ca.crt');
      lines.push(`listener ${this.tlsPort} 127.0.0.1`, `cafile ${file('ca.crt')}`, `certfile ${file('server.crt')}`, `keyfile ${file('server.key')}`);
    }
    if (o.websockets) {
      this.wsPort = await freePort();
      lines.push(`listener ${this.wsPort} 127.0.0.1`, 'protocol websockets');
    }
    await writeFile(file('mosquitto.conf'), lines.join('\n') + '\n');
  }
}
