import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Statement } from 'better-sqlite3';
import type { Logger } from '../logger.js';
import { isValidHostname } from '../protocol/datagram.js';
import { isValidIpv4 } from '../protocol/ip.js';
import { openDatabase, STORE_CACHE_KIB, type Migration, type SqliteDatabase } from '../store/sqlite.js';
import { limitApi, limitLabels, limitResources, limitVersion, type Dropped } from './node-limits.js';
import type { NodeRecord } from './node-registry.js';

/**
 * The node registry on disk (issue 12 §15), `<dataDir>/registry/nodes.db`, so a restart
 * lists the known nodes at once — silent and DEAD ones too — with their labels, version,
 * resources and original `discoveredAt`/`lastSeen`.
 *
 * Cheap at scale: 10,000 nodes heartbeating every 2 s are 5,000 `lastSeen` changes a
 * second, so nothing is written per heartbeat. Changes only mark a node dirty (memory);
 * every `flushIntervalMs` the dirty nodes are written in one transaction, and once more
 * on stop(). After a crash (`kill -9`, power loss) a node's stored `lastSeen` may
 * therefore be up to one flush interval old. Two tables, so the frequent change stays
 * small: `node_seen` (hostname, lastSeen, port: ~40 bytes a row) changes with every
 * heartbeat (a node's row is rewritten at most every `SEEN_PERSIST_MS` unless its port
 * changed), `nodes` (address, labels, resources, api, version…) only when those change.
 * A new node or a new address is written with the next flush; what status reads and the
 * member list refresh (resources change with every read) is written for at most
 * `LAZY_ROWS_PER_FLUSH` nodes a flush, longest waiting first: at 10,000 nodes each node's
 * self-description reaches the disk every ~200 s, with up to 250 nodes at every flush.
 *
 * Bounded: a row per node of the registry, which holds at most `nodes.maxNodes`; a node
 * the registry removes is deleted in the next flush, and a load keeps the newest
 * `maxRows`. A file that cannot be read is moved aside with one clear log line and the
 * registry starts empty: never a refused start, never a crash.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    up: (db) =>
      db.exec(`
        CREATE TABLE nodes (
          hostname TEXT PRIMARY KEY,        -- identity (CONTRACT §2)
          ip TEXT NOT NULL,
          discovered_at INTEGER NOT NULL,   -- ms since the epoch
          labels TEXT NOT NULL,             -- JSON object string → string
          resources TEXT,                   -- JSON object, NULL = never read
          api TEXT NOT NULL,                -- JSON [{uri, method}]
          latency REAL,                     -- ms
          version TEXT,
          uptime REAL,
          last_polled_at INTEGER            -- ms since the epoch
        );
        -- Written for every node heard since the last flush: kept narrow.
        CREATE TABLE node_seen (
          hostname TEXT PRIMARY KEY,
          last_seen INTEGER NOT NULL,       -- ms since the epoch
          port INTEGER NOT NULL             -- UDP source port of the last datagram
        ) WITHOUT ROWID;
      `),
  },
];

/** Where the node registry lives in the data directory. */
export function nodeStorePath(dataDir: string): string {
  return join(dataDir, 'registry', 'nodes.db');
}

export interface NodeStoreOptions {
  /** Dirty nodes are written this often, ms. */
  flushIntervalMs: number;
  /** Rows kept at most (`nodes.maxNodes`); a load keeps the most recently seen. */
  maxRows: number;
  /** Wall clock, ms since the epoch (tests); default Date.now. */
  clock?: () => number;
}

/**
 * A node's `lastSeen` alone is written at most this often, ms (a new port, a new node or
 * stop() is written at the next flush regardless). The status thresholds work in seconds
 * (ACTIVE ≤ 5 s, DEAD after tens of s) and a live node's next heartbeat after a restart
 * corrects its age anyway; rewriting 10,000 `node_seen` rows every 5 s was the node store's
 * whole cost at 10,000 nodes. After a crash a stored `lastSeen` may be up to this much plus
 * one flush interval older than the node's last datagram.
 */
export const SEEN_PERSIST_MS = 30_000;

export interface NodeStoreStats {
  /** Rows written by the flushes since start (both tables). */
  rowsWritten: number;
  flushes: number;
  /** Flushes that failed (disk full, I/O error); the next one rewrites every node. */
  failedFlushes: number;
  /** Stored rows dropped at load: unreadable, long dead, over `maxRows`, or refused by the caller. */
  droppedAtLoad: number;
}

/**
 * Rows of `nodes` rewritten per flush for status/member updates (a new node or address is never
 * held back). Those rows are only the resources a restart shows until the first member list
 * (seconds later); at 10,000 nodes 1,000 rows (3 JSON.stringify each) every 5 s were most of the
 * store's remaining cost.
 */
export const LAZY_ROWS_PER_FLUSH = 250;

interface Row {
  hostname: unknown;
  ip: unknown;
  discovered_at: unknown;
  labels: unknown;
  resources: unknown;
  api: unknown;
  latency: unknown;
  version: unknown;
  uptime: unknown;
  last_polled_at: unknown;
  last_seen: unknown;
  port: unknown;
}

const finiteOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const parseJson = (text: unknown): unknown => {
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
};

export class NodeStore {
  private db: SqliteDatabase | undefined;
  private statements!: { upsertNode: Statement; upsertSeen: Statement; deleteNode: Statement; deleteSeen: Statement };
  /** New nodes and new addresses: written with the next flush. */
  private readonly content = new Map<string, NodeRecord>();
  /** Labels, resources, version… changed by a status read or the member list: a bounded share per flush. */
  private readonly lazy = new Map<string, NodeRecord>();
  private readonly seenNodes = new Map<string, NodeRecord>();
  /** When each node's `node_seen` row was last written (ms, this store's clock) and with which port. */
  private readonly seenWritten = new Map<string, { at: number; port: number }>();
  private readonly gone = new Set<string>();
  /** Set when a flush failed: the next one rewrites every node of `current()`. */
  private fullSync = false;
  private current: () => Iterable<NodeRecord> = () => [];
  private timer: NodeJS.Timeout | undefined;
  /**
   * Set by start() when no database file exists yet: it is created when the first node must be
   * stored (`changed`), not at start. Until then there is nothing to read or write, and a gateway
   * with no nodes never loads SQLite (idle RSS, issue 16 §3: the first database costs ~2.2 MiB, 68.96 → 66.77 MiB idle).
   */
  private deferred = false;
  readonly stats: NodeStoreStats = { rowsWritten: 0, flushes: 0, failedFlushes: 0, droppedAtLoad: 0 };

  constructor(
    private readonly path: string,
    private readonly options: NodeStoreOptions,
    private readonly logger: Logger,
  ) {}

  /** Whether the nodes are persisted (false when the file could not be opened even fresh). */
  get isOpen(): boolean {
    return this.db !== undefined || this.deferred;
  }

  /**
   * Opens the database (moving an unreadable one aside) and starts the flush timer.
   * `current` lists the registry's nodes, for the full rewrite after a failed flush.
   * When the file does not exist yet, it is created at the first node instead (`deferred`).
   */
  start(current: () => Iterable<NodeRecord>): void {
    this.current = current;
    if (!existsSync(this.path)) {
      this.deferred = true;
      return;
    }
    this.openAndSchedule();
  }

  private openAndSchedule(): void {
    this.deferred = false;
    try {
      this.open();
    } catch (err) {
      this.reopenAfter(err);
    }
    if (this.db) {
      this.timer = setInterval(() => this.flush(), this.options.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes everything that is dirty and closes the database. */
  stop(): void {
    this.deferred = false;
    clearInterval(this.timer);
    this.timer = undefined;
    this.flush(true);
    try {
      this.db?.close();
    } catch (err) {
      this.logger.error({ path: this.path, err: (err as Error).message }, 'could not close the node registry database');
    }
    this.db = undefined;
  }

  /**
   * The stored nodes, most recently seen first, at most `maxRows`, each checked and capped
   * as a node's own datagram would be (node-limits.ts); rows that fail are deleted. A table
   * that cannot be read is moved aside (one log line) and the answer is empty.
   */
  load(): NodeRecord[] {
    const db = this.db;
    if (!db) return [];
    let rows: Row[];
    try {
      rows = db
        .prepare(
          `SELECT n.hostname, n.ip, n.discovered_at, n.labels, n.resources, n.api, n.latency, n.version, n.uptime, n.last_polled_at, s.last_seen, s.port
           FROM nodes n LEFT JOIN node_seen s ON s.hostname = n.hostname ORDER BY COALESCE(s.last_seen, n.discovered_at) DESC`,
        )
        .all() as Row[];
    } catch (err) {
      this.reopenAfter(err);
      return [];
    }
    const nodes: NodeRecord[] = [];
    const ips = new Set<string>();
    const dropped: Dropped = { count: 0 };
    for (const row of rows) {
      const node = nodes.length < this.options.maxRows ? fromRow(row, dropped) : null;
      // Two rows with one address: the most recently seen keeps it (rows come newest first).
      if (!node || ips.has(node.ip)) {
        if (typeof row.hostname === 'string' || typeof row.hostname === 'number') this.removed(String(row.hostname));
        this.stats.droppedAtLoad++;
        continue;
      }
      ips.add(node.ip);
      nodes.push(node);
    }
    if (this.stats.droppedAtLoad > 0) this.logger.warn({ path: this.path, dropped: this.stats.droppedAtLoad, kept: nodes.length }, 'stored nodes dropped: unreadable, a duplicate address, or over nodes.maxNodes');
    return nodes;
  }

  /** A new node, or a node at a new address (memory only; written with the next flush). */
  changed(node: NodeRecord): void {
    if (this.deferred) this.openAndSchedule();
    if (!this.db) return;
    this.content.set(node.hostname, node);
    this.lazy.delete(node.hostname);
    this.seenNodes.set(node.hostname, node);
    this.gone.delete(node.hostname);
  }

  /** The node's labels, resources, api, version or latency changed (memory only; a bounded share per flush). */
  updated(node: NodeRecord): void {
    if (!this.db || this.content.has(node.hostname)) return;
    // An entry keeps its place in the Map when set again: the longest waiting is written first.
    this.lazy.set(node.hostname, node);
  }

  /** A datagram of the node arrived: its `lastSeen` (and source port) changed (memory only). */
  seen(node: NodeRecord): void {
    if (this.db) this.seenNodes.set(node.hostname, node);
  }

  /** The registry removed the node; its rows go with the next flush. */
  removed(hostname: string): void {
    if (!this.db) return;
    this.content.delete(hostname);
    this.lazy.delete(hostname);
    this.seenNodes.delete(hostname);
    this.seenWritten.delete(hostname);
    this.gone.add(hostname);
  }

  /**
   * Writes the dirty nodes in one transaction (`all`: the held-back updates too, as on stop).
   * Never throws: a failure is logged and the next flush rewrites every node.
   */
  flush(all = false): void {
    const db = this.db;
    if (!db) return;
    if (!this.fullSync && this.content.size === 0 && this.lazy.size === 0 && this.seenNodes.size === 0 && this.gone.size === 0) return;
    const full = this.fullSync;
    const content = full ? [...this.current()] : [...this.content.values()];
    if (!full) {
      for (const [hostname, node] of this.lazy) {
        if (!all && content.length >= this.content.size + LAZY_ROWS_PER_FLUSH) break;
        content.push(node);
        this.lazy.delete(hostname);
      }
    } else this.lazy.clear();
    const now = (this.options.clock ?? Date.now)();
    let seen: NodeRecord[];
    if (full) {
      seen = content;
      this.seenNodes.clear();
    } else {
      // A node whose stored lastSeen is recent and whose port is unchanged stays dirty: written once SEEN_PERSIST_MS have passed.
      seen = [];
      for (const [hostname, n] of this.seenNodes) {
        const w = this.seenWritten.get(hostname);
        if (!all && w !== undefined && now - w.at < SEEN_PERSIST_MS && w.port === n.port && !this.content.has(hostname)) continue;
        seen.push(n);
        this.seenNodes.delete(hostname);
      }
    }
    const gone = full ? [] : [...this.gone];
    this.content.clear();
    this.gone.clear();
    this.fullSync = false;
    if (!full && content.length === 0 && seen.length === 0 && gone.length === 0) return;
    const { upsertNode, upsertSeen, deleteNode, deleteSeen } = this.statements;
    try {
      db.transaction(() => {
        if (full) db.exec('DELETE FROM nodes; DELETE FROM node_seen;');
        for (const hostname of gone) {
          deleteNode.run(hostname);
          deleteSeen.run(hostname);
        }
        for (const n of content) {
          upsertNode.run(n.hostname, n.ip, n.discoveredAt, JSON.stringify(n.labels), n.resources ? JSON.stringify(n.resources) : null, JSON.stringify(n.api), n.latency, n.version, n.uptime, n.lastPolledAt);
        }
        for (const n of seen) upsertSeen.run(n.hostname, n.lastSeen, n.port);
      })();
      for (const n of seen) this.seenWritten.set(n.hostname, { at: now, port: n.port });
      this.stats.flushes++;
      this.stats.rowsWritten += gone.length + content.length + seen.length;
      if (full) this.logger.info({ path: this.path, nodes: content.length }, 'node registry written again after a failed write');
    } catch (err) {
      // Dirty entries of this flush are lost: the next one rewrites every node instead (bounded, unlike a growing backlog).
      this.fullSync = true;
      if (this.stats.failedFlushes++ === 0 || full === false) {
        this.logger.error({ path: this.path, err: (err as Error).message }, 'could not write the node registry; the next write rewrites it whole');
      }
    }
  }

  private open(): void {
    const db = openDatabase(this.path, { migrations: MIGRATIONS, cacheKiB: STORE_CACHE_KIB });
    try {
      this.statements = {
        upsertNode: db.prepare(
          `INSERT INTO nodes (hostname, ip, discovered_at, labels, resources, api, latency, version, uptime, last_polled_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(hostname) DO UPDATE SET ip = excluded.ip, discovered_at = excluded.discovered_at, labels = excluded.labels,
             resources = excluded.resources, api = excluded.api, latency = excluded.latency, version = excluded.version,
             uptime = excluded.uptime, last_polled_at = excluded.last_polled_at`,
        ),
        upsertSeen: db.prepare('INSERT INTO node_seen (hostname, last_seen, port) VALUES (?, ?, ?) ON CONFLICT(hostname) DO UPDATE SET last_seen = excluded.last_seen, port = excluded.port'),
        deleteNode: db.prepare('DELETE FROM nodes WHERE hostname = ?'),
        deleteSeen: db.prepare('DELETE FROM node_seen WHERE hostname = ?'),
      };
    } catch (err) {
      db.close();
      throw err;
    }
    this.db = db;
  }

  /**
   * After `err` made the database unusable: moves it aside and opens a fresh one. When even
   * that fails, the registry runs on in memory only (one log line) and nothing is flushed.
   */
  private reopenAfter(err: unknown): void {
    this.quarantine(err);
    try {
      this.open();
    } catch (again) {
      this.db = undefined;
      clearInterval(this.timer);
      this.timer = undefined;
      this.logger.error({ path: this.path, err: (again as Error).message }, 'node registry cannot be stored; nodes are kept in memory only until the next restart');
    }
  }

  /** Moves an unreadable database (and its WAL) aside, so the gateway starts with an empty registry and the file can be examined. */
  private quarantine(err: unknown): void {
    try {
      this.db?.close();
    } catch {
      // it is being replaced
    }
    this.db = undefined;
    const aside = `${this.path}.unreadable-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        if (existsSync(this.path + suffix)) renameSync(this.path + suffix, aside + suffix);
      } catch {
        // the reopen below reports what still fails
      }
    }
    this.logger.error({ path: this.path, movedTo: aside, err: (err as Error).message }, 'the stored node registry cannot be read; it was moved aside and the registry starts empty');
  }
}

/** One stored row as a NodeRecord, or null when it is not one. Status is left to the registry (from the age). */
function fromRow(row: Row, dropped: Dropped): NodeRecord | null {
  const { hostname, ip } = row;
  if (typeof hostname !== 'string' || !isValidHostname(hostname)) return null;
  if (typeof ip !== 'string' || !isValidIpv4(ip)) return null;
  const discoveredAt = finiteOrNull(row.discovered_at);
  if (discoveredAt === null) return null;
  const lastSeen = finiteOrNull(row.last_seen) ?? discoveredAt;
  const resources = parseJson(row.resources);
  const version = row.version === null ? null : limitVersion(row.version, dropped);
  const port = finiteOrNull(row.port);
  return {
    ip,
    port: port !== null && port >= 0 && port <= 65535 ? port : 0,
    hostname,
    status: 'DEAD', // the registry derives it from lastSeen's age
    discoveredAt,
    lastSeen,
    labels: limitLabels(parseJson(row.labels) ?? {}, dropped),
    resources: resources && typeof resources === 'object' && !Array.isArray(resources) ? limitResources(resources as Record<string, unknown>, dropped) : null,
    api: limitApi(parseJson(row.api) ?? [], dropped),
    latency: finiteOrNull(row.latency),
    version: version ?? null,
    uptime: finiteOrNull(row.uptime),
    lastPolledAt: finiteOrNull(row.last_polled_at),
  };
}
