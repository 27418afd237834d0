import { networkInterfaces } from 'node:os';
import { isValidIpv4 } from '../protocol/ip.js';

/**
 * Which datagram source addresses may become nodes (docs/security.md, "UDP
 * spoofing"). A node is whatever address a datagram claims to come from, and
 * the proxy then calls that address: so addresses that are never a SPORE node —
 * link-local (169.254/16, where cloud metadata services live; fe80::/10),
 * multicast, broadcast, unspecified, 127.0.0.1 itself and the gateway's own
 * interface addresses — are refused, and `nodes.allowedNetworks` can narrow
 * nodes to the site's LAN. Emulated nodes on their own 127.x.y.z addresses
 * (not 127.0.0.1) stay allowed: the demo, `spore-sim` and the tests use them.
 */

export type RefusalReason = 'not-ipv4' | 'unspecified' | 'loopback-host' | 'link-local' | 'multicast' | 'broadcast' | 'own-address' | 'not-allowed-network';

interface Cidr {
  base: number;
  mask: number;
}

function toInt(ip: string): number {
  return ip.split('.').reduce((acc, o) => (acc << 8) + Number(o), 0) >>> 0;
}

/** "10.0.0.0/8" → {base, mask}; throws on anything else. Used by the config schema too. */
export function parseCidr(text: string): Cidr {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!m || !isValidIpv4(m[1]!) || (m[2] !== undefined && Number(m[2]) > 32)) throw new Error(`${JSON.stringify(text)} is not an IPv4 CIDR such as 192.168.1.0/24`);
  const bits = m[2] === undefined ? 32 : Number(m[2]);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (toInt(m[1]!) & mask) >>> 0, mask };
}

export function isCidr(text: string): boolean {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

const inCidr = (ip: number, c: Cidr): boolean => ((ip & c.mask) >>> 0) === c.base;

const LINK_LOCAL = parseCidr('169.254.0.0/16');
const MULTICAST = parseCidr('224.0.0.0/4');
const UNSPECIFIED = parseCidr('0.0.0.0/8');
const RESERVED = parseCidr('240.0.0.0/4');

export interface AddressPolicyOptions {
  /** CIDRs nodes must be in; empty = any (after the built-in refusals). */
  allowedNetworks: readonly string[];
  /** The configured broadcast address of discovery probes, refused as a source. */
  broadcastAddress: string;
}

/** Source addresses whose verdict is remembered at most (spoofed sources cannot grow it further). */
export const MAX_REMEMBERED_SOURCES = 65_536;

/** What an address is regardless of the interfaces: refused for a reason, allowed, or outside `allowedNetworks`. */
type Verdict = RefusalReason | 'ok' | 'outside';

export class NodeAddressPolicy {
  private readonly allowed: Cidr[];
  private own = new Set<string>();
  private ownReadAt = 0;
  /**
   * Each source's verdict apart from the interface addresses (which change with DHCP and are
   * checked every time): 5,000 heartbeats/s at 10,000 nodes come from the same addresses, so the
   * address is parsed once, not on every datagram. The options are fixed for the policy's life.
   */
  private readonly verdicts = new Map<string, Verdict>();

  constructor(private readonly options: AddressPolicyOptions) {
    this.allowed = options.allowedNetworks.map(parseCidr);
  }

  /** Why `ip` may not be a node, or null when it may. */
  refusal(ip: string): RefusalReason | null {
    let verdict = this.verdicts.get(ip);
    if (verdict === undefined) {
      verdict = this.verdictOf(ip);
      if (this.verdicts.size >= MAX_REMEMBERED_SOURCES) this.verdicts.clear();
      this.verdicts.set(ip, verdict);
    }
    if (verdict !== 'ok' && verdict !== 'outside') return verdict;
    if (this.ownAddresses().has(ip)) return 'own-address';
    return verdict === 'outside' ? 'not-allowed-network' : null;
  }

  private verdictOf(ip: string): Verdict {
    if (ip.includes(':')) return /^fe[89ab]/i.test(ip) ? 'link-local' : 'not-ipv4';
    if (!isValidIpv4(ip)) return 'not-ipv4';
    const n = toInt(ip);
    if (inCidr(n, UNSPECIFIED)) return 'unspecified';
    if (ip === '127.0.0.1') return 'loopback-host';
    if (inCidr(n, LINK_LOCAL)) return 'link-local';
    if (inCidr(n, MULTICAST)) return 'multicast';
    if (ip === '255.255.255.255' || ip === this.options.broadcastAddress || inCidr(n, RESERVED)) return 'broadcast';
    if (this.allowed.length > 0 && !this.allowed.some((c) => inCidr(n, c))) return 'outside';
    return 'ok';
  }

  /** The gateway's own non-loopback interface addresses, re-read at most every 10 s (DHCP may change them). */
  private ownAddresses(): Set<string> {
    const now = Date.now();
    if (now - this.ownReadAt > 10_000) {
      const own = new Set<string>();
      for (const list of Object.values(networkInterfaces())) {
        for (const a of list ?? []) {
          if (a.internal) continue;
          own.add(a.address);
          // The subnet's directed broadcast (192.168.1.255) is never a node either.
          if (a.family === 'IPv4' && isValidIpv4(a.netmask)) {
            const bcast = (toInt(a.address) | (~toInt(a.netmask) >>> 0)) >>> 0;
            own.add([24, 16, 8, 0].map((s) => (bcast >>> s) & 255).join('.'));
          }
        }
      }
      this.own = own;
      this.ownReadAt = now;
    }
    return this.own;
  }
}
