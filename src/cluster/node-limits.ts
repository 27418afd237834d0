import { isValidHostname } from '../protocol/datagram.js';
import { isValidIpv4 } from '../protocol/ip.js';
import type { ApiEndpoint, ClusterMember } from '../protocol/types.js';

/**
 * What the gateway keeps of one node's self-description (labels, resources,
 * API list). UDP needs no key, so these come from anyone who can send a
 * datagram: each part is capped to a few kB and the rest dropped (counted), so
 * 10,000 spoofed nodes cost tens of MB at most, not gigabytes, and every
 * greeting, list and batch built from them stays bounded (docs/security.md).
 */
export const NODE_LIMITS = {
  /** Labels kept per node. */
  maxLabels: 32,
  /** Characters of a label key / value. */
  maxLabelKey: 64,
  maxLabelValue: 256,
  /** Serialised size of all labels, bytes (JSON). */
  maxLabelsBytes: 1024,
  /** Serialised size of the resources object, bytes (JSON); entries beyond it are dropped. */
  maxResourcesBytes: 2048,
  /** Endpoints kept in the API list. */
  maxApiEndpoints: 64,
  /** Characters of an endpoint's uri. */
  maxUri: 256,
  /** Serialised size of one endpoint's params, bytes (JSON); larger params are dropped. */
  maxParamsBytes: 1024,
  /** Serialised size of the whole API list, bytes (JSON); endpoints beyond it are dropped. */
  maxApiBytes: 4096,
  /** Characters of a hostname-like string kept (version). */
  maxVersion: 64,
} as const;

/** Counts what was dropped; the registry adds them up for health and metrics. */
export interface Dropped {
  count: number;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Labels: string keys and values of bounded length, at most `maxLabels`; anything else dropped. */
export function limitLabels(value: unknown, dropped: Dropped): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isPlainObject(value)) {
    if (value !== undefined) dropped.count++;
    return out;
  }
  let n = 0;
  let size = 2;
  for (const [k, v] of Object.entries(value)) {
    if (n >= NODE_LIMITS.maxLabels || k.length > NODE_LIMITS.maxLabelKey || k === '__proto__') {
      dropped.count++;
      continue;
    }
    const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;
    const cost = text === null ? 0 : JSON.stringify(k).length + JSON.stringify(text).length + 2;
    if (text === null || text.length > NODE_LIMITS.maxLabelValue || size + cost > NODE_LIMITS.maxLabelsBytes) {
      dropped.count++;
      continue;
    }
    out[k] = text;
    size += cost;
    n++;
  }
  return out;
}

/** Resources: the entries that fit in `maxResourcesBytes` of JSON, in order; the rest dropped. */
export function limitResources(value: Record<string, unknown>, dropped: Dropped): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let size = 2; // "{}"
  for (const [k, v] of Object.entries(value)) {
    if (k === '__proto__') continue;
    let entry: string | undefined;
    try {
      entry = JSON.stringify(v);
    } catch {
      entry = undefined;
    }
    const cost = entry === undefined ? Infinity : k.length + entry.length + 4;
    if (size + cost > NODE_LIMITS.maxResourcesBytes) {
      dropped.count++;
      continue;
    }
    out[k] = v;
    size += cost;
  }
  return out;
}

const METHOD = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$/i;

/**
 * The API list: objects with a string `uri` starting with "/" and an HTTP
 * method, at most `maxApiEndpoints`. `null` members, numbers, HTML and the
 * like (a node answering `{"api":[null]}`) are dropped and counted.
 */
export function limitApi(value: unknown, dropped: Dropped): ApiEndpoint[] {
  if (!Array.isArray(value)) {
    if (value !== undefined) dropped.count++;
    return [];
  }
  const out: ApiEndpoint[] = [];
  let size = 2;
  for (const item of value) {
    if (out.length >= NODE_LIMITS.maxApiEndpoints || !isPlainObject(item)) {
      dropped.count++;
      continue;
    }
    const { uri, method, params } = item;
    if (typeof uri !== 'string' || !uri.startsWith('/') || uri.length > NODE_LIMITS.maxUri || /[\s<>]/.test(uri)) {
      dropped.count++;
      continue;
    }
    const m = typeof method === 'string' ? method : null;
    if (m === null || !METHOD.test(m)) {
      dropped.count++;
      continue;
    }
    const endpoint: ApiEndpoint = { uri, method: m };
    if (Array.isArray(params)) {
      const kept = params.filter((p) => isPlainObject(p) && typeof p.name === 'string');
      if (kept.length !== params.length) dropped.count++;
      if (JSON.stringify(kept).length <= NODE_LIMITS.maxParamsBytes) endpoint.params = kept as ApiEndpoint['params'];
      else dropped.count++;
    }
    const cost = JSON.stringify(endpoint).length + 1;
    if (size + cost > NODE_LIMITS.maxApiBytes) {
      dropped.count++;
      continue;
    }
    size += cost;
    out.push(endpoint);
  }
  return out;
}

/** A version string of bounded length, or null. */
export function limitVersion(value: unknown, dropped: Dropped): string | null | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') {
    dropped.count++;
    return undefined;
  }
  if (value.length > NODE_LIMITS.maxVersion) {
    dropped.count++;
    return value.slice(0, NODE_LIMITS.maxVersion);
  }
  return value;
}

/** Whether two JSON values (as parsed from a node's answer) are equal; stops at the first difference. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) {
    if (!Object.prototype.hasOwnProperty.call(b, k) || !sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** Members kept of one `/api/cluster/members` answer (`nodes.maxNodes` at most is 10,000). */
export const MAX_MEMBERS = 10_000;

/**
 * A node's `/api/cluster/members` list (issue 12 §13), one member at a time: members that are
 * not objects (`null`), have no IPv4 `ip`, or whose hostname is not a SPORE hostname (raw
 * HTML, …) are dropped and counted; what is kept of each is capped like a heartbeat's node.
 *
 * Members of one cluster run the same firmware, so their API lists (and often labels) are
 * equal: a member's list equal to one already kept is not capped again but shares that
 * (already capped, never mutated) array. Capping is idempotent, so an input equal to a capped
 * output caps to that output. At 10,000 members this replaces 10,000 × ~12 JSON.stringify
 * calls per refresh with a walk that stops at the first difference, and keeps one API list in
 * memory instead of 10,000 copies.
 */
export class MemberLimiter {
  readonly members: ClusterMember[] = [];
  private seen = 0;
  private readonly apis = new Interner<ApiEndpoint[]>(8);
  private readonly labelSets = new Interner<Record<string, string>>(8);

  constructor(private readonly dropped: Dropped) {}

  add(m: unknown): void {
    const dropped = this.dropped;
    if (this.seen++ >= MAX_MEMBERS || !isPlainObject(m) || typeof m.ip !== 'string' || !isValidIpv4(m.ip) || typeof m.hostname !== 'string' || !isValidHostname(m.hostname)) {
      dropped.count++;
      return;
    }
    const member: ClusterMember = { ...(m as ClusterMember) };
    if (m.labels !== undefined) member.labels = this.labelSets.find(m.labels) ?? this.labelSets.intern(limitLabels(m.labels, dropped));
    if (m.resources !== undefined) member.resources = isPlainObject(m.resources) ? limitResources(m.resources, dropped) : {};
    if (m.api !== undefined) member.api = this.apis.find(m.api) ?? this.apis.intern(limitApi(m.api, dropped));
    this.members.push(member);
  }
}

/** `limitMembers` for a whole parsed list (MemberLimiter). */
export function limitMembers(value: unknown, dropped: Dropped): ClusterMember[] {
  if (!Array.isArray(value)) return [];
  const limiter = new MemberLimiter(dropped);
  for (const m of value) limiter.add(m);
  return limiter.members;
}

/**
 * Keeps the few distinct values seen last (capped API lists, labels), so that equal values
 * share one instance (issue 19: 10,000 nodes of one firmware list the same ~2 kB API; kept
 * once per node that was 22 MB of a 64 MB heap). Values given to it must never be mutated
 * afterwards: every holder shares them. Most recently used first; at most `capacity` kept,
 * so a node describing itself differently each time costs a few comparisons, not memory.
 */
export class Interner<T> {
  private readonly recent: T[] = [];

  constructor(private readonly capacity = 8) {}

  /** The kept instance equal to `value` (any JSON value: an uncapped one is compared too), or undefined. */
  find(value: unknown): T | undefined {
    const recent = this.recent;
    for (let i = 0; i < recent.length; i++) {
      const kept = recent[i]!;
      if (kept === value || sameJson(kept, value)) {
        if (i > 0) {
          recent.splice(i, 1);
          recent.unshift(kept);
        }
        return kept;
      }
    }
    return undefined;
  }

  /** An instance equal to `value` that is already shared, or `value` itself (then remembered). */
  intern(value: T): T {
    const kept = this.find(value);
    if (kept !== undefined) return kept;
    const recent = this.recent;
    recent.unshift(value);
    if (recent.length > this.capacity) recent.pop();
    return value;
  }
}

/**
 * `text` as a string of its own. A substring V8 cuts from a longer one (13+ characters) may
 * be a "sliced string" that keeps the whole parent alive: a hostname taken from a datagram
 * would keep that datagram's text (up to ~700 bytes for a NODE_UPDATE) for as long as the
 * node is known.
 */
export function ownString(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8');
}
