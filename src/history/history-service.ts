import { join } from 'node:path';
import type { NodeRegistry } from '../cluster/node-registry.js';
import { GatewayError } from '../errors.js';
import type { GatewayEventBus } from '../events/gateway-events.js';
import type { Logger } from '../logger.js';
import type { NodeHealth } from '../protocol/types.js';
import { HistoryStore, MAX_POINTS, type HistorySeries } from '../store/history-store.js';

export interface HistoryConfig {
  enabled: boolean;
  rawRetentionHours: number;
  minuteRetentionDays: number;
  maxBytes: number;
  flushIntervalMs: number;
  nodeSampleIntervalMs: number;
}

export interface HistoryDeps {
  config: HistoryConfig;
  dataDir: string;
  registry: NodeRegistry;
  bus: GatewayEventBus;
  logger: Logger;
}

/** Node status as a number, so a chart can show it: 2 ACTIVE, 1 INACTIVE, 0 DEAD. */
const STATUS_VALUE: Record<NodeHealth, number> = { ACTIVE: 2, INACTIVE: 1, DEAD: 0 };
/** Retention and the disk bound are enforced this often, ms. */
const PRUNE_INTERVAL_MS = 60_000;
/** Series names accepted in a query: `nodes/<hostname>/<metric>` or `devices/<device>/<channel>`. */
const SERIES_NAME = /^(nodes|devices)\/[^/\s]{1,128}\/[^/\s]{1,128}$/;
const MAX_SERIES_PER_QUERY = 20;
/**
 * A node's status is recorded at every change (the `node/discovery` events) and, between
 * changes, sampled at most this often, ms: the value in between is known exactly, and at
 * 10,000 nodes the unchanged status of every node every 10 s was a third of all history rows.
 * Every minute keeps a point (and a minute row) in every status series.
 */
const STATUS_RESAMPLE_MS = 60_000;

/** Where the history database lives in the data directory (the backup archives it). */
export function historyDatabasePath(dataDir: string): string {
  return join(dataDir, 'history', 'history.db');
}

/**
 * History that survives restarts (issue 15 §4): samples node metrics (free
 * heap, latency) every `nodeSampleIntervalMs`, status at every change and at
 * least every `STATUS_RESAMPLE_MS`, and every numeric
 * pipeline channel value as records are committed, into the bounded
 * HistoryStore; answers `GET /api/history`.
 */
export class HistoryService {
  private store: HistoryStore | undefined;
  private readonly offs: Array<() => void> = [];
  private timers: NodeJS.Timeout[] = [];
  /** Node samples taken since start (the status is sampled on every `statusEvery`-th). */
  private samples = 0;
  /** Each node's resources object at its last sample (a new object = refreshed since). */
  private readonly sampledResources = new WeakMap<object, object>();

  constructor(private readonly deps: HistoryDeps) {}

  get enabled(): boolean {
    return this.deps.config.enabled;
  }

  /** The open store (the backup copies its database). */
  get historyStore(): HistoryStore | undefined {
    return this.store;
  }

  start(): void {
    const { config, bus } = this.deps;
    if (!config.enabled) return;
    this.store = new HistoryStore(historyDatabasePath(this.deps.dataDir), {
      rawRetentionMs: config.rawRetentionHours * 3_600_000,
      minuteRetentionMs: config.minuteRetentionDays * 86_400_000,
      maxBytes: config.maxBytes,
      onOpenError: (err) => this.deps.logger.error({ err: err.message }, 'history: could not create the history database; samples are not recorded until the next restart'),
    });
    this.store.open();
    this.offs.push(
      bus.on('pipeline/committed', (records) => {
        for (const record of records) {
          const t = Date.parse(record.ts);
          for (const [channel, value] of Object.entries(record.values)) {
            const n = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : NaN;
            this.store?.record(`devices/${record.device}/${channel}`, t, n);
          }
        }
      }),
      // A status change is recorded at once, not only at the next sample.
      bus.on('node/discovery', (e) => {
        if (e.action === 'status' || e.action === 'discovered') this.store?.record(`nodes/${e.hostname}/status`, Date.now(), STATUS_VALUE[e.status]);
      }),
    );
    this.timers.push(setInterval(() => this.sampleNodes(), config.nodeSampleIntervalMs));
    this.timers.push(setInterval(() => this.flush(), config.flushIntervalMs));
    this.timers.push(setInterval(() => this.prune(), PRUNE_INTERVAL_MS));
    for (const t of this.timers) t.unref();
    this.prune();
  }

  stop(): void {
    for (const off of this.offs.splice(0)) off();
    for (const t of this.timers.splice(0)) clearInterval(t);
    try {
      this.store?.close();
    } catch (err) {
      this.deps.logger.error({ err }, 'history: could not write the last samples');
    }
    this.store = undefined;
  }

  /** Writes buffered samples now (before a backup, and on every flush interval). */
  flush(): void {
    try {
      this.store?.flush();
    } catch (err) {
      this.deps.logger.error({ err }, 'history: could not write samples');
    }
  }

  /** Every known series, optionally only those starting with `prefix`. */
  list(prefix?: string): Array<{ name: string; unit: string | null }> {
    this.requireEnabled();
    return this.store!.list(prefix);
  }

  /**
   * `GET /api/history?series=a,b&from=&to=&step=`: from/to are RFC3339 or ms
   * since the epoch (default: the last hour), step a duration in ms or with a
   * unit (`30s`, `5m`, `1h`).
   */
  query(input: { series?: string; from?: string; to?: string; step?: string }): { from: string; to: string; series: HistorySeries[] } {
    this.requireEnabled();
    const names = (input.series ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (names.length === 0) throw new GatewayError('bad_request', 'series: give one or more series names separated by ",", e.g. nodes/node-1/freeHeap (GET /api/history/series lists them)');
    if (names.length > MAX_SERIES_PER_QUERY) throw new GatewayError('bad_request', `series: at most ${MAX_SERIES_PER_QUERY} series per query`);
    const bad = names.find((n) => !SERIES_NAME.test(n));
    if (bad) throw new GatewayError('bad_request', `series: "${bad}" is not a series name (nodes/<hostname>/<metric> or devices/<device>/<channel>)`);
    const now = Date.now();
    const to = input.to === undefined ? now : parseTime('to', input.to);
    const from = input.from === undefined ? to - 3_600_000 : parseTime('from', input.from);
    if (from >= to) throw new GatewayError('bad_request', 'from must be before to');
    const stepMs = input.step === undefined ? 0 : parseDuration(input.step);
    this.flush();
    return { from: new Date(from).toISOString(), to: new Date(to).toISOString(), series: this.store!.query({ series: names, from, to, stepMs }) };
  }

  stats(): ReturnType<HistoryStore['stats']> & { maxPoints: number } {
    this.requireEnabled();
    return { ...this.store!.stats(), maxPoints: MAX_POINTS };
  }

  private sampleNodes(): void {
    const now = Date.now();
    const statusEvery = Math.max(1, Math.floor(STATUS_RESAMPLE_MS / this.deps.config.nodeSampleIntervalMs));
    const withStatus = this.samples++ % statusEvery === 0;
    for (const node of this.deps.registry.list()) {
      // Resources and latency arrive together (a member list, a status read: each sets a new
      // resources object). Not refreshed since the last sample = nothing new to record: at
      // 10,000 nodes the member list comes every 20 s, so half the 10 s samples were repeats.
      const fresh = node.resources === null || this.sampledResources.get(node) !== node.resources;
      if (node.resources !== null) this.sampledResources.set(node, node.resources);
      const heap = node.resources?.freeHeap;
      if (fresh && typeof heap === 'number') this.store?.record(`nodes/${node.hostname}/freeHeap`, now, heap, 'bytes');
      if (fresh && node.latency !== null) this.store?.record(`nodes/${node.hostname}/latency`, now, node.latency, 'ms');
      if (withStatus) this.store?.record(`nodes/${node.hostname}/status`, now, STATUS_VALUE[node.status]);
    }
  }

  private prune(): void {
    try {
      this.store?.prune();
    } catch (err) {
      this.deps.logger.error({ err }, 'history: could not prune');
    }
  }

  private requireEnabled(): void {
    if (!this.store) throw new GatewayError('history_disabled');
  }
}

function parseTime(name: string, text: string): number {
  const ms = /^\d{1,15}$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new GatewayError('bad_request', `${name}: "${text}" is not a time (RFC3339, e.g. 2024-01-15T10:30:00Z, or ms since the epoch)`);
  return ms;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `500`, `30s`, `5m`, `1h`, `1d` → ms. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,12})(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new GatewayError('bad_request', `step: "${text}" is not a duration (ms, or a number with ms, s, m, h or d: 30s, 5m, 1h)`);
  return Number(m[1]) * UNIT_MS[m[2] ?? 'ms']!;
}
