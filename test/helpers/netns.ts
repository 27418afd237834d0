import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { promisify } from 'node:util';
import { findBinary, skipUnlessPeer } from './peers.js';

const run = promisify(execFile);
export const IP = findBinary('ip');
export const SOCAT = findBinary('socat');

/**
 * Whether this process may create network namespaces (`ip netns add`: root, or CAP_SYS_ADMIN).
 * Tried once, with a throw-away namespace.
 */
let netnsWorks: boolean | undefined;
export function canUseNetns(): boolean {
  if (netnsWorks !== undefined) return netnsWorks;
  if (!IP) return (netnsWorks = false);
  const probe = `snp-${process.pid}`;
  try {
    execFileSync(IP, ['netns', 'add', probe], { stdio: 'ignore' });
    execFileSync(IP, ['netns', 'del', probe], { stdio: 'ignore' });
    netnsWorks = true;
  } catch {
    netnsWorks = false;
  }
  return netnsWorks;
}

/** `false` to run, or why the namespace test is skipped; with SPORE_REQUIRE_PEERS=1 it throws instead. */
export function skipUnlessNetns(): string | false {
  if (!IP) return skipUnlessPeer('iproute2 (ip)', false);
  return skipUnlessPeer('network namespaces (`ip netns add` was refused: run as root)', canUseNetns());
}

export interface NetnsProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** Signals the process (the one `ip netns exec` became) and waits for it. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * A real Ethernet LAN made of network namespaces: a switch namespace holding a Linux bridge,
 * and hosts, each its own namespace with one veth link (`eth0`) into the bridge and one or
 * more addresses from the LAN's /24 in 198.18.0.0/15 (RFC 2544: reserved for benchmarking, so it
 * can never be someone's real network). Broadcasts (255.255.255.255 and the subnet's) travel
 * the bridge to every host, as on Wi-Fi. Only the namespaces it made are touched; `destroy()`
 * (and process exit) removes them all.
 *
 * Namespace names: `<prefix>-<host>`, the prefix unique per test process (e.g. `s18-<pid>`).
 */
export class NetnsLan {
  private readonly hosts = new Map<string, { ns: string; index: number }>();
  private readonly processes = new Set<ChildProcess>();
  private readonly switchNs: string;
  private foreignPorts = 0;
  private onExit: (() => void) | undefined;

  private constructor(
    readonly prefix: string,
    /** The first three octets, e.g. "198.18.7". */
    readonly subnet: string,
  ) {
    this.switchNs = `${prefix}-sw`;
  }

  /** A LAN 198.18.<third>.0/24; `third` is picked from the pid when not given. */
  static async create(prefix: string, third = process.pid % 250): Promise<NetnsLan> {
    if (!/^[a-z0-9-]{1,16}$/.test(prefix)) throw new Error('prefix: 1-16 of [a-z0-9-] (namespace names stay short)');
    const lan = new NetnsLan(prefix, `198.18.${third}`);
    lan.onExit = () => lan.destroySync();
    process.once('exit', lan.onExit);
    try {
      await lan.ip(['netns', 'add', lan.switchNs]);
      await lan.ip(['-n', lan.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
      await lan.ip(['-n', lan.switchNs, 'link', 'set', 'br0', 'up']);
    } catch (err) {
      lan.destroySync();
      throw err;
    }
    return lan;
  }

  get broadcast(): string {
    return `${this.subnet}.255`;
  }

  /** `<subnet>.<host>` */
  address(host: number): string {
    return `${this.subnet}.${host}`;
  }

  nsOf(host: string): string {
    const h = this.hosts.get(host);
    if (!h) throw new Error(`no host "${host}" on this LAN`);
    return h.ns;
  }

  /** A host namespace wired to the switch, with these addresses (the last octet each) on eth0. */
  async addHost(name: string, octets: number[]): Promise<void> {
    const index = this.hosts.size + 1;
    const ns = `${this.prefix}-${name}`;
    await this.ip(['netns', 'add', ns]);
    this.hosts.set(name, { ns, index });
    // The veth pair is made in the switch and one end moved into the host as eth0.
    await this.ip(['-n', this.switchNs, 'link', 'add', `p${index}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    await this.ip(['-n', this.switchNs, 'link', 'set', `p${index}`, 'master', 'br0', 'up']);
    await this.ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    for (const o of octets) await this.ip(['-n', ns, 'addr', 'add', `${this.address(o)}/24`, 'broadcast', this.broadcast, 'dev', 'eth0']);
    await this.ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    // 255.255.255.255 needs a route out of the host: the LAN is its only network.
    await this.ip(['-n', ns, 'route', 'add', 'default', 'dev', 'eth0']);
  }

  /**
   * Plugs a namespace that is not one of this LAN's hosts (say the host of another LAN, a
   * gateway on two networks) into this LAN's switch as `ifName` with `<subnet>.<octet>/24`;
   * no default route is added there. The namespace keeps its own lifetime.
   */
  async plugForeign(ns: string, ifName: string, octet: number): Promise<void> {
    const port = `x${this.foreignPorts++}`;
    await this.ip(['-n', this.switchNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifName, 'netns', ns]);
    await this.ip(['-n', this.switchNs, 'link', 'set', port, 'master', 'br0', 'up']);
    await this.ip(['-n', ns, 'addr', 'add', `${this.address(octet)}/24`, 'broadcast', this.broadcast, 'dev', ifName]);
    await this.ip(['-n', ns, 'link', 'set', ifName, 'up']);
  }

  /** Unplugs (`down`) or plugs back (`up`) a host's cable: its end in the switch. */
  async link(host: string, state: 'up' | 'down'): Promise<void> {
    const { index } = this.hosts.get(host) ?? {};
    if (index === undefined) throw new Error(`no host "${host}"`);
    await this.ip(['-n', this.switchNs, 'link', 'set', `p${index}`, state]);
  }

  async addAddress(host: string, octet: number): Promise<void> {
    await this.ip(['-n', this.nsOf(host), 'addr', 'add', `${this.address(octet)}/24`, 'broadcast', this.broadcast, 'dev', 'eth0']);
  }

  async removeAddress(host: string, octet: number): Promise<void> {
    await this.ip(['-n', this.nsOf(host), 'addr', 'del', `${this.address(octet)}/24`, 'dev', 'eth0']);
  }

  /** Runs a command inside a host's namespace (`ip netns exec`, which execs it: same pid). */
  spawn(host: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): NetnsProcess {
    const child = spawn(IP!, ['netns', 'exec', this.nsOf(host), cmd, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    this.processes.add(child);
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) =>
      child.on('exit', (code) => {
        this.processes.delete(child);
        r(code);
      }),
    );
    return {
      child,
      output: () => out,
      exited,
      stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      },
    };
  }

  /**
   * Reaches a TCP port inside a host's namespace from the test (which stays in its own): socat
   * in the namespace relays a Unix socket — the file system is shared across namespaces — to
   * 127.0.0.1:<port> there. Returns the socket path, for `nsHttp`.
   */
  async relay(host: string, port: number, socketPath: string): Promise<NetnsProcess> {
    if (!SOCAT) throw new Error('socat is not installed');
    const p = this.spawn(host, SOCAT, [`UNIX-LISTEN:${socketPath},fork,unlink-early`, `TCP:127.0.0.1:${port}`]);
    return p;
  }

  async destroy(): Promise<void> {
    for (const child of this.processes) child.kill('SIGKILL');
    await Promise.all([...this.processes].map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(null) : c.once('exit', r)))));
    this.destroySync();
  }

  private destroySync(): void {
    for (const child of this.processes) child.kill('SIGKILL');
    for (const ns of [...[...this.hosts.values()].map((h) => h.ns), this.switchNs]) {
      try {
        execFileSync(IP!, ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // already gone
      }
    }
    this.hosts.clear();
    if (this.onExit) process.off('exit', this.onExit);
  }

  private async ip(args: string[]): Promise<void> {
    try {
      await run(IP!, args);
    } catch (err) {
      throw new Error(`ip ${args.join(' ')}: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`);
    }
  }
}

/** JSON over HTTP through a Unix socket (a `NetnsLan.relay`): status and parsed body. */
export function nsHttp(socketPath: string, path: string, method = 'GET', body?: unknown): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, path, method, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end(data);
  });
}
