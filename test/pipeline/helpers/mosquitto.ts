import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { findBinary } from '../../helpers/peers.js';
import { freePort, waitFor } from '../../helpers/net.js';

export const MOSQUITTO = findBinary('mosquitto');
export const MOSQUITTO_PASSWD = findBinary('mosquitto_passwd');

export interface MosquittoOptions {
  /** Keep sessions and queued messages across a graceful stop (stop('SIGTERM')). */
  persistence?: boolean;
  /** Require these user names and passwords. */
  users?: Record<string, string>;
  /** A TLS listener with these PEM files. */
  tls?: { ca: string; cert: string; key: string };
}

/** A Mosquitto process on 127.0.0.1 and a random port; stop() and start() keep the port. */
export class Mosquitto {
  private child: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly options: MosquittoOptions,
  ) {}

  static async start(options: MosquittoOptions = {}): Promise<Mosquitto> {
    const broker = await Mosquitto.create(options);
    await broker.start();
    return broker;
  }

  /** A broker with its port chosen but not started (a broker that is down). */
  static async create(options: MosquittoOptions = {}): Promise<Mosquitto> {
    if (!MOSQUITTO) throw new Error('mosquitto is not installed');
    const dir = await mkdtemp(join(tmpdir(), 'spore-mosq-'));
    // Run as root, mosquitto drops to the "mosquitto" user: let it read its files and write its persistence file.
    await chmod(dir, 0o777);
    return new Mosquitto(await freePort(), dir, options);
  }

  get url(): string {
    return `${this.options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  async start(): Promise<void> {
    const conf = join(this.dir, 'mosquitto.conf');
    const o = this.options;
    const persistence = o.persistence ? ['persistence true', `persistence_location ${this.dir}/`] : ['persistence false'];
    const auth: string[] = [];
    if (o.users) {
      const file = join(this.dir, 'passwords');
      await writeFile(file, '');
      for (const [user, password] of Object.entries(o.users)) execFileSync(MOSQUITTO_PASSWD!, ['-b', file, user, password]);
      await chmod(file, 0o644);
      auth.push('allow_anonymous false', `password_file ${file}`);
    } else {
      auth.push('allow_anonymous true');
    }
    const tls = o.tls ? [`cafile ${o.tls.ca}`, `certfile ${o.tls.cert}`, `keyfile ${o.tls.key}`] : [];
    await writeFile(
      conf,
      [`listener ${this.port} 127.0.0.1`, ...tls, ...auth, ...persistence, 'max_queued_messages 0', 'max_inflight_messages 0', 'log_dest stderr', 'log_type error', ''].join('\n'),
    );
    const child = spawn(MOSQUITTO!, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d) => (this.stderr += d));
    this.child = child;
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    await waitFor(() => canConnect(this.port), `mosquitto listening on ${this.port} (${this.stderr})`, 10_000);
  }

  /**
   * Stops the broker: SIGKILL (default) is an abrupt outage, like a crash or a pulled cable;
   * SIGTERM is a clean shutdown that saves persistent sessions.
   */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
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

/** An MQTT client that keeps every message it receives. */
export class Subscriber {
  readonly messages: Array<{ topic: string; payload: string }> = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => this.messages.push({ topic, payload: payload.toString() }));
  }

  /** Subscribes with QoS 1 on a persistent session, so a broker restart loses nothing for us either. */
  static async connect(url: string, filter: string, clientId = `test-sub-${Math.random().toString(16).slice(2)}`): Promise<Subscriber> {
    const client = mqtt.connect(url, { clientId, clean: false, reconnectPeriod: 200 });
    const sub = new Subscriber(client);
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync(filter, { qos: 1 });
    return sub;
  }

  json(): any[] {
    return this.messages.map((m) => JSON.parse(m.payload));
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

export async function publish(url: string, messages: Array<{ topic: string; payload: string; qos?: 0 | 1 }>): Promise<void> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0 });
  try {
    for (const m of messages) await client.publishAsync(m.topic, m.payload, { qos: m.qos ?? 1 });
  } finally {
    await client.endAsync();
  }
}
