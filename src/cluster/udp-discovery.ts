import dgram from 'node:dgram';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../logger.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import { decodeDatagram, encodeDatagram, type JunkReason } from '../protocol/datagram.js';
import { normaliseIp } from '../protocol/ip.js';
import { LIMITED_BROADCAST, probeTargets } from './broadcast-targets.js';
import { NodeAddressPolicy, type RefusalReason } from './node-address-policy.js';
import type { NodeRegistry } from './node-registry.js';
import { DEFAULT_READ_COALESCING, UdpReadCoalescer, type UdpReadCoalescerOptions } from './udp-read-coalescer.js';

export interface UdpDiscoveryOptions {
  port: number;
  host: string;
  /** One address for every probe (`-broadcast`); undefined = every interface's broadcast (broadcast-targets.ts). */
  broadcastAddress?: string | undefined;
  /** Kernel receive buffer, bytes: absorbs heartbeat bursts from thousands of nodes. */
  receiveBufferBytes: number;
  /** Send a CLUSTER_DISCOVERY probe this often, ms; 0 = only on start and on demand. */
  probeIntervalMs: number;
  /** CIDRs nodes must be in (`nodes.allowedNetworks`); empty = any. */
  allowedNetworks?: readonly string[];
  /** Coalesced reads at high datagram rates (udp-read-coalescer.ts); tests lower the threshold. */
  readCoalescing?: UdpReadCoalescerOptions;
}

/** The UDP address and port are taken by another program's socket bound to exactly them (a second gateway). */
export class UdpPortTakenError extends Error {
  readonly code = 'EADDRINUSE';
  constructor(
    readonly address: string,
    readonly port: number,
  ) {
    super(`UDP port ${port} on ${address} is already used by another program (another SPORE gateway?); stop it or choose another -udp-port`);
    this.name = 'UdpPortTakenError';
  }
}

/**
 * Whether a UDP socket is already bound to exactly `host`:`port` (Linux
 * /proc/net/udp; false where that cannot be read). The gateway binds with
 * SO_REUSEADDR so emulated nodes can share the port on their own 127.x
 * addresses — which also lets a second gateway bind the very same address and
 * silently take the unicast heartbeats; this check refuses that second one.
 */
async function exactBindingExists(host: string, port: number): Promise<boolean> {
  let table: string;
  try {
    table = await readFile('/proc/net/udp', 'utf8');
  } catch {
    return false;
  }
  const octets = host.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o))) return false;
  // /proc/net/udp writes the address as the 32-bit value in host (little-endian) order.
  const hexIp = octets.reverse().map((o) => o.toString(16).padStart(2, '0')).join('').toUpperCase();
  const wanted = `${hexIp}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
  return table.split('\n').some((line) => line.trim().split(/\s+/)[1] === wanted);
}

export interface DatagramStats {
  valid: number;
  junk: number;
  junkByReason: Partial<Record<JunkReason, number>>;
  sent: number;
  sendErrors: number;
  /** Datagrams dropped because their source may not be a node (node-address-policy.ts). */
  refusedSources: number;
  refusedByReason: Partial<Record<RefusalReason, number>>;
}

/**
 * The UDP side of CONTRACT §2: receives the six datagram kinds, feeds the
 * registry and the event bus, counts and drops junk, and sends discovery
 * probes and cluster events.
 */
export class UdpDiscovery {
  private socket: dgram.Socket | undefined;
  private bound = false;
  private probeTimer: NodeJS.Timeout | undefined;
  readonly stats: DatagramStats = { valid: 0, junk: 0, junkByReason: {}, sent: 0, sendErrors: 0, refusedSources: 0, refusedByReason: {} };
  private readonly policy: NodeAddressPolicy;
  private lastTargets = '';
  private reads: UdpReadCoalescer | undefined;
  /** The bound port, read once: a probe sends to it 10,000 times at 10,000 nodes (address() is a getsockname call each). */
  private boundPort: number | undefined;

  constructor(
    private readonly options: UdpDiscoveryOptions,
    private readonly registry: NodeRegistry,
    private readonly bus: GatewayEventBus,
    private readonly logger: Logger,
  ) {
    this.policy = new NodeAddressPolicy({ allowedNetworks: options.allowedNetworks ?? [], broadcastAddress: options.broadcastAddress ?? LIMITED_BROADCAST });
  }

  get listening(): boolean {
    return this.bound;
  }

  /** The bound port (useful with port 0). */
  get port(): number {
    return this.boundPort ?? this.socket?.address().port ?? this.options.port;
  }

  async start(): Promise<void> {
    if (this.options.port !== 0 && (await exactBindingExists(this.options.host, this.options.port))) {
      throw new UdpPortTakenError(this.options.host, this.options.port);
    }
    // reuseAddr: emulated nodes on the same host bind their own 127.x address on this port.
    const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
    this.socket = socket;
    const reads = new UdpReadCoalescer(socket, this.options.readCoalescing ?? DEFAULT_READ_COALESCING);
    this.reads = reads;
    socket.on('message', (msg, rinfo) => {
      reads.count();
      this.handle(msg, normaliseIp(rinfo.address), rinfo.port);
    });
    socket.on('close', () => {
      reads.stop();
      this.bound = false;
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      socket.once('error', onError);
      socket.bind(this.options.port, this.options.host, () => {
        socket.off('error', onError);
        resolve();
      });
    });
    socket.on('error', (err) => {
      this.logger.error({ err }, 'UDP socket error');
    });
    try {
      socket.setRecvBufferSize(this.options.receiveBufferBytes);
    } catch (err) {
      this.logger.warn({ err }, 'cannot enlarge the UDP receive buffer; bursts may drop datagrams');
    }
    try {
      socket.setBroadcast(true);
    } catch (err) {
      this.logger.warn({ err }, 'cannot enable UDP broadcast; discovery probes go unicast only');
    }
    reads.start();
    this.boundPort = socket.address().port;
    this.bound = true;
    this.logger.info({ port: this.port, host: this.options.host, coalescedReads: reads.stats.supported }, 'UDP discovery listening');
    if (this.options.probeIntervalMs > 0) {
      this.probeTimer = setInterval(() => this.probe(), this.options.probeIntervalMs);
      this.probeTimer.unref();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.probeTimer);
    const socket = this.socket;
    this.socket = undefined;
    this.reads?.stop();
    this.boundPort = undefined;
    if (!socket) return;
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    this.bound = false;
  }

  /** How the socket is read (coalesced at high rates or not). */
  get readStats(): UdpReadCoalescer['stats'] | undefined {
    return this.reads?.stats;
  }

  /** Whether `ip` may be a node at all (the address policy; used for nodes loaded from the data directory). */
  admits(ip: string): boolean {
    return this.policy.refusal(ip) === null;
  }

  /** Handles one datagram from `ip`. Public for benchmarks and property tests. */
  handle(msg: Uint8Array, ip: string, port?: number): void {
    const result = decodeDatagram(msg);
    if (!result.ok) {
      this.stats.junk++;
      this.stats.junkByReason[result.reason] = (this.stats.junkByReason[result.reason] ?? 0) + 1;
      this.logger.debug({ from: ip, reason: result.reason, bytes: msg.byteLength }, 'dropped junk datagram');
      return;
    }
    const refused = this.policy.refusal(ip);
    if (refused) {
      // Never a node: the proxy would call that address (docs/security.md, "UDP spoofing").
      this.stats.refusedSources++;
      this.stats.refusedByReason[refused] = (this.stats.refusedByReason[refused] ?? 0) + 1;
      this.logger.debug({ from: ip, reason: refused }, 'dropped a datagram from an address that cannot be a node');
      return;
    }
    this.stats.valid++;
    const d = result.datagram;
    switch (d.kind) {
      case 'heartbeat':
      case 'response':
        this.registry.observe(ip, d.hostname, port);
        break;
      case 'node-update': {
        const node = this.registry.observe(ip, d.hostname, port);
        if (!node) break;
        this.registry.applyUpdate(node, d.info);
        // What was kept, within the caps — never the raw datagram (60 kB × every client).
        this.bus.emit('node/update', { nodeIp: ip, hostname: d.hostname, info: this.registry.keptUpdate(node, d.info) });
        break;
      }
      case 'discovery':
        this.registry.touch(ip, port);
        break;
      case 'event':
        this.registry.touch(ip, port);
        this.bus.emit('cluster/event', { event: d.event, data: d.data, nodeIp: ip });
        break;
      case 'raw':
        this.registry.touch(ip, port);
        this.bus.emit('cluster/raw', { nodeIp: ip, data: d.payload });
        break;
    }
  }

  /**
   * Sends CLUSTER_DISCOVERY to the broadcast address(es) and, unicast, to every known node
   * (CONTRACT §2). The interfaces are read again for every probe, so an interface that comes
   * up, goes down or changes its address is followed without a restart.
   */
  probe(): void {
    // One buffer for every send (10,000 unicast probes at 10,000 nodes), not a string encoded each time.
    const text = Buffer.from(encodeDatagram({ kind: 'discovery' }));
    const targets = probeTargets(this.options.broadcastAddress);
    const key = targets.join(',');
    if (key !== this.lastTargets) {
      this.lastTargets = key;
      this.logger.info({ targets }, 'discovery probes go to these broadcast addresses');
    }
    for (const target of targets) this.send(text, target);
    for (const node of this.registry.list()) this.send(text, node.ip);
  }

  /** The broadcast addresses of the last probe. */
  get probeTargets(): string[] {
    return this.lastTargets === '' ? [] : this.lastTargets.split(',');
  }

  /** Sends a CLUSTER_EVENT to every known node; returns how many were addressed. */
  broadcastEvent(event: string, data: unknown): number {
    const text = Buffer.from(encodeDatagram({ kind: 'event', event, data }));
    const nodes = this.registry.list();
    for (const node of nodes) this.send(text, node.ip);
    return nodes.length;
  }

  private send(text: Uint8Array, ip: string): void {
    const socket = this.socket;
    if (!socket) return;
    socket.send(text, this.port, ip, (err) => {
      if (err) {
        this.stats.sendErrors++;
        this.logger.debug({ err, to: ip }, 'UDP send failed');
      } else this.stats.sent++;
    });
  }
}
