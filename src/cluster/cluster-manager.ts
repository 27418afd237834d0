import { GatewayError } from '../errors.js';
import type { GatewayEventBus, GatewayEvents } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import type { NodeClient } from '../node-client/node-client.js';
import { isValidIpv4 } from '../protocol/ip.js';
import type { ClusterMember } from '../protocol/types.js';
import { debounce, forEachLimit, Interval } from '../util/concurrency.js';
import type { ClusterSnapshot } from '../contract/cluster.js';
import { recordToMember } from './cluster-member.js';
import { sameJson } from './node-limits.js';
import type { NodeRecord, NodeRegistry } from './node-registry.js';

export interface ClusterManagerOptions {
  ageingIntervalMs: number;
  statusPollIntervalMs: number;
  statusPollConcurrency: number;
  membersRefreshIntervalMs: number;
  /** The member list is re-read at most every `membersRefreshMsPerNode` × known nodes, ms (0 = only the interval). */
  membersRefreshMsPerNode?: number;
  primaryCheckIntervalMs: number;
  primaryFailureThreshold: number;
}

export type PrimaryReason = GatewayEvents['cluster/primary']['reason'];

/** cluster/update bursts (1,000 nodes changing at once) collapse into one message per this. */
const CLUSTER_UPDATE_DEBOUNCE_MS = 200; // ms

/**
 * Cluster management: the primary node (initial, manual, random, failover),
 * the primary's member list (re-read periodically and on demand), node ageing
 * and the status poll of every ACTIVE node with bounded concurrency.
 */
export class ClusterManager {
  private primary: string | null = null;
  private everHadPrimary = false;
  private primaryFailures = 0;
  /** "<ip> <why>" of the member list last refused for its content, said once at warn (refreshMembersQuietly). */
  private membersRefused: string | undefined;
  /** The primary's last member list, and which primary gave it. */
  private members: { from: string; list: ClusterMember[] } | null = null;
  private readonly httpFailures = new Map<string, number>();
  /** Nodes whose own status should be read once (they (re)appeared, were flashed, were asked for). */
  private readonly statusWanted = new Set<string>();
  /** Nodes whose resources came with the primary's latest member list. */
  private readonly coveredByMembers = new Set<string>();
  /** When each node's own status was last read, ms since the epoch. */
  private readonly lastStatusRead = new Map<string, number>();
  private statusReadCount = 0;
  private readonly timers: Interval[] = [];
  private readonly unsubscribe: Array<() => void> = [];
  private readonly publishUpdate = debounce(() => this.bus.emit('cluster/update', this.snapshot()), CLUSTER_UPDATE_DEBOUNCE_MS);

  constructor(
    private readonly registry: NodeRegistry,
    private readonly client: NodeClient,
    private readonly bus: GatewayEventBus,
    private readonly options: ClusterManagerOptions,
    private readonly logger: Logger,
  ) {}

  get primaryNode(): string | null {
    return this.primary;
  }

  start(): void {
    this.unsubscribe.push(
      this.bus.on('node/discovery', (e) => this.onNodeChange(e)),
      this.bus.on('node/resumed', (e) => this.wantStatus(e.nodeIp)),
      // A flashed node runs new firmware: its own answer, not a member list entry, says which.
      this.bus.on('firmware/upload', (e) => {
        if (e.status === 'succeeded' || e.status === 'verified' || e.status === 'unverified') this.wantStatus(e.nodeIp);
      }),
    );
    const onError = (what: string) => (err: unknown) => this.logger.error({ err }, `${what} failed`);
    this.timers.push(
      new Interval(this.options.ageingIntervalMs, () => this.registry.age(), onError('node ageing')),
      new Interval(this.options.statusPollIntervalMs, () => this.pollStatuses(), onError('status poll')),
      new Interval(() => this.membersRefreshPeriod(), () => this.refreshMembersQuietly(), onError('members refresh')),
      new Interval(this.options.primaryCheckIntervalMs, () => this.checkPrimary(), onError('primary check')),
    );
    for (const timer of this.timers) timer.start();
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.all(this.timers.splice(0).map((t) => t.stop()));
    this.publishUpdate.cancel();
  }

  /**
   * ms until the next background re-read of the member list: `membersRefreshIntervalMs`, or
   * `membersRefreshMsPerNode` per known node when that is longer. Reading, parsing and applying
   * the list costs ~20 µs of CPU per member (10,000 members: a 7 MB answer, ~200 ms), and the
   * parsed list is old-space garbage soon after: at 2 ms per node the refresh stays near 1 % of
   * a core at any size (10,000 nodes: every 20 s), while up to 2,500 nodes keep the interval.
   */
  membersRefreshPeriod(): number {
    return Math.max(this.options.membersRefreshIntervalMs, this.registry.size * (this.options.membersRefreshMsPerNode ?? 0));
  }

  /** The cluster as `cluster/update` shows it (CONTRACT §5). */
  snapshot(): ClusterSnapshot {
    const primaryRecord = this.primary ? this.registry.getByIp(this.primary) : undefined;
    const fromPrimary = this.members && primaryRecord?.status === 'ACTIVE' && this.members.from === this.primary;
    return {
      // The primary's list says nothing of firmware: the version each node reported is added (issue 15 §3).
      members: fromPrimary ? this.members!.list.map((m) => this.withVersion(m)) : this.registry.list().map(recordToMember),
      primaryNode: this.primary,
      totalNodes: this.registry.size,
    };
  }

  private withVersion(m: ClusterMember): ClusterMember {
    if (m.version !== undefined) return m;
    const version = this.registry.getByIp(m.ip)?.version;
    return version ? { ...m, version } : m;
  }

  /** Makes a known node primary (CONTRACT §4 `POST /api/discovery/primary/{ip}`). */
  setPrimary(ip: string, reason: PrimaryReason = 'manual'): void {
    if (!isValidIpv4(ip)) throw new GatewayError('invalid_ip', `"${String(ip).slice(0, 64)}" is not an IPv4 address`);
    if (!this.registry.getByIp(ip)) throw new GatewayError('node_not_found', `no discovered node has IP ${ip}`);
    this.changePrimary(ip, reason);
  }

  /** Picks a random ACTIVE node as primary; 503 when none is ACTIVE. */
  randomPrimary(): string {
    const active = this.registry.activeNodes();
    if (active.length === 0) throw new GatewayError('no_active_node');
    const choice = active[Math.floor(Math.random() * active.length)]!;
    this.changePrimary(choice.ip, 'random');
    return choice.ip;
  }

  /**
   * Runs `call` against the primary; when it fails with a node error, fails
   * over once to another ACTIVE node and retries. 503 when no primary answers.
   */
  async withPrimary<T>(call: (ip: string) => Promise<T>): Promise<{ ip: string; result: T }> {
    const tried = new Set<string>();
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.primary || tried.has(this.primary)) this.failover('no reachable primary', tried);
      const ip = this.primary;
      if (!ip || tried.has(ip)) break;
      tried.add(ip);
      try {
        const result = await call(ip);
        this.recordHttp(ip, true);
        return { ip, result };
      } catch (err) {
        if (!(err instanceof GatewayError) || err.status < 500) throw err;
        this.recordHttp(ip, false);
        this.logger.warn({ nodeIp: ip, err: err.message }, 'primary did not answer; trying failover');
        this.failover(`primary ${ip} did not answer: ${err.message}`, tried);
      }
    }
    throw new GatewayError('no_primary');
  }

  /** Re-reads the primary's member list now, failing over if it does not answer (CONTRACT §4 `POST /api/cluster/refresh`). */
  async refreshMembers(): Promise<ClusterMember[]> {
    const { ip, result } = await this.withPrimary((ip) => this.client.getMembers(ip));
    this.storeMembers(ip, result.members);
    return result.members;
  }

  /**
   * Gentle polling (issue 19): resources and latency come from the primary's member list, so
   * a node's own /api/node/status is read only when it is wanted — the member list lacks the
   * node's resources, the node (re)appeared, it was just flashed, or someone asked — never
   * more often than `statusPollIntervalMs` per node, at most `statusPollConcurrency` at once.
   * Each read interrupts an ESP8266; at 10,000 nodes reading them all every 10 s was 1,000
   * requests/s.
   */
  async pollStatuses(): Promise<void> {
    const now = Date.now();
    const due = this.registry.activeNodes().filter((node) => {
      const wanted = this.statusWanted.has(node.ip) || !this.coveredByMembers.has(node.ip);
      return wanted && now - (this.lastStatusRead.get(node.ip) ?? 0) >= this.options.statusPollIntervalMs;
    });
    await forEachLimit(due, this.options.statusPollConcurrency, (node) => this.pollOne(node));
  }

  /** Asks for one read of a node's own status at the next poll (after an OTA, a user opening its page). */
  wantStatus(ip: string): void {
    this.statusWanted.add(ip);
  }

  /**
   * A user opened the node's page (`GET /api/node/status/{ip}`, what the UI's node page calls):
   * the wanted read is done at once, answered, and applied to the registry (labels, resources,
   * latency), so the poll need not read the node again. Counted with the status reads.
   */
  async readStatusNow(node: NodeRecord): Promise<Awaited<ReturnType<NodeClient['getStatus']>>> {
    this.wantStatus(node.ip);
    this.lastStatusRead.set(node.ip, Date.now());
    this.statusReadCount++;
    try {
      const result = await this.client.getStatus(node.ip);
      this.registry.applyStatus(node, result.status, result.latencyMs);
      this.statusWanted.delete(node.ip);
      this.recordHttp(node.ip, true);
      return result;
    } catch (err) {
      this.recordHttp(node.ip, false);
      throw err;
    }
  }

  /** HTTP requests sent to nodes by the status poll, since start (bench/gentle-polling.ts). */
  get statusReads(): number {
    return this.statusReadCount;
  }

  async pollOne(node: NodeRecord): Promise<void> {
    this.lastStatusRead.set(node.ip, Date.now());
    this.statusReadCount++;
    try {
      const { status, latencyMs } = await this.client.getStatus(node.ip);
      this.registry.applyStatus(node, status, latencyMs);
      this.statusWanted.delete(node.ip);
      this.recordHttp(node.ip, true);
    } catch (err) {
      this.recordHttp(node.ip, false);
      this.logger.debug({ nodeIp: node.ip, err: (err as Error).message }, 'status poll failed');
    }
  }

  /**
   * Background re-read of the primary's members. It never fails over by itself:
   * that is the health check's job (with its failure threshold), so one slow
   * answer cannot set off a chain of primary changes.
   */
  private async refreshMembersQuietly(): Promise<void> {
    const ip = this.primary;
    if (!ip) return;
    try {
      const { members } = await this.client.getMembers(ip);
      this.membersRefused = undefined;
      if (this.primary === ip) this.storeMembers(ip, members);
    } catch (err) {
      const message = (err as Error).message;
      // A list refused for its content (too large, not JSON) stays refused at every refresh, and
      // every node's resources then go stale: said once at warn, until an answer is accepted.
      // An unanswered read is the health check's business and stays at debug.
      if (err instanceof GatewayError && err.code === 'node_bad_response' && this.membersRefused !== `${ip} ${message}`) {
        this.membersRefused = `${ip} ${message}`;
        this.logger.warn({ nodeIp: ip, err: message }, 'member list refused; node resources are not refreshed from it');
      } else this.logger.debug({ nodeIp: ip, err: message }, 'members refresh failed');
    }
  }

  /** `list`: NodeClient.getMembers' answer (MemberLimiter's members: capped, never mutated). */
  private storeMembers(ip: string, list: ClusterMember[]): void {
    // The member list carries every node's resources and latency: one request instead of one per node.
    this.coveredByMembers.clear();
    for (const member of list) {
      const node = typeof member?.ip === 'string' ? this.registry.getByIp(member.ip) : undefined;
      if (node && this.registry.applyMember(node, member, true)) this.coveredByMembers.add(node.ip);
    }
    // Compared in place, stopping at the first difference: at 10,000 members, serialising both
    // lists to compare them was two 7 MB JSON.stringify calls every refresh.
    const changed = this.members?.from !== ip || !sameJson(this.members.list, list);
    this.members = { from: ip, list };
    if (changed) this.publishUpdate();
  }

  /** The primary's HTTP health check; enough consecutive failures fail over. */
  private async checkPrimary(): Promise<void> {
    const ip = this.primary;
    if (!ip) {
      if (this.registry.activeNodes().length > 0) this.failover('no primary yet');
      return;
    }
    const node = this.registry.getByIp(ip);
    if (!node) return this.failover(`primary ${ip} left the registry`);
    try {
      const { status, latencyMs } = await this.client.getStatus(ip);
      if (this.registry.getByIp(ip) === node) this.registry.applyStatus(node, status, latencyMs);
      this.primaryFailures = 0;
      this.recordHttp(ip, true);
    } catch (err) {
      if (this.primary !== ip) return;
      this.primaryFailures++;
      this.recordHttp(ip, false);
      this.logger.warn({ nodeIp: ip, failures: this.primaryFailures, err: (err as Error).message }, 'primary health check failed');
      if (this.primaryFailures >= this.options.primaryFailureThreshold) {
        this.failover(`primary ${ip} failed ${this.primaryFailures} consecutive HTTP checks`, new Set([ip]));
      }
    }
  }

  private onNodeChange(e: GatewayEvents['node/discovery']): void {
    // A node restored from a backup is 'discovered' with the status of its age: only an ACTIVE one may become primary.
    if (e.action === 'discovered' && !this.primary && e.status === 'ACTIVE') this.changePrimary(e.nodeIp, this.everHadPrimary ? 'failover' : 'initial');
    else if (e.action === 'address' && e.previousIp && e.previousIp === this.primary) {
      // The primary moved: follow it without calling it a failover.
      this.primary = e.nodeIp;
      this.members = null;
    } else if (e.nodeIp === this.primary && (e.action === 'lost' || (e.action === 'status' && e.status !== 'ACTIVE'))) {
      this.failover(`primary ${e.nodeIp} is ${e.action === 'lost' ? 'gone' : e.status}`, new Set([e.nodeIp]));
    } else if (e.action === 'status' && e.status === 'ACTIVE' && !this.primary) {
      this.changePrimary(e.nodeIp, this.everHadPrimary ? 'failover' : 'initial');
    }
    if (e.action === 'discovered' || e.action === 'address' || (e.action === 'status' && e.status === 'ACTIVE')) this.statusWanted.add(e.nodeIp);
    if (e.action === 'lost') {
      this.httpFailures.delete(e.nodeIp);
      this.statusWanted.delete(e.nodeIp);
      this.lastStatusRead.delete(e.nodeIp);
      this.coveredByMembers.delete(e.nodeIp);
    }
    this.publishUpdate();
  }

  /** Chooses the best other ACTIVE node; with none, the cluster has no primary. */
  private failover(why: string, exclude: Set<string> = new Set()): void {
    const candidates = this.registry
      .activeNodes()
      .filter((n) => !exclude.has(n.ip))
      .sort(
        (a, b) =>
          (this.httpFailures.get(a.ip) ?? 0) - (this.httpFailures.get(b.ip) ?? 0) ||
          (a.latency ?? Number.MAX_SAFE_INTEGER) - (b.latency ?? Number.MAX_SAFE_INTEGER) ||
          a.discoveredAt - b.discoveredAt,
      );
    const next = candidates[0]?.ip ?? null;
    if (next === this.primary) return;
    if (next === null && this.primary && this.registry.getByIp(this.primary)?.status === 'ACTIVE') {
      // Nobody better: keep a primary that still sends heartbeats.
      return;
    }
    this.logger.warn({ why, from: this.primary, to: next }, 'primary failover');
    this.changePrimary(next, this.everHadPrimary ? 'failover' : 'initial');
  }

  private changePrimary(ip: string | null, reason: PrimaryReason): void {
    const previous = this.primary;
    if (ip !== null) this.everHadPrimary = true;
    this.primary = ip;
    this.primaryFailures = 0;
    if (ip !== previous) this.members = null;
    this.logger.info({ primaryNode: ip, previous, reason }, 'primary node set');
    this.bus.emit('cluster/primary', { primaryNode: ip, previous, reason });
    this.publishUpdate();
    if (ip) void this.refreshMembersQuietly();
  }

  private recordHttp(ip: string, ok: boolean): void {
    if (ok) this.httpFailures.delete(ip);
    else this.httpFailures.set(ip, (this.httpFailures.get(ip) ?? 0) + 1);
  }
}

/** Re-exported: the member list comparison (kept here for its callers and tests). */
export { sameJson } from './node-limits.js';
