import type { Statement } from 'better-sqlite3';
import type { Logger } from '../logger.js';
import { openDatabase, type Migration, type SqliteDatabase } from '../store/sqlite.js';
import type { ChannelValue, PipelineRecord, QueuedRecord, SinkStats } from './types.js';

/**
 * The pipeline's one SQLite database (better-sqlite3, WAL):
 *  - `device_seq`: the last seq per device, so seq continues without a gap after a restart;
 *  - `outbox`: the durable store-and-forward buffer, one row per record per durable sink.
 * A record's seq and its buffer rows are written in one transaction (commit = on disk), so
 * a `kill -9` either keeps both or neither: a seq is never used twice and never skipped.
 * Rows leave only when the sink confirms delivery (PUBACK) or when a bound drops the oldest.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    up: (db) =>
      db.exec(`
        CREATE TABLE device_seq (device TEXT PRIMARY KEY, seq INTEGER NOT NULL, ts TEXT NOT NULL) WITHOUT ROWID;
        -- AUTOINCREMENT: ids are never reused, even once the table has emptied, so a delivery
        -- cursor ("everything up to id N was handed to the broker") stays valid.
        CREATE TABLE outbox (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          sink TEXT NOT NULL,
          device TEXT NOT NULL,
          topic TEXT NOT NULL,
          created_ms INTEGER NOT NULL,
          payload TEXT NOT NULL
        );
        CREATE INDEX outbox_by_sink ON outbox (sink, id);
        CREATE TABLE sink_counters (sink TEXT PRIMARY KEY, sent INTEGER NOT NULL, dropped INTEGER NOT NULL) WITHOUT ROWID;
      `),
  },
];

export interface PendingRecord {
  device: string;
  connector: string;
  tsMs: number;
  values: Record<string, ChannelValue>;
}

export interface DurableQueueSpec {
  id: string;
  maxMessages: number;
  /** 0 = no age limit. */
  maxAgeMs: number;
  topicFor(record: PipelineRecord): string;
}

export interface RecordStoreOptions {
  /** FULL: every commit is fsynced (survives power loss); NORMAL: survives a process crash. */
  synchronous: 'FULL' | 'NORMAL';
  logger: Logger;
  clock?: () => number;
}

interface QueueState {
  spec: DurableQueueSpec;
  queued: number;
  sent: number;
  dropped: number;
  /** Rows up to this id were handed to the sink (in flight); bounds never drop those. */
  dispatchedThrough: number;
  droppedSinceLog: number;
  lastDropLogAt: number;
}

export interface CommittedRecord {
  record: PipelineRecord;
  payload: string;
}

/** Drop log lines for a full buffer: the first at once, then at most one per this interval. */
const DROP_LOG_INTERVAL_MS = 10_000; // ms

export class RecordStore {
  private db: SqliteDatabase | undefined;
  private readonly seqs = new Map<string, { seq: number; ts: string }>();
  private readonly queues = new Map<string, QueueState>();
  private readonly pendingAcks = new Map<string, number[]>();
  private ackFlushScheduled = false;
  private readonly clock: () => number;
  private stmt!: {
    upsertSeq: Statement<[string, number, string]>;
    insert: Statement<[string, string, string, number, string]>;
    dropOldest: Statement<[string, number, number]>;
    next: Statement<[string, number, number]>;
    del: Statement<[number]>;
    count: Statement<[string]>;
    oldest: Statement<[string]>;
    oldestRows: Statement<[string, number, number]>;
    deleteRange: Statement<[string, number, number]>;
    counters: Statement<[string, number, number]>;
  };

  constructor(
    private readonly path: string,
    private readonly options: RecordStoreOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** Opens the database and loads seqs and queue sizes. Never recreated afterwards (not on reconnects). */
  open(queues: readonly DurableQueueSpec[]): void {
    const db = openDatabase(this.path, { migrations: MIGRATIONS, synchronous: this.options.synchronous });
    this.db = db;
    // Keep the WAL file from growing without bound after a burst (it is truncated to this at checkpoints).
    db.pragma('journal_size_limit = 67108864'); // bytes (64 MiB)
    this.stmt = {
      upsertSeq: db.prepare('INSERT INTO device_seq (device, seq, ts) VALUES (?, ?, ?) ON CONFLICT(device) DO UPDATE SET seq = excluded.seq, ts = excluded.ts'),
      insert: db.prepare('INSERT INTO outbox (sink, device, topic, created_ms, payload) VALUES (?, ?, ?, ?, ?)'),
      dropOldest: db.prepare('DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sink = ? AND id > ? ORDER BY id LIMIT ?)'),
      next: db.prepare('SELECT id, device, topic, payload FROM outbox WHERE sink = ? AND id > ? ORDER BY id LIMIT ?'),
      del: db.prepare('DELETE FROM outbox WHERE id = ?'),
      count: db.prepare('SELECT count(*) AS n FROM outbox WHERE sink = ?'),
      oldest: db.prepare('SELECT created_ms FROM outbox WHERE sink = ? ORDER BY id LIMIT 1'),
      oldestRows: db.prepare('SELECT id, created_ms FROM outbox WHERE sink = ? AND id > ? ORDER BY id LIMIT ?'),
      deleteRange: db.prepare('DELETE FROM outbox WHERE sink = ? AND id > ? AND id <= ?'),
      counters: db.prepare(
        'INSERT INTO sink_counters (sink, sent, dropped) VALUES (?, ?, ?) ON CONFLICT(sink) DO UPDATE SET sent = sent + excluded.sent, dropped = dropped + excluded.dropped',
      ),
    };
    for (const row of db.prepare('SELECT device, seq, ts FROM device_seq').all() as Array<{ device: string; seq: number; ts: string }>) {
      this.seqs.set(row.device, { seq: row.seq, ts: row.ts });
    }
    const counters = new Map(
      (db.prepare('SELECT sink, sent, dropped FROM sink_counters').all() as Array<{ sink: string; sent: number; dropped: number }>).map((r) => [r.sink, r]),
    );
    for (const spec of queues) {
      const queued = (this.stmt.count.get(spec.id) as { n: number }).n;
      const c = counters.get(spec.id);
      this.queues.set(spec.id, { spec, queued, sent: c?.sent ?? 0, dropped: c?.dropped ?? 0, dispatchedThrough: 0, droppedSinceLog: 0, lastDropLogAt: 0 });
      if (queued > 0) this.options.logger.info({ sink: spec.id, queued }, 'durable buffer holds records from before the restart; delivering them first');
    }
    const orphans = db.prepare('SELECT sink, count(*) AS n FROM outbox GROUP BY sink').all() as Array<{ sink: string; n: number }>;
    for (const o of orphans) {
      if (!this.queues.has(o.sink)) {
        this.options.logger.warn({ sink: o.sink, queued: o.n }, 'the durable buffer holds records for a sink that is no longer configured; they are kept until it returns');
      }
    }
    this.pruneExpired();
  }

  get isOpen(): boolean {
    return this.db !== undefined;
  }

  /** A consistent copy of the database while it is in use (SQLite online backup; issue 15 §5). */
  async backupTo(path: string): Promise<void> {
    if (!this.db) throw new Error('the pipeline store is not open');
    await this.db.backup(path);
  }

  lastRecord(device: string): { seq: number; ts: string } | undefined {
    return this.seqs.get(device);
  }

  /** Every device that ever had a record, with its last seq. */
  knownDevices(): string[] {
    return [...this.seqs.keys()];
  }

  /**
   * Assigns seqs and queues the records for every durable sink, in one transaction
   * (fsynced with synchronous FULL). Throws (and changes nothing) if the disk refuses.
   */
  commit(gatewayId: string, pending: readonly PendingRecord[]): CommittedRecord[] {
    const db = this.requireDb();
    const now = this.clock();
    const out: CommittedRecord[] = [];
    const lastSeq = new Map<string, { seq: number; ts: string }>();
    const added = new Map<string, number>();
    const dropped = new Map<string, number>();
    db.transaction(() => {
      for (const p of pending) {
        const seq = (lastSeq.get(p.device)?.seq ?? this.seqs.get(p.device)?.seq ?? 0) + 1;
        const record: PipelineRecord = { gateway: gatewayId, device: p.device, connector: p.connector, ts: new Date(p.tsMs).toISOString(), seq, values: p.values };
        const payload = JSON.stringify(record);
        for (const q of this.queues.values()) {
          this.stmt.insert.run(q.spec.id, p.device, q.spec.topicFor(record), now, payload);
          added.set(q.spec.id, (added.get(q.spec.id) ?? 0) + 1);
        }
        lastSeq.set(p.device, { seq, ts: record.ts });
        out.push({ record, payload });
      }
      for (const [device, { seq, ts }] of lastSeq) this.stmt.upsertSeq.run(device, seq, ts);
      // Bound the buffer: drop the oldest records not yet handed to the broker.
      for (const q of this.queues.values()) {
        const excess = q.queued + (added.get(q.spec.id) ?? 0) - q.spec.maxMessages;
        if (excess <= 0) continue;
        const { changes } = this.stmt.dropOldest.run(q.spec.id, q.dispatchedThrough, excess);
        if (changes > 0) {
          this.stmt.counters.run(q.spec.id, 0, changes);
          dropped.set(q.spec.id, changes);
        }
      }
    })();
    for (const [device, last] of lastSeq) this.seqs.set(device, last);
    for (const q of this.queues.values()) {
      q.queued += (added.get(q.spec.id) ?? 0) - (dropped.get(q.spec.id) ?? 0);
      const n = dropped.get(q.spec.id);
      if (n) this.noteDropped(q, n, 'maxMessages');
    }
    return out;
  }

  /** The next queued records of a sink after `afterId`, oldest first. */
  next(sink: string, afterId: number, limit: number): QueuedRecord[] {
    return this.stmt.next.all(sink, afterId, limit) as QueuedRecord[];
  }

  /** Records up to `id` are in flight: the bounds must not drop them (the broker may already have them). */
  setDispatched(sink: string, id: number): void {
    const q = this.queues.get(sink);
    if (q && id > q.dispatchedThrough) q.dispatchedThrough = id;
  }

  /** The sink delivered the record (PUBACK): it leaves the buffer (deletes are batched). */
  acknowledge(sink: string, id: number): void {
    let list = this.pendingAcks.get(sink);
    if (!list) this.pendingAcks.set(sink, (list = []));
    list.push(id);
    if (!this.ackFlushScheduled) {
      this.ackFlushScheduled = true;
      setImmediate(() => this.flushAcks());
    }
  }

  /** Deletes acknowledged rows in one transaction. */
  flushAcks(): void {
    this.ackFlushScheduled = false;
    if (!this.db || this.pendingAcks.size === 0) return;
    const db = this.db;
    const batches = [...this.pendingAcks];
    this.pendingAcks.clear();
    // A lost delete only means a duplicate delivery after a power loss, never a lost record:
    // skip the fsync here; the next FULL commit syncs the WAL, these frames included.
    const relax = this.options.synchronous === 'FULL';
    if (relax) db.pragma('synchronous = NORMAL');
    try {
      const removed = new Map<string, number>();
      db.transaction(() => {
        for (const [sink, ids] of batches) {
          let n = 0;
          for (const id of ids) n += this.stmt.del.run(id).changes;
          if (n > 0) this.stmt.counters.run(sink, n, 0);
          removed.set(sink, n);
        }
      })();
      for (const [sink, n] of removed) {
        const q = this.queues.get(sink);
        if (q) {
          q.queued -= n;
          q.sent += n;
        }
      }
    } catch (err) {
      // The rows stay and are delivered again after a restart (a duplicate, not a loss).
      this.options.logger.error({ err }, 'could not remove delivered records from the durable buffer');
    } finally {
      if (relax) db.pragma('synchronous = FULL');
    }
  }

  /** Drops records older than each sink's maxAgeHours (never those in flight). Returns how many. */
  pruneExpired(): number {
    if (!this.db) return 0;
    const now = this.clock();
    let total = 0;
    for (const q of this.queues.values()) {
      if (q.spec.maxAgeMs <= 0 || q.queued === 0) continue;
      const cutoff = now - q.spec.maxAgeMs;
      let dropped = 0;
      for (;;) {
        const rows = this.stmt.oldestRows.all(q.spec.id, q.dispatchedThrough, 1000) as Array<{ id: number; created_ms: number }>;
        let lastOld = -1;
        for (const row of rows) {
          if (row.created_ms >= cutoff) break;
          lastOld = row.id;
        }
        if (lastOld < 0) break;
        const { changes } = this.db.transaction(() => {
          const info = this.stmt.deleteRange.run(q.spec.id, q.dispatchedThrough, lastOld);
          if (info.changes > 0) this.stmt.counters.run(q.spec.id, 0, info.changes);
          return info;
        })();
        dropped += changes;
        if (lastOld !== rows.at(-1)?.id) break;
      }
      if (dropped > 0) {
        q.queued -= dropped;
        this.noteDropped(q, dropped, 'maxAgeHours');
        total += dropped;
      }
    }
    return total;
  }

  stats(sink: string): SinkStats {
    const q = this.queues.get(sink);
    if (!q || !this.db) return { queued: 0, sent: 0, dropped: 0, oldestQueuedAgeMs: 0 };
    const oldest = q.queued > 0 ? (this.stmt.oldest.get(sink) as { created_ms: number } | undefined) : undefined;
    return {
      queued: q.queued,
      sent: q.sent,
      dropped: q.dropped,
      oldestQueuedAgeMs: oldest ? Math.max(0, this.clock() - oldest.created_ms) : 0,
    };
  }

  close(): void {
    if (!this.db) return;
    this.flushAcks();
    this.db.close();
    this.db = undefined;
  }

  private noteDropped(q: QueueState, n: number, bound: 'maxMessages' | 'maxAgeHours'): void {
    q.dropped += n;
    q.droppedSinceLog += n;
    const now = this.clock();
    if (q.lastDropLogAt === 0 || now - q.lastDropLogAt >= DROP_LOG_INTERVAL_MS) {
      this.options.logger.warn(
        { sink: q.spec.id, dropped: q.droppedSinceLog, droppedTotal: q.dropped, queued: q.queued, bound, maxMessages: q.spec.maxMessages, maxAgeMs: q.spec.maxAgeMs },
        `durable buffer of sink ${q.spec.id} reached ${bound}: dropped the oldest ${q.droppedSinceLog} record(s)`,
      );
      q.droppedSinceLog = 0;
      q.lastDropLogAt = now;
    }
  }

  private requireDb(): SqliteDatabase {
    if (!this.db) throw new Error('the pipeline store is not open');
    return this.db;
  }
}
