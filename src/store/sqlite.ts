import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

let sqliteClass: typeof Database | undefined;

/**
 * better-sqlite3, loaded at the first database opened (it is CommonJS, so `require` loads it
 * synchronously and `openDatabase` stays synchronous). The stores create their files at first
 * use, so a fresh gateway need not load it at all (idle RSS, issue 16 §3).
 */
export function sqlite(): typeof Database {
  return (sqliteClass ??= createRequire(import.meta.url)('better-sqlite3') as typeof Database);
}

/**
 * One schema step; `up` runs inside a transaction. Steps are applied in order
 * and recorded in SQLite's `user_version`, so a database is never migrated twice
 * and an older gateway refuses a newer file instead of corrupting it.
 */
export interface Migration {
  up: (db: SqliteDatabase) => void;
}

export interface OpenDatabaseOptions {
  /** Ordered schema steps; the database's user_version counts how many have run. */
  migrations: readonly Migration[];
  /**
   * `FULL` fsyncs every commit (durable across power loss, used by the
   * store-and-forward buffer); `NORMAL` is durable across a process crash
   * (`kill -9`) in WAL mode and much faster.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /**
   * `INCREMENTAL` lets `PRAGMA incremental_vacuum` give pages freed by deletes
   * back to the file system (a bounded store that prunes). Takes effect only
   * for a new database file.
   */
  autoVacuum?: 'NONE' | 'INCREMENTAL';
  /**
   * Page cache of this connection, KiB (`PRAGMA cache_size = -N`). better-sqlite3 builds SQLite
   * with 16,000 KiB (SQLite's own default is 2,000): a write-mostly store whose file outgrows
   * that fills all 16 MB with pages it rarely reads again (issue 19: at 10,000 nodes the node
   * store and the history store together grew the gateway's RSS by ~20 MB over minutes). Pages
   * not cached are read from the file system's cache (not the gateway's memory). Unset: 16,000.
   */
  cacheKiB?: number;
}

/**
 * The page cache of the write-mostly stores that grow with the cluster (node store, history),
 * KiB: SQLite's own default (see `cacheKiB`).
 */
export const STORE_CACHE_KIB = 2000;

/**
 * Opens (creating if needed) a SQLite database in WAL mode — readers never block
 * the writer and a crash never leaves a half-written transaction — and brings its
 * schema up to date.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new (sqlite())(path);
  try {
    // Before the first table exists and before WAL mode: afterwards SQLite keeps the file's setting.
    if (options.autoVacuum) db.pragma(`auto_vacuum = ${options.autoVacuum}`);
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    db.pragma('busy_timeout = 5000'); // ms: another connection holding the write lock
    db.pragma('foreign_keys = ON');
    if (options.cacheKiB !== undefined) db.pragma(`cache_size = -${Math.max(64, Math.floor(options.cacheKiB))}`);
    migrate(db, options.migrations);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function migrate(db: SqliteDatabase, migrations: readonly Migration[]): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > migrations.length) {
    throw new Error(
      `database ${db.name} has schema version ${current}, newer than this gateway knows (${migrations.length}); upgrade the gateway`,
    );
  }
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      migrations[version]!.up(db);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
}
