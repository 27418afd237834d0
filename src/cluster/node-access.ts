import { GatewayError } from '../errors.js';
import type { CallParam, NodeClient, NodeResponse } from '../node-client/node-client.js';
import { isValidIpv4 } from '../protocol/ip.js';
import { PROXY_METHODS, type ProxyMethod } from '../protocol/types.js';
import type { NodeRecord, NodeRegistry } from './node-registry.js';

export interface ProxyCallInput {
  ip?: unknown;
  method?: unknown;
  uri?: unknown;
  params?: unknown;
}

/**
 * The safety rules of CONTRACT §4, shared by every adapter that reaches a node
 * (REST proxy, MQTT commands, JSON-RPC, firmware): the gateway talks only to
 * nodes it has discovered, with clean paths and known methods — it is not an
 * open proxy.
 */
export class NodeAccess {
  constructor(
    private readonly registry: NodeRegistry,
    private readonly client: NodeClient,
  ) {}

  /** A malformed IP → 400, an undiscovered one → 404. */
  requireNode(ip: unknown): NodeRecord {
    if (typeof ip !== 'string' || !isValidIpv4(ip)) {
      throw new GatewayError('invalid_ip', `"${String(ip).slice(0, 64)}" is not an IPv4 address; give a node address such as 192.168.1.100`);
    }
    const node = this.registry.getByIp(ip);
    if (!node) throw new GatewayError('node_not_found', `no discovered node has IP ${ip}; see GET /api/discovery/nodes`);
    return node;
  }

  /** Validates and performs a proxy call (CONTRACT §4 `POST /api/proxy-call`). */
  async proxyCall(input: ProxyCallInput): Promise<NodeResponse> {
    const method = validateMethod(input.method);
    const uri = validateUri(input.uri);
    const params = validateParams(input.params);
    const node = this.requireNode(input.ip);
    return this.client.call(node.ip, method, uri, params);
  }
}

export function validateMethod(method: unknown): ProxyMethod {
  const upper = typeof method === 'string' ? method.toUpperCase() : '';
  if (!(PROXY_METHODS as readonly string[]).includes(upper)) {
    throw new GatewayError('invalid_method', `method "${String(method).slice(0, 16)}" is not allowed; use one of ${PROXY_METHODS.join(', ')}`);
  }
  return upper as ProxyMethod;
}

/**
 * `uri` must be an absolute path beginning with "/" with no scheme, host,
 * ".." segment or CR/LF (CONTRACT §4). Percent-encoded tricks are decoded
 * before checking, so "%2e%2e" and "%0d%0a" are refused too.
 */
export function validateUri(uri: unknown): string {
  const refuse = (why: string): never => {
    throw new GatewayError('invalid_uri', `uri refused: ${why}. The uri must be an absolute path such as /api/node/status`);
  };
  if (typeof uri !== 'string' || uri.length === 0) return refuse('missing');
  if (uri.length > 2048) return refuse('longer than 2048 characters');
  if (!uri.startsWith('/')) return refuse('it does not begin with "/"');
  if (uri.startsWith('//')) return refuse('it names a host ("//")');
  if (/[\r\n\0\\]/.test(uri)) return refuse('it contains CR, LF, NUL or a backslash');
  if (/[\s]/.test(uri)) return refuse('it contains whitespace');
  // An HTTP request line carries ASCII only (RFC 9112 §3.2); Node's client throws on anything else.
  // eslint-disable-next-line no-control-regex
  if (/[^\x21-\x7e]/.test(uri)) return refuse('it contains a character outside printable ASCII; percent-encode it (e.g. %E2%80%A5)');
  let decoded: string;
  try {
    decoded = decodeURIComponent(uri);
  } catch {
    return refuse('it has a malformed percent-encoding');
  }
  if (/[\r\n\0\\]/.test(decoded)) return refuse('it contains an encoded CR, LF, NUL or backslash');
  if (/^[a-z][a-z0-9+.-]*:/i.test(decoded.slice(1)) || /:\/\//.test(decoded)) return refuse('it contains a scheme');
  if (decoded.startsWith('//')) return refuse('it names a host');
  const path = decoded.split(/[?#]/)[0]!;
  if (path.split('/').some((segment) => segment === '..' || segment === '.')) return refuse('it contains a "." or ".." segment');
  return uri;
}

function validateParams(params: unknown): CallParam[] {
  if (params === undefined || params === null) return [];
  if (!Array.isArray(params)) throw new GatewayError('bad_request', '"params" must be an array of {name, value, location}');
  if (params.length > 100) throw new GatewayError('bad_request', '"params" may hold at most 100 entries');
  return params.map((p: unknown, i) => {
    if (typeof p !== 'object' || p === null) throw new GatewayError('bad_request', `params[${i}] must be an object {name, value, location}`);
    const { name, value, location } = p as Record<string, unknown>;
    if (typeof name !== 'string' || name.length === 0 || /[\r\n]/.test(name)) {
      throw new GatewayError('bad_request', `params[${i}].name must be a non-empty string`);
    }
    const loc = location ?? 'body';
    if (loc !== 'query' && loc !== 'body') throw new GatewayError('bad_request', `params[${i}].location must be "query" or "body"`);
    const text = value === undefined || value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    return { name, value: text, location: loc };
  });
}
