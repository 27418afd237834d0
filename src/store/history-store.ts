import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Statement } from 'better-sqlite3';
import { STORE_CACHE_KIB, openDatabase, type Migration, type SqliteDatabase } from './sqlite.js';

/**
 * Bounded history of numeric series in SQLite (issue 15 §4): node metrics and
 * pipeline channels. Two resolutions:
 *  - `raw`: every sample, packed in chunks (one row per series per flush:
 *    uint32 ms offsets and float64 values in a BLOB), kept `rawRetentionMs`;
 *  - `minute`: one row per series per minute with count/min/max/sum, kept
 *    `minuteRetentionMs`.
 * Samples are buffered in memory and written every flush (one transaction),
 * so 1,000 channels at 1 Hz cost one transaction per flush interval, not
 * 1,000 inserts a second. A disk bound drops the oldest chunks first.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    up: (db) =>
      db.exec(`
        CREATE TABLE series (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, unit TEXT);
        -- t0: ms since the epoch of the chunk's first sample; data: n × (uint32 offset ms, float64 value).
        CREATE TABLE raw (series INTEGER NOT NULL, t0 INTEGER NOT NULL, t1 INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE INDEX raw_by_series ON raw (series, t0);
        CREATE INDEX raw_by_age ON raw (t1);
        -- t: start of the minute, ms since the epoch.
        CREATE TABLE minute (series INTEGER NOT NULL, t INTEGER NOT NULL, n INTEGER NOT NULL, min REAL NOT NULL, max REAL NOT NULL, sum REAL NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID;
        CREATE INDEX minute_by_age ON minute (t);
      `),
  },
];

const MINUTE_MS = 60_000;
/**
 * Rows per multi-row INSERT in a flush. A flush at 10,000 nodes writes ~30,000 raw chunks and
 * as many minute upserts; one statement per row spent most of the flush in per-statement
 * overhead (bind, step, reset across the native boundary). 64 rows × 6 parameters stays far
 * below SQLite's 32,766-parameter limit.
 */
const ROWS_PER_STATEMENT = 64;
const MINUTE_UPSERT = 'ON CONFLICT(series, t) DO UPDATE SET n = n + excluded.n, min = MIN(min, excluded.min), max = MAX(max, excluded.max), sum = sum + excluded.sum';
/** One sample in a raw chunk: uint32 offset (ms) + float64 value. */
const SAMPLE_BYTES = 12;
/** At most this many buckets in one answer; a larger range gets a coarser step. */
export const MAX_POINTS = 5000;

export interface HistoryStoreOptions {
  /** Raw samples are kept this long, ms (default 24 h). */
  rawRetentionMs: number;
  /** Minute aggregates are kept this long, ms (default 30 days). */
  minuteRetentionMs: number;
  /** The database may hold at most this many bytes of data; beyond, the oldest raw chunks go first, then the oldest minutes. */
  maxBytes: number;
  clock?: () => number;
  /**
   * A database file that did not exist at open() is created at the first sample (or stats read);
   * when that fails, this is told once and the store records nothing (a sample must never throw).
   */
  onOpenError?: (err: Error) => void;
}

/** One answer series: columns of equal length, uPlot-ready. Times are ms since the epoch. */
export interface HistorySeries {
  name: string;
  unit: string | null;
  /** `raw` samples or aggregates of `1m` rows. */
  resolution: 'raw' | '1m';
  /** Bucket width, ms; 0 for raw samples returned one by one. */
  stepMs: number;
  t: number[];
  avg: number[];
  min: number[];
  max: number[];
}

export interface HistoryQuery {
  series: string[];
  from: number;
  to: number;
  /** Bucket width, ms; 0 or undefined = the finest available, within MAX_POINTS. */
  stepMs?: number;
}

interface Buffered {
  id: number;
  t: number[];
  v: number[];
}

interface MinuteAgg {
  n: number;
  min: number;
  max: number;
  sum: number;
}

export interface HistoryStats {
  series: number;
  rawChunks: number;
  minuteRows: number;
  bytes: number;
  buffered: number;
  droppedForSpace: number;
}

export class HistoryStore {
  private db: SqliteDatabase | undefined;
  /**
   * Set by open() when the file does not exist yet: it is created at the first sample, so a
   * gateway that has nothing to record does not load SQLite (idle RSS, issue 16 §3). Until
   * then there is nothing stored: no series, no rows, nothing to prune or flush.
   */
  private deferred = false;
  private readonly ids = new Map<string, number>();
  private readonly units = new Map<string, string | null>();
  private buffer = new Map<number, Buffered>();
  private bufferedCount = 0;
  private droppedForSpace = 0;
  private statements!: {
    insertSeries: Statement;
    insertRaw: Statement;
    upsertMinute: Statement;
    insertRawMany: Statement;
    upsertMinuteMany: Statement;
  };
  private readonly clock: () => number;

  constructor(
    private readonly path: string,
    private readonly options: HistoryStoreOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** Opens the database; a file that does not exist yet is created at the first sample instead. */
  open(): void {
    if (this.path !== ':memory:' && !existsSync(this.path)) {
      // The directory now, so a data directory that cannot be written to still fails the start.
      mkdirSync(dirname(this.path), { recursive: true });
      this.deferred = true;
      return;
    }
    this.openNow();
  }

  /** Creates the deferred database; false when that failed (told to `onOpenError`). */
  private openDeferred(): boolean {
    this.deferred = false;
    try {
      this.openNow();
      return true;
    } catch (err) {
      this.options.onOpenError?.(err as Error);
      return false;
    }
  }

  private openNow(): void {
    // Pruned pages go back to the file system, so the disk bound is a bound on the file.
    const db = openDatabase(this.path, { migrations: MIGRATIONS, autoVacuum: 'INCREMENTAL', cacheKiB: STORE_CACHE_KIB });
    this.db = db;
    this.statements = {
      insertSeries: db.prepare('INSERT INTO series (name, unit) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET unit = COALESCE(excluded.unit, unit) RETURNING id'),
      insertRaw: db.prepare('INSERT INTO raw (series, t0, t1, data) VALUES (?, ?, ?, ?)'),
      upsertMinute: db.prepare(`INSERT INTO minute (series, t, n, min, max, sum) VALUES (?, ?, ?, ?, ?, ?) ${MINUTE_UPSERT}`),
      insertRawMany: db.prepare(`INSERT INTO raw (series, t0, t1, data) VALUES ${Array(ROWS_PER_STATEMENT).fill('(?, ?, ?, ?)').join(', ')}`),
      upsertMinuteMany: db.prepare(`INSERT INTO minute (series, t, n, min, max, sum) VALUES ${Array(ROWS_PER_STATEMENT).fill('(?, ?, ?, ?, ?, ?)').join(', ')} ${MINUTE_UPSERT}`),
    };
    for (const row of db.prepare('SELECT id, name, unit FROM series').all() as Array<{ id: number; name: string; unit: string | null }>) {
      this.ids.set(row.name, row.id);
      this.units.set(row.name, row.unit);
    }
  }

  get isOpen(): boolean {
    return this.db !== undefined || this.deferred;
  }

  /** The database handle (the backup reads it with SQLite's online backup). */
  get database(): SqliteDatabase | undefined {
    return this.db;
  }

  close(): void {
    this.deferred = false;
    if (!this.db) return;
    this.flush();
    this.db.close();
    this.db = undefined;
  }

  /** Buffers one sample; non-finite values are ignored. */
  record(name: string, tMs: number, value: number, unit: string | null = null): void {
    if (!Number.isFinite(value)) return;
    if (this.deferred && !this.openDeferred()) return;
    if (!this.db) return;
    let id = this.ids.get(name);
    if (id === undefined || (unit !== null && this.units.get(name) !== unit)) {
      id = (this.statements.insertSeries.get(name, unit) as { id: number }).id;
      this.ids.set(name, id);
      this.units.set(name, unit ?? this.units.get(name) ?? null);
    }
    let b = this.buffer.get(id);
    if (!b) this.buffer.set(id, (b = { id, t: [], v: [] }));
    b.t.push(tMs);
    b.v.push(value);
    this.bufferedCount++;
  }

  /** Writes every buffered sample: one raw chunk per series and its minute aggregates, in one transaction. */
  flush(): void {
    const db = this.db;
    if (!db || this.bufferedCount === 0) return;
    const buffer = this.buffer;
    this.buffer = new Map();
    this.bufferedCount = 0;
    const { insertRaw, upsertMinute, insertRawMany, upsertMinuteMany } = this.statements;
    // Rows are gathered as flat parameter lists and written ROWS_PER_STATEMENT at a time; the rest one by one.
    const raw: unknown[] = [];
    const minute: unknown[] = [];
    const put = (params: unknown[], width: number, many: Statement, one: Statement, last: boolean): void => {
      const batch = ROWS_PER_STATEMENT * width;
      if (!last) {
        if (params.length >= batch) {
          many.run(params);
          params.length = 0;
        }
        return;
      }
      for (let i = 0; i < params.length; i += width) one.run(params.slice(i, i + width));
      params.length = 0;
    };
    db.transaction(() => {
      for (const b of buffer.values()) {
        // Samples of one series arrive in time order from their producer; sort only if not.
        let sorted = true;
        for (let i = 1; i < b.t.length; i++) if (b.t[i]! < b.t[i - 1]!) sorted = false;
        if (!sorted) {
          const order = b.t.map((_, i) => i).sort((x, y) => b.t[x]! - b.t[y]!);
          b.t = order.map((i) => b.t[i]!);
          b.v = order.map((i) => b.v[i]!);
        }
        const t0 = b.t[0]!;
        const data = Buffer.allocUnsafe(b.t.length * SAMPLE_BYTES);
        const minutes = new Map<number, MinuteAgg>();
        for (let i = 0; i < b.t.length; i++) {
          const offset = Math.min(0xffffffff, b.t[i]! - t0);
          data.writeUInt32LE(offset, i * SAMPLE_BYTES);
          data.writeDoubleLE(b.v[i]!, i * SAMPLE_BYTES + 4);
          const m = Math.floor(b.t[i]! / MINUTE_MS) * MINUTE_MS;
          const agg = minutes.get(m);
          const v = b.v[i]!;
          if (!agg) minutes.set(m, { n: 1, min: v, max: v, sum: v });
          else {
            agg.n++;
            if (v < agg.min) agg.min = v;
            if (v > agg.max) agg.max = v;
            agg.sum += v;
          }
        }
        raw.push(b.id, t0, b.t[b.t.length - 1]!, data);
        put(raw, 4, insertRawMany, insertRaw, false);
        for (const [m, agg] of minutes) {
          minute.push(b.id, m, agg.n, agg.min, agg.max, agg.sum);
          put(minute, 6, upsertMinuteMany, upsertMinute, false);
        }
      }
      put(raw, 4, insertRawMany, insertRaw, true);
      put(minute, 6, upsertMinuteMany, upsertMinute, true);
    })();
  }

  /**
   * Drops what is past its retention, then the oldest data while the
   * database holds more than `maxBytes`; returns the bytes in use after.
   */
  prune(): number {
    const db = this.db;
    if (!db) return 0;
    const now = this.clock();
    db.prepare('DELETE FROM raw WHERE t1 < ?').run(now - this.options.rawRetentionMs);
    db.prepare('DELETE FROM minute WHERE t < ?').run(now - this.options.minuteRetentionMs);
    let bytes = this.bytesUsed();
    for (let round = 0; bytes > this.options.maxBytes && round < 50; round++) {
      // A tenth of the raw chunks at a time, oldest first; once raw is empty, the oldest minutes.
      const rawCount = (db.prepare('SELECT COUNT(*) AS n FROM raw').get() as { n: number }).n;
      if (rawCount > 0) {
        const limit = Math.max(1, Math.ceil(rawCount / 10));
        this.droppedForSpace += db.prepare('DELETE FROM raw WHERE rowid IN (SELECT rowid FROM raw ORDER BY t1 LIMIT ?)').run(limit).changes;
      } else {
        const minuteCount = (db.prepare('SELECT COUNT(*) AS n FROM minute').get() as { n: number }).n;
        if (minuteCount === 0) break;
        const limit = Math.max(1, Math.ceil(minuteCount / 10));
        this.droppedForSpace += db.prepare('DELETE FROM minute WHERE rowid IN (SELECT rowid FROM minute ORDER BY t LIMIT ?)').run(limit).changes;
      }
      bytes = this.bytesUsed();
    }
    db.pragma('incremental_vacuum');
    return bytes;
  }

  /** Pages holding data, in bytes (free pages excluded). */
  bytesUsed(): number {
    const db = this.db;
    if (!db) return 0;
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    const pages = db.pragma('page_count', { simple: true }) as number;
    const free = db.pragma('freelist_count', { simple: true }) as number;
    return (pages - free) * pageSize;
  }

  /** Series names known, with their units. */
  list(prefix = ''): Array<{ name: string; unit: string | null }> {
    return [...this.ids.keys()].filter((n) => n.startsWith(prefix)).sort().map((name) => ({ name, unit: this.units.get(name) ?? null }));
  }

  stats(): HistoryStats {
    if (this.deferred) this.openDeferred();
    const db = this.db;
    const count = (table: string): number => (db ? (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n : 0);
    return { series: this.ids.size, rawChunks: count('raw'), minuteRows: count('minute'), bytes: this.bytesUsed(), buffered: this.bufferedCount, droppedForSpace: this.droppedForSpace };
  }

  /**
   * Points of each series between `from` and `to` (ms, inclusive): raw
   * samples while the range is within the raw retention and the step is
   * under a minute, minute aggregates otherwise; bucketed by `stepMs`
   * (at least range / MAX_POINTS). Buffered samples are included.
   */
  query(q: HistoryQuery): HistorySeries[] {
    const range = Math.max(1, q.to - q.from);
    const floor = Math.ceil(range / MAX_POINTS);
    const rawFrom = this.clock() - this.options.rawRetentionMs;
    const wanted = Math.max(q.stepMs ?? 0, floor);
    const useRaw = wanted < MINUTE_MS && q.from >= rawFrom - MINUTE_MS;
    // Raw samples come one by one unless a step was asked for or there are more than MAX_POINTS.
    const stepMs = useRaw ? (q.stepMs && q.stepMs > 1 ? wanted : 0) : Math.max(MINUTE_MS, Math.ceil(wanted / MINUTE_MS) * MINUTE_MS);
    return q.series.map((name) => {
      const id = this.ids.get(name);
      const out: HistorySeries = { name, unit: this.units.get(name) ?? null, resolution: useRaw ? 'raw' : '1m', stepMs, t: [], avg: [], min: [], max: [] };
      if (id === undefined || !this.db) return out;
      if (useRaw) this.rawPoints(id, q.from, q.to, stepMs, floor, out);
      else this.minutePoints(id, q.from, q.to, stepMs, out);
      return out;
    });
  }

  private rawPoints(id: number, from: number, to: number, askedStepMs: number, floorMs: number, out: HistorySeries): void {
    const samples: Array<[number, number]> = [];
    const rows = this.db!.prepare('SELECT t0, data FROM raw WHERE series = ? AND t1 >= ? AND t0 <= ? ORDER BY t0').all(id, from, to) as Array<{ t0: number; data: Buffer }>;
    for (const row of rows) {
      for (let i = 0; i + SAMPLE_BYTES <= row.data.length; i += SAMPLE_BYTES) {
        const t = row.t0 + row.data.readUInt32LE(i);
        if (t >= from && t <= to) samples.push([t, row.data.readDoubleLE(i + 4)]);
      }
    }
    const b = this.buffer.get(id);
    if (b) for (let i = 0; i < b.t.length; i++) if (b.t[i]! >= from && b.t[i]! <= to) samples.push([b.t[i]!, b.v[i]!]);
    samples.sort((x, y) => x[0] - y[0]);
    const stepMs = askedStepMs > 0 ? askedStepMs : samples.length > MAX_POINTS ? floorMs : 0;
    out.stepMs = stepMs;
    if (stepMs === 0) {
      for (const [t, v] of samples) {
        out.t.push(t);
        out.avg.push(v);
        out.min.push(v);
        out.max.push(v);
      }
      return;
    }
    let bucket = -1;
    let agg: MinuteAgg | null = null;
    const emit = (): void => {
      if (!agg) return;
      out.t.push(bucket);
      out.avg.push(agg.sum / agg.n);
      out.min.push(agg.min);
      out.max.push(agg.max);
    };
    for (const [t, v] of samples) {
      const start = from + Math.floor((t - from) / stepMs) * stepMs;
      if (start !== bucket) {
        emit();
        bucket = start;
        agg = { n: 1, min: v, max: v, sum: v };
      } else {
        agg!.n++;
        agg!.min = Math.min(agg!.min, v);
        agg!.max = Math.max(agg!.max, v);
        agg!.sum += v;
      }
    }
    emit();
  }

  private minutePoints(id: number, from: number, to: number, stepMs: number, out: HistorySeries): void {
    const start = Math.floor(from / MINUTE_MS) * MINUTE_MS;
    const rows = this.db!
      .prepare(
        `SELECT CAST((t - ?) / ? AS INTEGER) AS b, SUM(n) AS n, MIN(min) AS min, MAX(max) AS max, SUM(sum) AS sum
         FROM minute WHERE series = ? AND t >= ? AND t <= ? GROUP BY b ORDER BY b`,
      )
      .all(start, stepMs, id, start, to) as Array<{ b: number; n: number; min: number; max: number; sum: number }>;
    const merged = new Map<number, MinuteAgg>(rows.map((r) => [r.b, { n: r.n, min: r.min, max: r.max, sum: r.sum }]));
    // Samples not flushed yet belong to the newest buckets.
    const b = this.buffer.get(id);
    if (b) {
      for (let i = 0; i < b.t.length; i++) {
        const t = b.t[i]!;
        if (t < start || t > to) continue;
        const key = Math.floor((t - start) / stepMs);
        const v = b.v[i]!;
        const agg = merged.get(key);
        if (!agg) merged.set(key, { n: 1, min: v, max: v, sum: v });
        else {
          agg.n++;
          agg.min = Math.min(agg.min, v);
          agg.max = Math.max(agg.max, v);
          agg.sum += v;
        }
      }
    }
    for (const key of [...merged.keys()].sort((x, y) => x - y)) {
      const agg = merged.get(key)!;
      out.t.push(start + key * stepMs);
      out.avg.push(agg.sum / agg.n);
      out.min.push(agg.min);
      out.max.push(agg.max);
    }
  }
}
