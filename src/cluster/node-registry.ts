import type { Logger } from '../logger.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { ApiEndpoint, NodeHealth } from '../protocol/types.js';
import { Interner, limitApi, limitLabels, limitResources, limitVersion, ownString, sameJson, type Dropped } from './node-limits.js';

/** What the gateway knows about one node. Times are ms since the epoch. */
export interface NodeRecord {
  ip: string;
  /** UDP source port of the node's last datagram. */
  port: number;
  hostname: string;
  status: NodeHealth;
  discoveredAt: number;
  lastSeen: number;
  labels: Record<string, string>;
  /** From the last successful /api/node/status poll or NODE_UPDATE. */
  resources: Record<string, unknown> | null;
  api: ApiEndpoint[];
  /** Round-trip of the last successful status poll, ms. */
  latency: number | null;
  version: string | null;
  uptime: number | null;
  /** When the last status poll succeeded, ms since the epoch. */
  lastPolledAt: number | null;
}

export interface AgeingThresholds {
  activeThresholdMs: number;
  deadThresholdMs: number;
  removeDeadAfterMs: number;
  /** Nodes known at most; a datagram naming one more is dropped and counted (UDP needs no key). */
  maxNodes?: number;
}

export interface RegistryStats {
  /** Datagrams of new nodes dropped because `maxNodes` were known. */
  droppedNodes: number;
  /** Parts of node self-descriptions dropped: over the caps of node-limits.ts, or malformed. */
  droppedFields: number;
  /** When the last new node was refused for the cap, ms since the epoch. */
  lastDroppedNodeAt: number | null;
}

/** A silence this long followed by a datagram counts as a reboot (used by OTA checks). */
export const RESUME_AFTER_SILENCE_MS = 5000; // ms — 2.5 missed heartbeats (SPORE sends every 2 s)

export type Clock = () => number;

/**
 * Where the registry keeps its nodes across restarts (cluster/node-store.ts). `changed`,
 * `seen` and `removed` only mark a node in memory: the store writes in batches.
 */
export interface NodePersistence {
  start(current: () => Iterable<NodeRecord>): void;
  /** The stored nodes, checked; their status is derived here from `lastSeen`. */
  load(): NodeRecord[];
  /** A new node or a new address. */
  changed(node: NodeRecord): void;
  /** Labels, resources, api, version or latency (may be written later than `changed`). */
  updated(node: NodeRecord): void;
  seen(node: NodeRecord): void;
  removed(hostname: string): void;
  flush(): void;
  stop(): void;
}

/** What start() did with the stored nodes. */
export interface LoadResult {
  loaded: number;
  /** Stored nodes dead longer than `deadThresholdMs + removeDeadAfterMs`, or at an address no longer allowed. */
  removed: number;
}

/**
 * The node registry: identity by hostname, address by source IP (CONTRACT §2),
 * ACTIVE/INACTIVE/DEAD ageing from `lastSeen`. Emits `node/discovery` events.
 */
export class NodeRegistry {
  private readonly byHostname = new Map<string, NodeRecord>();
  private readonly byIp = new Map<string, NodeRecord>();
  readonly stats: RegistryStats = { droppedNodes: 0, droppedFields: 0, lastDroppedNodeAt: null };
  private readonly dropped: Dropped = { count: 0 };
  /** Capped API lists and labels, shared by the nodes that describe themselves alike (node-limits.ts Interner). */
  private readonly apis = new Interner<ApiEndpoint[]>(16);
  private readonly labelSets = new Interner<Record<string, string>>(16);

  constructor(
    private readonly bus: GatewayEventBus,
    private readonly thresholds: AgeingThresholds,
    private readonly logger: Logger,
    private readonly clock: Clock = Date.now,
    private readonly store?: NodePersistence,
    /** ms the gateway's event loop was blocked in total (loop-stall.ts); 0 = never. */
    private readonly stalled: () => number = () => 0,
  ) {}

  /** `stalled()` when each node was last heard. */
  private readonly stalledAtSeen = new WeakMap<NodeRecord, number>();

  /**
   * ms since `node` was last heard, less the time the gateway itself was blocked meanwhile: its
   * datagrams waited in the socket queue then, they were not missing.
   */
  private silenceOf(node: NodeRecord, now: number, stalledNow: number): number {
    return now - node.lastSeen - (stalledNow - (this.stalledAtSeen.get(node) ?? stalledNow));
  }

  /**
   * Loads the stored nodes (issue 12 §15) — before UDP listening, so a datagram never races
   * a stored record — with their status from the age of their stored `lastSeen`; nodes dead
   * longer than the removal rule allows, or at an address `admits` refuses (the address
   * policy: `nodes.allowedNetworks` may have changed), are removed from the store instead.
   */
  start(admits: (ip: string) => boolean = () => true): LoadResult {
    if (!this.store) return { loaded: 0, removed: 0 };
    this.store.start(() => this.byHostname.values());
    const now = this.clock();
    let loaded = 0;
    let removed = 0;
    for (const stored of this.store.load()) {
      const age = now - stored.lastSeen;
      const full = this.byHostname.size >= this.maxNodes;
      if (age > this.thresholds.deadThresholdMs + this.thresholds.removeDeadAfterMs || !admits(stored.ip) || full || this.byHostname.has(stored.hostname) || this.byIp.has(stored.ip)) {
        this.store.removed(stored.hostname);
        removed++;
        continue;
      }
      const node: NodeRecord = { ...stored, status: this.statusForAge(age), api: this.apis.intern(stored.api), labels: this.labelSets.intern(stored.labels) };
      this.byHostname.set(node.hostname, node);
      this.byIp.set(node.ip, node);
      loaded++;
    }
    // Rows dropped here or by the store's checks are deleted now, not at the first interval.
    this.store.flush();
    if (loaded > 0 || removed > 0) {
      const counts = this.countByStatus();
      this.logger.info({ nodes: loaded, ...counts, removed }, 'known nodes loaded from the data directory');
    }
    return { loaded, removed };
  }

  /** Writes what changed since the last batch and closes the store. */
  stop(): void {
    this.store?.stop();
  }

  get size(): number {
    return this.byHostname.size;
  }

  list(): NodeRecord[] {
    return [...this.byHostname.values()];
  }

  getByIp(ip: string): NodeRecord | undefined {
    return this.byIp.get(ip);
  }

  getByHostname(hostname: string): NodeRecord | undefined {
    return this.byHostname.get(hostname);
  }

  activeNodes(): NodeRecord[] {
    return this.list().filter((n) => n.status === 'ACTIVE');
  }

  countByStatus(): Record<NodeHealth, number> {
    const counts: Record<NodeHealth, number> = { ACTIVE: 0, INACTIVE: 0, DEAD: 0 };
    for (const node of this.byHostname.values()) counts[node.status]++;
    return counts;
  }

  get maxNodes(): number {
    return this.thresholds.maxNodes ?? Infinity;
  }

  /**
   * A datagram carrying a hostname arrived from `ip`. Returns the node's record,
   * or undefined when it names a new node while `maxNodes` are known (dropped, counted).
   */
  observe(ip: string, hostname: string, port?: number): NodeRecord | undefined {
    const now = this.clock();
    const known = this.byHostname.get(hostname);
    const stalledNow = this.stalled();
    if (known) {
      if (port !== undefined) known.port = port;
      const silentMs = this.silenceOf(known, now, stalledNow);
      if (known.ip !== ip) this.moveAddress(known, ip);
      known.lastSeen = now;
      this.stalledAtSeen.set(known, stalledNow);
      this.store?.seen(known);
      this.setStatus(known, 'ACTIVE');
      if (silentMs >= RESUME_AFTER_SILENCE_MS) this.bus.emit('node/resumed', { nodeIp: known.ip, hostname, silentMs });
      return known;
    }
    // A different hostname at a known IP: the device there was renamed or replaced.
    const previous = this.byIp.get(ip);
    if (!previous && this.byHostname.size >= this.maxNodes) {
      if (this.stats.droppedNodes++ === 0 || this.clock() - (this.stats.lastDroppedNodeAt ?? 0) > 60_000) {
        this.logger.warn({ maxNodes: this.maxNodes, dropped: this.stats.droppedNodes }, 'node limit reached (nodes.maxNodes); datagrams of new nodes are dropped');
      }
      this.stats.lastDroppedNodeAt = now;
      return undefined;
    }
    if (previous) this.remove(previous, 'replaced by a new hostname at the same address');
    // Not a slice of the datagram's text: the record (and the Map keys) would keep that text alive.
    hostname = ownString(hostname);
    const node: NodeRecord = {
      ip,
      port: port ?? 0,
      hostname,
      status: 'ACTIVE',
      discoveredAt: now,
      lastSeen: now,
      labels: {},
      resources: null,
      api: [],
      latency: null,
      version: null,
      uptime: null,
      lastPolledAt: null,
    };
    this.byHostname.set(hostname, node);
    this.byIp.set(ip, node);
    this.stalledAtSeen.set(node, stalledNow);
    this.store?.changed(node);
    this.logger.info({ nodeIp: ip, hostname }, 'node discovered');
    this.bus.emit('node/discovery', { action: 'discovered', nodeIp: ip, hostname, status: 'ACTIVE' });
    return node;
  }

  /**
   * Adds nodes from a backup (issue 15 §5) that this registry does not know,
   * with their status from their age; known hostnames and taken addresses win.
   * Returns how many were added.
   */
  restore(records: readonly NodeRecord[]): number {
    let added = 0;
    for (const r of records) {
      if (typeof r?.hostname !== 'string' || typeof r.ip !== 'string' || this.byHostname.has(r.hostname) || this.byIp.has(r.ip)) continue;
      const node: NodeRecord = {
        ip: r.ip,
        port: Number(r.port) || 0,
        hostname: r.hostname,
        status: this.statusForAge(this.clock() - Number(r.lastSeen)),
        discoveredAt: Number(r.discoveredAt) || this.clock(),
        lastSeen: Number(r.lastSeen) || 0,
        labels: this.labelSets.intern({ ...(r.labels ?? {}) }),
        resources: r.resources ?? null,
        api: this.apis.intern(Array.isArray(r.api) ? r.api : []),
        latency: r.latency ?? null,
        version: r.version ?? null,
        uptime: r.uptime ?? null,
        lastPolledAt: r.lastPolledAt ?? null,
      };
      this.byHostname.set(node.hostname, node);
      this.byIp.set(node.ip, node);
      this.store?.changed(node);
      this.bus.emit('node/discovery', { action: 'discovered', nodeIp: node.ip, hostname: node.hostname, status: node.status });
      added++;
    }
    if (added) this.logger.info({ nodes: added }, 'nodes restored from a backup');
    return added;
  }

  /** A datagram without a hostname (CLUSTER_EVENT, RAW, CLUSTER_DISCOVERY) arrived from `ip`. */
  touch(ip: string, port?: number): NodeRecord | undefined {
    const node = this.byIp.get(ip);
    if (node) return this.observe(ip, node.hostname, port);
    return undefined;
  }

  /** Applies the fields of a NODE_UPDATE (labels, resources, api, version, uptime). */
  applyUpdate(node: NodeRecord, info: Record<string, unknown>): void {
    if (info.labels !== undefined) this.setLabels(node, info.labels);
    if (info.resources && typeof info.resources === 'object' && !Array.isArray(info.resources)) {
      node.resources = limitResources(info.resources as Record<string, unknown>, this.dropped);
    } else if (info.resources !== undefined) this.dropped.count++;
    if (info.api !== undefined) this.setApi(node, info.api);
    const version = limitVersion(info.version, this.dropped);
    if (version !== undefined) node.version = version;
    if (typeof info.uptime === 'number' && Number.isFinite(info.uptime)) node.uptime = info.uptime;
    this.stats.droppedFields = this.dropped.count;
    this.store?.updated(node);
  }

  /** What of a NODE_UPDATE the gateway kept, for the `node/update` event (never the raw, unbounded datagram). */
  keptUpdate(node: NodeRecord, info: Record<string, unknown>): Record<string, unknown> {
    return {
      ...(info.labels !== undefined ? { labels: node.labels } : {}),
      ...(info.resources !== undefined ? { resources: node.resources ?? {} } : {}),
      ...(info.api !== undefined ? { api: node.api } : {}),
      ...(typeof info.version === 'string' && node.version !== null ? { version: node.version } : {}),
      ...(typeof info.uptime === 'number' && node.uptime !== null ? { uptime: node.uptime } : {}),
    };
  }

  /** Records a successful /api/node/status poll. */
  applyStatus(node: NodeRecord, status: Record<string, unknown>, latencyMs: number): void {
    const { api, labels, version, uptime, ...resources } = status;
    // A node's answer is as untrusted as its datagrams: the same caps and checks (node-limits.ts).
    node.resources = limitResources(resources, this.dropped);
    if (api !== undefined) this.setApi(node, api);
    if (labels !== undefined) this.setLabels(node, labels);
    const kept = limitVersion(version, this.dropped);
    if (kept !== undefined) node.version = kept;
    if (typeof uptime === 'number' && Number.isFinite(uptime)) node.uptime = uptime;
    this.stats.droppedFields = this.dropped.count;
    node.latency = latencyMs;
    node.lastPolledAt = this.clock();
    this.store?.updated(node);
  }

  /**
   * Takes a node's resources and latency from the primary's member list (issue 19: gentle
   * polling), with the same caps as its own answers. Returns whether the entry carried
   * resources, i.e. whether the node's own status read can wait. `capped`: the entry is one
   * of MemberLimiter's (node-limits.ts), its resources already capped and never mutated —
   * taken as they are rather than capped again (10,000 members every refresh).
   */
  applyMember(node: NodeRecord, member: { latency?: unknown; resources?: unknown; labels?: unknown }, capped = false): boolean {
    if (typeof member.latency === 'number' && Number.isFinite(member.latency)) node.latency = member.latency;
    if (member.labels !== undefined && member.labels !== null) this.setLabels(node, member.labels);
    this.store?.updated(node);
    const r = member.resources;
    if (!r || typeof r !== 'object' || Array.isArray(r) || Object.keys(r).length === 0) return false;
    node.resources = capped ? (r as Record<string, unknown>) : limitResources(r as Record<string, unknown>, this.dropped);
    this.stats.droppedFields = this.dropped.count;
    return true;
  }

  /**
   * A node's API list as it describes it: capped (node-limits.ts) and shared with the nodes whose
   * list is the same. The same list as kept (every status read and update of a node whose
   * firmware did not change) is not capped again: capping is idempotent.
   */
  private setApi(node: NodeRecord, api: unknown): void {
    if (!sameJson(api, node.api)) node.api = this.apis.find(api) ?? this.apis.intern(limitApi(api, this.dropped));
  }

  /** The same for labels (every member list refresh carries every node's labels). */
  private setLabels(node: NodeRecord, labels: unknown): void {
    if (!sameJson(labels, node.labels)) node.labels = this.labelSets.find(labels) ?? this.labelSets.intern(limitLabels(labels, this.dropped));
  }

  /** Re-evaluates every node's status from its age; removes long-dead nodes. */
  age(): void {
    const now = this.clock();
    const stalledNow = this.stalled();
    for (const node of [...this.byHostname.values()]) {
      const age = this.silenceOf(node, now, stalledNow);
      if (age > this.thresholds.deadThresholdMs + this.thresholds.removeDeadAfterMs) {
        this.setStatus(node, 'DEAD');
        this.remove(node, 'dead too long');
        continue;
      }
      this.setStatus(node, this.statusForAge(age));
    }
  }

  statusForAge(ageMs: number): NodeHealth {
    if (ageMs <= this.thresholds.activeThresholdMs) return 'ACTIVE';
    if (ageMs <= this.thresholds.deadThresholdMs) return 'INACTIVE';
    return 'DEAD';
  }

  clear(): void {
    for (const hostname of this.byHostname.keys()) this.store?.removed(hostname);
    this.byHostname.clear();
    this.byIp.clear();
  }

  private setStatus(node: NodeRecord, status: NodeHealth): void {
    if (node.status === status) return;
    const from = node.status;
    node.status = status;
    this.logger.info({ nodeIp: node.ip, hostname: node.hostname, from, to: status }, 'node status changed');
    this.bus.emit('node/discovery', { action: 'status', nodeIp: node.ip, hostname: node.hostname, status });
  }

  private moveAddress(node: NodeRecord, ip: string): void {
    const previousIp = node.ip;
    const occupant = this.byIp.get(ip);
    if (occupant && occupant !== node) this.remove(occupant, 'its address was taken by another node');
    this.byIp.delete(previousIp);
    node.ip = ip;
    this.byIp.set(ip, node);
    this.store?.changed(node);
    this.logger.info({ hostname: node.hostname, from: previousIp, to: ip }, 'node changed address');
    this.bus.emit('node/discovery', { action: 'address', nodeIp: ip, hostname: node.hostname, status: node.status, previousIp });
  }

  private remove(node: NodeRecord, why: string): void {
    this.byHostname.delete(node.hostname);
    this.store?.removed(node.hostname);
    if (this.byIp.get(node.ip) === node) this.byIp.delete(node.ip);
    this.logger.info({ nodeIp: node.ip, hostname: node.hostname, why }, 'node removed');
    this.bus.emit('node/discovery', { action: 'lost', nodeIp: node.ip, hostname: node.hostname, status: node.status });
  }
}
