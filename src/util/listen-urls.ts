import { networkInterfaces } from 'node:os';

type Interfaces = ReturnType<typeof networkInterfaces>;

/**
 * The URLs a server bound to `host`:`port` answers on, for the start-up line (issue 12 §16).
 * Bound to every address (0.0.0.0, ::): each IPv4 address of the machine's interfaces,
 * loopback first, then the others (what a browser elsewhere on the LAN uses). Bound to one
 * address or name: that one.
 */
export function listenUrls(host: string, port: number, interfaces: Interfaces = networkInterfaces()): string[] {
  const url = (address: string) => `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [url(host)];
  const v4 = Object.values(interfaces)
    .flat()
    .filter((a): a is NonNullable<typeof a> => a !== undefined && a.family === 'IPv4');
  const ordered = [...v4.filter((a) => a.internal), ...v4.filter((a) => !a.internal)].map((a) => a.address);
  const unique = [...new Set(ordered)];
  return unique.length > 0 ? unique.map(url) : [url('127.0.0.1')];
}
