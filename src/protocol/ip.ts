/** Strict dotted-quad IPv4 check: four decimal octets 0–255, no leading zeros. */
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_PATTERN = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isValidIpv4(ip: string): boolean {
  return IPV4_PATTERN.test(ip);
}

/** Node's dgram reports IPv4-mapped IPv6 sources on dual-stack sockets; normalise them. */
export function normaliseIp(address: string): string {
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}
