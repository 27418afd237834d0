/**
 * Pure codec for the SPORE UDP protocol (CONTRACT §2). No sockets here.
 *
 * Plain-text datagrams; the sender's identity is the datagram's source IP.
 */

/** Datagrams larger than this are junk (CONTRACT §2: "over 64 KiB"). */
export const MAX_DATAGRAM_BYTES = 64 * 1024; // bytes

/** Hostnames are 1–64 characters of [A-Za-z0-9._-] (CONTRACT §2). */
export const HOSTNAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

export type Datagram =
  | { kind: 'discovery' }
  | { kind: 'response'; hostname: string }
  | { kind: 'heartbeat'; hostname: string }
  | { kind: 'node-update'; hostname: string; info: NodeUpdateInfo }
  | { kind: 'event'; event: string; data: unknown }
  | { kind: 'raw'; payload: string };

/** The JSON object of a `NODE_UPDATE`; every field optional. */
export interface NodeUpdateInfo {
  labels?: Record<string, string>;
  resources?: Record<string, unknown>;
  api?: Array<{ uri: string; method: string }>;
  uptime?: number;
  version?: string;
  [extra: string]: unknown;
}

export type JunkReason =
  | 'too-large'
  | 'not-utf8'
  | 'unknown-prefix'
  | 'bad-hostname'
  | 'bad-json'
  | 'bad-shape';

export type DecodeResult = { ok: true; datagram: Datagram } | { ok: false; reason: JunkReason };

export const PREFIX = {
  discovery: 'CLUSTER_DISCOVERY',
  response: 'CLUSTER_RESPONSE:',
  heartbeat: 'CLUSTER_HEARTBEAT:',
  nodeUpdate: 'NODE_UPDATE:',
  event: 'CLUSTER_EVENT:',
  raw: 'RAW:',
} as const;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function isValidHostname(hostname: string): boolean {
  return HOSTNAME_PATTERN.test(hostname);
}

function junk(reason: JunkReason): DecodeResult {
  return { ok: false, reason };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return isPlainObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

function decodeNodeUpdate(rest: string): DecodeResult {
  // NODE_UPDATE:<hostname>:<json> — the hostname cannot contain ':', so split at the first one.
  const colon = rest.indexOf(':');
  if (colon < 0) return junk('bad-shape');
  const hostname = rest.slice(0, colon);
  if (!isValidHostname(hostname)) return junk('bad-hostname');
  const info = parseJsonObject(rest.slice(colon + 1));
  if (!info) return junk('bad-json');
  if (info.labels !== undefined) {
    if (!isPlainObject(info.labels)) return junk('bad-shape');
    for (const value of Object.values(info.labels)) if (typeof value !== 'string') return junk('bad-shape');
  }
  if (info.resources !== undefined && !isPlainObject(info.resources)) return junk('bad-shape');
  if (info.api !== undefined && !Array.isArray(info.api)) return junk('bad-shape');
  if (info.version !== undefined && typeof info.version !== 'string') return junk('bad-shape');
  return { ok: true, datagram: { kind: 'node-update', hostname, info: info as NodeUpdateInfo } };
}

const NAMED_KINDS = [
  [PREFIX.heartbeat, 'heartbeat'],
  [PREFIX.response, 'response'],
] as const;

/** Decodes one datagram; anything not in CONTRACT §2 comes back as junk with a reason. */
export function decodeDatagram(bytes: Uint8Array): DecodeResult {
  if (bytes.byteLength > MAX_DATAGRAM_BYTES) return junk('too-large');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return junk('not-utf8');
  }
  // Firmware may terminate lines; tolerate one trailing newline, nothing else.
  if (text.endsWith('\r\n')) text = text.slice(0, -2);
  else if (text.endsWith('\n')) text = text.slice(0, -1);

  if (text === PREFIX.discovery) return { ok: true, datagram: { kind: 'discovery' } };
  // The heartbeat first: at 10,000 nodes it is 5,000 datagrams/s.
  for (const [prefix, kind] of NAMED_KINDS) {
    if (text.startsWith(prefix)) {
      const hostname = text.slice(prefix.length);
      return isValidHostname(hostname) ? { ok: true, datagram: { kind, hostname } } : junk('bad-hostname');
    }
  }
  if (text.startsWith(PREFIX.nodeUpdate)) return decodeNodeUpdate(text.slice(PREFIX.nodeUpdate.length));
  if (text.startsWith(PREFIX.event)) {
    const body = parseJsonObject(text.slice(PREFIX.event.length));
    if (!body) return junk('bad-json');
    if (typeof body.event !== 'string' || body.event.length === 0) return junk('bad-shape');
    return { ok: true, datagram: { kind: 'event', event: body.event, data: body.data ?? null } };
  }
  if (text.startsWith(PREFIX.raw)) return { ok: true, datagram: { kind: 'raw', payload: text.slice(PREFIX.raw.length) } };
  return junk('unknown-prefix');
}

/** Encodes a datagram to its wire text. */
export function encodeDatagram(datagram: Datagram): string {
  switch (datagram.kind) {
    case 'discovery':
      return PREFIX.discovery;
    case 'response':
      return PREFIX.response + datagram.hostname;
    case 'heartbeat':
      return PREFIX.heartbeat + datagram.hostname;
    case 'node-update':
      return `${PREFIX.nodeUpdate}${datagram.hostname}:${JSON.stringify(datagram.info)}`;
    case 'event':
      return PREFIX.event + JSON.stringify({ event: datagram.event, data: datagram.data });
    case 'raw':
      return PREFIX.raw + datagram.payload;
  }
}
