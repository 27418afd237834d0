import dgram from 'node:dgram';
import net from 'node:net';
import type http from 'node:http';
import { decodeDatagram, encodeDatagram, type Datagram } from '../src/protocol/datagram.js';
import { NODE_API, NodeModel, type FlashSpec } from './node-model.js';

/**
 * How the next OTA goes wrong (fault injection): `refuse` answers FAIL;
 * `never-return` does not come back from its reboot; `old-version` comes back
 * on its old image; `stall` stops reading the upload halfway and never answers.
 */
export type UpdateFailureMode = 'refuse' | 'never-return' | 'old-version' | 'stall';
export const UPDATE_FAILURE_MODES: readonly UpdateFailureMode[] = ['refuse', 'never-return', 'old-version', 'stall'];

/** Settings every node of a simulated cluster shares (resolved SimClusterOptions). */
export interface SimNodeSettings {
  httpPort: number;
  gatewayHost: string;
  gatewayPort: number;
  heartbeatIntervalMs: number;
  rebootMs: number;
  flashBytesPerSec: number;
  latencyMs: { min: number; max: number };
  answerDiscovery: boolean;
  serveHttp: boolean;
  /**
   * The cluster serves every node's HTTP API from one listener (SimClusterOptions.httpListen):
   * a node opens none of its own. 10,000 nodes then need 10,000 descriptors, not 20,000.
   */
  sharedHttp?: boolean;
  /**
   * A real LAN (network namespaces, a real interface): also listen on 0.0.0.0:<gatewayPort> for
   * the gateway's broadcast CLUSTER_DISCOVERY — a socket bound to the node's own address does not
   * receive broadcasts — and allow sending to a broadcast address (heartbeats to `gatewayHost`
   * = 255.255.255.255 or the subnet's). Off on loopback, where 0.0.0.0:<port> is the gateway's.
   */
  lan?: boolean;
}

export interface UploadRecord {
  size: number;
  sha256: string;
  /** The version marker found in the image, if any. */
  version: string | null;
  /** ms since the epoch. */
  at: number;
}

export type NodeLog = (message: string) => void;

/**
 * One virtual SPORE node on its own loopback address. It sends its UDP from
 * that address (the gateway identifies nodes by source IP, CONTRACT §2),
 * answers CLUSTER_DISCOVERY, serves the node HTTP API (CONTRACT §3) on
 * `<ip>:<httpPort>`, and can be killed, muted, slowed, rebooted and made to
 * fail its next update.
 */
export class SimNode {
  readonly model: NodeModel;
  readonly uploads: UploadRecord[] = [];
  readonly receivedEvents: Array<{ event: string; data: unknown }> = [];
  /** Tasks and OTA consult these; tests and the CLI set them. */
  muted = false;
  slowMs = 0;
  pendingFailure: UpdateFailureMode | null = null;
  /** ms since the epoch of the last boot, and of the last heartbeat sent (0 = never). */
  bootedAt = 0;
  lastHeartbeatAt = 0;
  /** `GET /api/node/status` requests this node received (each one interrupts an ESP8266). */
  statusRequests = 0;
  private powered = false;
  private rebooting: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private udp: dgram.Socket | undefined;
  private broadcastUdp: dgram.Socket | undefined;
  private listener: net.Server | undefined;
  private readonly connections = new Set<net.Socket>();
  /** Set while a kill is in force, so a pending reboot does not bring the node back. */
  private killed = false;

  constructor(
    readonly index: number,
    readonly ip: string,
    readonly hostname: string,
    public labels: Record<string, string>,
    public version: string,
    private readonly settings: SimNodeSettings,
    private readonly httpServer: http.Server,
    private readonly log: NodeLog,
    flash?: FlashSpec,
  ) {
    this.model = new NodeModel(index, flash);
  }

  /** True while the node is powered and booted (not killed, not rebooting). */
  get alive(): boolean {
    return this.powered;
  }

  /** Jitter added to every HTTP answer, ms. */
  get latencyRange(): { min: number; max: number } {
    return this.settings.latencyMs;
  }

  /** Simulated flash write speed during OTA, bytes/s (0 = unthrottled). */
  get flashBytesPerSec(): number {
    return this.settings.flashBytesPerSec;
  }

  /** Uptime since the last boot, ms (Arduino `millis()`). */
  get uptimeMs(): number {
    return this.powered ? Date.now() - this.bootedAt : 0;
  }

  /** Powers the node on: UDP socket, HTTP listener, NODE_UPDATE, heartbeats. */
  async boot(): Promise<void> {
    if (this.powered) return;
    this.killed = false;
    clearTimeout(this.rebooting);
    this.rebooting = undefined;
    this.model.resetTasks();
    await this.openUdp();
    if (this.settings.serveHttp && !this.settings.sharedHttp) await this.openHttp();
    this.powered = true;
    this.bootedAt = Date.now();
    // SPORE announces itself at boot: details (labels, version) and a first heartbeat.
    this.sendNodeUpdate();
    this.heartbeat();
    this.scheduleHeartbeat(true);
  }

  /** Power off: no heartbeats, HTTP connections refused. Stays off until revive(). */
  kill(): void {
    this.killed = true;
    clearTimeout(this.rebooting);
    this.rebooting = undefined;
    this.powerOff();
    this.log(`${this.hostname} (${this.ip}) killed`);
  }

  /** Boots a killed node again. */
  async revive(): Promise<void> {
    this.killed = false;
    await this.boot();
    this.log(`${this.hostname} (${this.ip}) revived`);
  }

  /** Heartbeats stop (the node stays reachable over HTTP). */
  mute(on: boolean): void {
    this.muted = on;
  }

  /** Delays every HTTP answer by `ms` (0 = normal). */
  slow(ms: number): void {
    this.slowMs = Math.max(0, ms);
  }

  failNextUpdate(mode: UpdateFailureMode | null): void {
    this.pendingFailure = mode;
  }

  /** The version of each image received and flashed, oldest first (the last one is what it runs unless it fell back). */
  readonly flashedVersions: Array<string | null> = [];

  /** A reboot: silent for `rebootMs`, then back (CONTRACT §3 `POST /api/node/restart`). */
  restart(): Promise<void> {
    return this.reboot();
  }

  /**
   * Reboots, optionally into a new version. `never` leaves the node dark (a
   * bricked update) until revive().
   */
  reboot(options: { version?: string | null; never?: boolean } = {}): Promise<void> {
    this.powerOff();
    if (options.never) {
      this.killed = true;
      this.log(`${this.hostname} (${this.ip}) did not come back from its reboot (injected fault)`);
      return Promise.resolve();
    }
    if (options.version) this.version = options.version;
    return new Promise<void>((resolve) => {
      this.rebooting = setTimeout(() => {
        this.rebooting = undefined;
        if (this.killed) return resolve();
        this.boot().then(resolve, (err: unknown) => {
          this.log(`${this.hostname} failed to boot: ${(err as Error).message}`);
          resolve();
        });
      }, this.settings.rebootMs);
      this.rebooting.unref?.();
    });
  }

  /** Sends a CLUSTER_EVENT datagram to the gateway. */
  sendEvent(event: string, data: unknown): Promise<void> {
    return this.send({ kind: 'event', event, data });
  }

  /** Sends a RAW datagram to the gateway. */
  sendRaw(payload: string): Promise<void> {
    return this.send({ kind: 'raw', payload });
  }

  /** Announces the node's details (labels, version, resources, api) to the gateway. */
  sendNodeUpdate(): void {
    void this.send({
      kind: 'node-update',
      hostname: this.hostname,
      info: {
        labels: this.labels,
        version: this.version,
        uptime: this.uptimeMs,
        resources: this.model.resources(),
        api: NODE_API.map(({ uri, method }) => ({ uri, method })),
      },
    });
  }

  /** Final shutdown: nothing left open. */
  async stop(): Promise<void> {
    this.killed = true;
    clearTimeout(this.rebooting);
    this.powerOff();
  }

  private powerOff(): void {
    this.powered = false;
    clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
    this.udp?.close();
    this.udp = undefined;
    this.broadcastUdp?.close();
    this.broadcastUdp = undefined;
    this.listener?.close();
    this.listener = undefined;
    for (const socket of this.connections) socket.destroy();
    this.connections.clear();
  }

  private scheduleHeartbeat(first = false): void {
    // The first beat after boot is staggered so a thousand nodes do not beat in lockstep.
    const interval = this.settings.heartbeatIntervalMs;
    const delay = first ? interval * (0.5 + Math.random() * 0.5) : interval * (0.95 + Math.random() * 0.1);
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeat();
      if (this.powered) this.scheduleHeartbeat();
    }, delay);
    this.heartbeatTimer.unref?.();
  }

  private heartbeat(): void {
    if (!this.powered || this.muted || this.model.task('heartbeat')?.enabled === false) return;
    this.lastHeartbeatAt = Date.now();
    void this.send({ kind: 'heartbeat', hostname: this.hostname });
  }

  private send(datagram: Datagram, to = { host: this.settings.gatewayHost, port: this.settings.gatewayPort }): Promise<void> {
    const socket = this.udp;
    if (!socket) return Promise.resolve();
    return new Promise((resolve) => {
      socket.send(encodeDatagram(datagram), to.port, to.host, () => resolve());
    });
  }

  private async openUdp(): Promise<void> {
    const bindOn = async (port: number, address = this.ip): Promise<dgram.Socket> => {
      const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject);
        socket.bind(port, address, () => {
          socket.off('error', reject);
          resolve();
        });
      });
      return socket;
    };
    let socket: dgram.Socket;
    if (this.settings.answerDiscovery) {
      try {
        // Listening on the discovery port lets the node hear CLUSTER_DISCOVERY and CLUSTER_EVENT.
        socket = await bindOn(this.settings.gatewayPort);
      } catch {
        // Another program holds the port without SO_REUSEADDR: send-only, like a node behind a firewall.
        socket = await bindOn(0);
      }
    } else {
      socket = await bindOn(0);
    }
    socket.on('error', () => undefined); // ICMP errors while the gateway is down are normal
    socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    this.udp = socket;
    if (this.settings.lan) {
      socket.setBroadcast(true);
      if (this.settings.answerDiscovery) {
        // Every node's socket on 0.0.0.0:<port> (SO_REUSEADDR) gets each broadcast; unicast still
        // goes to the more specific <ip>:<port> socket above. Only probes are taken from here.
        const wide = await bindOn(this.settings.gatewayPort, '0.0.0.0');
        wide.on('error', () => undefined);
        wide.on('message', (msg, rinfo) => {
          const result = decodeDatagram(msg);
          if (result.ok && result.datagram.kind === 'discovery') this.onDatagram(msg, rinfo);
        });
        this.broadcastUdp = wide;
      }
    }
  }

  private onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const result = decodeDatagram(msg);
    if (!result.ok || !this.powered) return;
    const d = result.datagram;
    if (d.kind === 'discovery') {
      void this.send({ kind: 'response', hostname: this.hostname }, { host: rinfo.address, port: rinfo.port });
    } else if (d.kind === 'event') {
      this.receivedEvents.push({ event: d.event, data: d.data });
      if (this.receivedEvents.length > 1000) this.receivedEvents.shift();
      this.applyEvent(d.event, d.data);
    }
  }

  /** Cluster events the emulated firmware reacts to. */
  private applyEvent(event: string, data: unknown): void {
    if (event !== 'led/set' || typeof data !== 'object' || data === null) return;
    const { color, brightness } = data as { color?: unknown; brightness?: unknown };
    if (typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color)) this.model.led.color = color.toLowerCase();
    if (typeof brightness === 'number' && brightness >= 0 && brightness <= 255) this.model.led.brightness = Math.round(brightness);
    this.model.led.on = this.model.led.brightness > 0;
  }

  private async openHttp(): Promise<void> {
    // Connections are handed to the cluster's one http.Server, which finds the
    // node by the connection's local address: one parser for a thousand nodes.
    const listener = net.createServer((socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
      this.httpServer.emit('connection', socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port: this.settings.httpPort, host: this.ip, exclusive: true }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    listener.on('error', (err) => this.log(`${this.hostname} HTTP listener error: ${err.message}`));
    this.listener = listener;
  }
}
