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

/**
 * A node's `/api/cluster/members` list (issue 12 §13): members that are not objects
 * (`null`), have no IPv4 `ip`, or whose hostname is not a SPORE hostname (raw HTML, …) are
 * dropped and counted; what is kept of each is capped like a heartbeat's node.
 *
 * Members of one cluster run the same firmware, so their API lists (and often labels) are
 * equal: a member's list equal to the one kept for the member before it is not capped again
 * but shares that (already capped, never mutated) array. Capping is idempotent, so an input
 * equal to a capped output caps to that output. At 10,000 members this replaces 10,000 ×
 * ~12 JSON.stringify calls per refresh with a walk that stops at the first difference, and
 * keeps one API list in memory instead of 10,000 copies.
 */
export function limitMembers(value: unknown, dropped: Dropped): ClusterMember[] {
  if (!Array.isArray(value)) return [];
  const kept: ClusterMember[] = [];
  let lastApi: ApiEndpoint[] | undefined;
  let lastLabels: Record<string, string> | undefined;
  for (const m of value.slice(0, 10_000)) {
    if (!isPlainObject(m) || typeof m.ip !== 'string' || !isValidIpv4(m.ip) || typeof m.hostname !== 'string' || !isValidHostname(m.hostname)) {
      dropped.count++;
      continue;
    }
    const member: ClusterMember = { ...(m as ClusterMember) };
    if (m.labels !== undefined) member.labels = lastLabels !== undefined && sameJson(m.labels, lastLabels) ? lastLabels : (lastLabels = limitLabels(m.labels, dropped));
    if (m.resources !== undefined) member.resources = isPlainObject(m.resources) ? limitResources(m.resources, dropped) : {};
    if (m.api !== undefined) member.api = lastApi !== undefined && sameJson(m.api, lastApi) ? lastApi : (lastApi = limitApi(m.api, dropped));
    kept.push(member);
  }
  if (value.length > 10_000) dropped.count += value.length - 10_000;
  return kept;
}
