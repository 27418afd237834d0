import http from 'node:http';
import net from 'node:net';
import { isValidHostname } from '../src/protocol/datagram.js';
import { isValidIpv4, normaliseIp } from '../src/protocol/ip.js';
import { isValidVersion } from './firmware-image.js';
import { handleNodeRequest } from './node-http-api.js';
import { defaultFreeSketchSpace, FLASH_CHIP_SIZE } from './node-model.js';
import { SimNode, type NodeLog, type SimNodeSettings } from './sim-node.js';

export interface SimClusterOptions {
  /** How many virtual nodes. */
  count: number;
  /** Address of node 0; node i gets the i-th usable address after it (x.y.z.0 and .255 skipped). Default 127.0.1.1. */
  baseIp?: string;
  /** The nodes' HTTP API port (the gateway's `-node-port`). Default 80. */
  httpPort?: number;
  /** Where heartbeats go. Default 127.0.0.1. */
  gatewayHost?: string;
  /** The gateway's UDP port. Default 4210. */
  gatewayPort?: number;
  /** ms between heartbeats (SPORE: 2 s). */
  heartbeatIntervalMs?: number;
  hostnamePrefix?: string;
  labels?: Record<string, string> | ((index: number) => Record<string, string>);
  firmwareVersion?: string;
  /** Silent time of a simulated reboot, ms. */
  rebootMs?: number;
  /** Simulated flash write speed for OTA, bytes/s; 0 = unthrottled. */
  flashBytesPerSec?: number;
  /** Jitter added to each HTTP answer, ms. */
  latencyMs?: { min: number; max: number };
  /** Each node listens on <ip>:gatewayPort to answer CLUSTER_DISCOVERY and hear CLUSTER_EVENTs. */
  answerDiscovery?: boolean;
  /** Serve the HTTP API (off only for UDP-only load tests of tens of thousands of nodes). */
  serveHttp?: boolean;
  /**
   * Serve every node's HTTP API from one listener on this address (port `httpPort`) instead of
   * one listener per node: a node needs one descriptor (its UDP socket) instead of two, so 10,000
   * nodes fit a 20,000-descriptor limit. `0.0.0.0` reaches every 127.x node address; connections
   * to any address that is not a node's are closed at once. A killed node's requests are then
   * dropped (connection reset) rather than refused.
   */
  httpListen?: string;
  /** Flash chip size of each node, bytes (default 1 MB, an ESP-01). */
  flashChipSize?: number | ((index: number) => number);
  /**
   * `freeSketchSpace` each node reports, bytes; null: not reported (the gateway computes it from
   * the flash size); a function answering undefined: the default, what a 460 KiB sketch leaves (480 KiB on 1 MB).
   */
  freeSketchSpace?: number | null | ((index: number) => number | null | undefined);
  /** Real-LAN mode (SimNodeSettings.lan): hear broadcast probes, heartbeats may go to a broadcast address. */
  lan?: boolean;
  /** Where the emulator reports what happens to its nodes; default: nowhere. */
  log?: NodeLog;
}

export const SIM_DEFAULTS = {
  baseIp: '127.0.1.1',
  httpPort: 80,
  gatewayHost: '127.0.0.1',
  gatewayPort: 4210,
  heartbeatIntervalMs: 2000,
  hostnamePrefix: 'spore-sim-',
  firmwareVersion: '1.0.0',
  rebootMs: 3000,
  flashBytesPerSec: 0,
  latencyMs: { min: 2, max: 12 },
} as const;

/** Default labels: a role and one of three zones, so label selectors have something to select. */
function defaultLabels(index: number): Record<string, string> {
  return { role: index % 2 === 0 ? 'sensor' : 'actuator', zone: `zone-${(index % 3) + 1}` };
}

function ipToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The `count` usable addresses from `baseIp` on, skipping network (.0) and broadcast (.255) octets. */
export function allocateIps(baseIp: string, count: number): string[] {
  if (!isValidIpv4(baseIp)) throw new Error(`base IP must be an IPv4 address, got ${JSON.stringify(baseIp)}`);
  const out: string[] = [];
  let n = ipToInt(baseIp);
  while (out.length < count) {
    if (n > 0xffffffff) throw new Error(`not enough addresses after ${baseIp} for ${count} nodes`);
    const last = n % 256;
    if (last !== 0 && last !== 255) out.push(intToIp(n));
    n++;
  }
  return out;
}

/**
 * A simulated SPORE cluster: N virtual nodes on their own loopback addresses,
 * one shared HTTP parser dispatching on the connection's local address.
 */
export class SimCluster {
  readonly nodes: SimNode[] = [];
  private readonly byIp = new Map<string, SimNode>();
  private readonly server: http.Server;
  private sharedListener: net.Server | undefined;
  /**
   * HTTP requests the nodes received, per route (`GET /api/node/status`, …), since start: what
   * the gateway costs the ESP8266s (issue 19, bench/gentle-polling.ts). Counted on arrival.
   */
  readonly requestCounts = new Map<string, number>();

  private constructor(readonly settings: SimNodeSettings) {
    this.server = http.createServer({ keepAlive: true }, (req, res) => {
      const node = this.byIp.get(normaliseIp(req.socket.localAddress ?? ''));
      if (!node) {
        res.destroy();
        return;
      }
      const route = `${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/'}`;
      this.requestCounts.set(route, (this.requestCounts.get(route) ?? 0) + 1);
      if (route === 'GET /api/node/status') node.statusRequests++;
      handleNodeRequest(node, this, req, res).catch(() => res.destroy());
    });
    // A big OTA over a throttled "flash" can take minutes; nodes never time requests out themselves.
    this.server.requestTimeout = 0;
    this.server.headersTimeout = 60_000; // ms
  }

  get ips(): string[] {
    return this.nodes.map((n) => n.ip);
  }

  node(indexOrIp: number | string): SimNode {
    const node = typeof indexOrIp === 'number' ? this.nodes[indexOrIp] : this.byIp.get(indexOrIp);
    if (!node) throw new Error(`no simulated node ${String(indexOrIp)} (have ${this.nodes.length})`);
    return node;
  }

  static async start(options: SimClusterOptions): Promise<SimCluster> {
    const o = { ...SIM_DEFAULTS, ...stripUndefined(options) };
    if (!Number.isInteger(options.count) || options.count < 0) throw new Error(`count must be a non-negative integer, got ${String(options.count)}`);
    if (!isValidVersion(o.firmwareVersion)) throw new Error(`firmware version must be 1-32 of [A-Za-z0-9._+-], got ${JSON.stringify(o.firmwareVersion)}`);
    if (o.latencyMs.min < 0 || o.latencyMs.max < o.latencyMs.min) throw new Error('latency range must satisfy 0 <= min <= max');
    const cluster = new SimCluster({
      httpPort: o.httpPort,
      gatewayHost: o.gatewayHost,
      gatewayPort: o.gatewayPort,
      heartbeatIntervalMs: o.heartbeatIntervalMs,
      rebootMs: o.rebootMs,
      flashBytesPerSec: o.flashBytesPerSec,
      latencyMs: { ...o.latencyMs },
      answerDiscovery: o.answerDiscovery ?? true,
      serveHttp: o.serveHttp ?? true,
      sharedHttp: options.httpListen !== undefined && (o.serveHttp ?? true),
      lan: o.lan ?? false,
    });
    const log = options.log ?? (() => undefined);
    const labelsFor = typeof o.labels === 'function' ? o.labels : o.labels ? () => ({ ...(o.labels as Record<string, string>) }) : defaultLabels;
    const ips = allocateIps(o.baseIp, options.count);
    ips.forEach((ip, index) => {
      const hostname = `${o.hostnamePrefix}${index + 1}`;
      if (!isValidHostname(hostname)) throw new Error(`hostname "${hostname}" is not 1-64 of [A-Za-z0-9._-]; choose another prefix`);
      const flashChipSize = typeof o.flashChipSize === 'function' ? o.flashChipSize(index) : (o.flashChipSize ?? FLASH_CHIP_SIZE);
      const free = typeof o.freeSketchSpace === 'function' ? o.freeSketchSpace(index) : o.freeSketchSpace;
      const flash = { flashChipSize, freeSketchSpace: free === undefined ? defaultFreeSketchSpace(flashChipSize) : free };
      const node = new SimNode(index, ip, hostname, labelsFor(index), o.firmwareVersion, cluster.settings, cluster.server, log, flash);
      cluster.nodes.push(node);
      cluster.byIp.set(ip, node);
    });
    try {
      if (cluster.settings.sharedHttp) await cluster.listenShared(options.httpListen!);
      // Boot in slices: a thousand binds at once would only queue in the kernel anyway.
      for (let i = 0; i < cluster.nodes.length; i += 64) {
        await Promise.all(cluster.nodes.slice(i, i + 64).map((n) => n.boot()));
      }
    } catch (err) {
      await cluster.stop();
      const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
      if (e.code === 'EADDRINUSE') throw new Error(`address ${e.address}:${e.port} is already in use; pick another -http-port or -base-ip`);
      if (e.code === 'EADDRNOTAVAIL') {
        throw new Error(`address ${e.address} is not configured on this machine; on macOS add loopback aliases first (see emulator/README.md)`);
      }
      if (e.code === 'EACCES') throw new Error(`permission denied binding port ${e.port}; ports below 1024 need root — use -http-port 8080 and the gateway's -node-port 8080`);
      throw err;
    }
    return cluster;
  }

  private async listenShared(host: string): Promise<void> {
    const listener = net.createServer((socket) => {
      // Only connections to a node's own address are served.
      if (!this.byIp.has(normaliseIp(socket.localAddress ?? ''))) {
        socket.destroy();
        return;
      }
      this.server.emit('connection', socket);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen({ port: this.settings.httpPort, host, exclusive: true }, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    this.sharedListener = listener;
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop()));
    this.sharedListener?.close();
    this.server.close();
    this.server.closeAllConnections();
  }
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
