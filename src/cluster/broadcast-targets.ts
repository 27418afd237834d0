import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';

/** The limited broadcast address: leaves only through the interface of the default route. */
export const LIMITED_BROADCAST = '255.255.255.255';

const toInt = (ip: string): number => ip.split('.').reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
const toIp = (n: number): string => [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');

/**
 * The directed broadcast address (RFC 919 §7, RFC 922) of every IPv4 address on an up,
 * non-loopback interface, deduplicated, in interface order. os.networkInterfaces() lists
 * only interfaces that are up and running (libuv skips the others). /31 and /32 networks
 * have no broadcast address (RFC 3021), so they are left out.
 */
export function directedBroadcasts(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces()): string[] {
  const out = new Set<string>();
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue;
      const mask = toInt(a.netmask);
      if (mask === 0xffffffff || mask === 0xfffffffe) continue;
      out.add(toIp((toInt(a.address) | ~mask) >>> 0));
    }
  }
  return [...out];
}

/**
 * Where a CLUSTER_DISCOVERY probe goes (CONTRACT §2, issue 19): a configured address alone
 * (`-broadcast`), or else every interface's directed broadcast and the limited broadcast, so a
 * host on two LANs (Ethernet and Wi-Fi) reaches the nodes on both.
 */
export function probeTargets(configured: string | undefined, interfaces?: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  if (configured !== undefined) return [configured];
  return [...directedBroadcasts(interfaces), LIMITED_BROADCAST];
}
