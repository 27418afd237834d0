/**
 * Broker URLs of CONTRACT §1/§6: tcp:// and mqtt:// (default port 1883),
 * tls:// and mqtts:// (8883), ws:// (80) and wss:// (443) with the path
 * `/mqtt` when none is given. Credentials in the URL are accepted and never shown.
 */
export type BrokerTransport = 'mqtt' | 'mqtts' | 'ws' | 'wss';

export interface BrokerAddress {
  transport: BrokerTransport;
  host: string;
  port: number;
  /** WebSocket path; "" for TCP transports. */
  path: string;
  username?: string;
  password?: string;
  /** The URL without credentials, normalised, for logs, health and `mqtt/status`. */
  display: string;
}

const TRANSPORTS: Record<string, { transport: BrokerTransport; port: number }> = {
  tcp: { transport: 'mqtt', port: 1883 },
  mqtt: { transport: 'mqtt', port: 1883 },
  tls: { transport: 'mqtts', port: 8883 },
  mqtts: { transport: 'mqtts', port: 8883 },
  ws: { transport: 'ws', port: 80 },
  wss: { transport: 'wss', port: 443 },
};

export const DEFAULT_WS_PATH = '/mqtt';

export class BrokerUrlError extends Error {
  constructor(url: string, why: string) {
    super(`MQTT broker URL "${redact(url)}" ${why}; use tcp://host[:1883], mqtt://, tls://host[:8883], mqtts://, ws://host[:80][/mqtt], wss:// or "embedded"`);
    this.name = 'BrokerUrlError';
  }
}

export function parseBrokerUrl(url: string): BrokerAddress {
  const scheme = /^([a-z]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  const known = scheme ? TRANSPORTS[scheme] : undefined;
  if (!known) throw new BrokerUrlError(url, 'has an unknown scheme');
  let parsed: URL;
  try {
    // WHATWG URL treats tcp:// and friends as opaque; parse as http to get host and port the same way.
    parsed = new URL(url.replace(/^[a-z]+:\/\//i, 'http://'));
  } catch {
    throw new BrokerUrlError(url, 'is not a valid URL');
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new BrokerUrlError(url, 'has no host');
  // "http://h:80" loses its port in WHATWG URL (default for http); read it from the text instead.
  const explicitPort = /^[a-z]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)/i.exec(url)?.[1];
  const port = explicitPort !== undefined ? Number(explicitPort) : known.port;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BrokerUrlError(url, 'has a port outside 1-65535');
  const isWs = known.transport === 'ws' || known.transport === 'wss';
  const rawPath = parsed.pathname + parsed.search;
  const path = isWs ? (rawPath === '/' || rawPath === '' ? DEFAULT_WS_PATH : rawPath) : '';
  const hostText = host.includes(':') ? `[${host}]` : host;
  const display = `${scheme}://${hostText}:${port}${path}`;
  const address: BrokerAddress = { transport: known.transport, host, port, path, display };
  if (parsed.username) address.username = decodeURIComponent(parsed.username);
  if (parsed.password) address.password = decodeURIComponent(parsed.password);
  return address;
}

/** The URL with any password replaced, for error messages. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^@/]*@/i, '$1***@');
}

/** True when `url` is a broker URL this gateway can use. */
export function isValidBrokerUrl(url: string): boolean {
  try {
    parseBrokerUrl(url);
    return !/\s/.test(url);
  } catch {
    return false;
  }
}
