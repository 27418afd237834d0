import type { SqliteDatabase } from '../store/sqlite.js';
import type { FirmwareSummary, RolloutNodeState, RolloutStatus, RolloutTarget, RolloutView } from './rollout-types.js';

/** A rollout as stored, with what the runner needs beyond the API view. */
export interface RolloutRecord {
  id: string;
  firmwareId: string;
  firmware: FirmwareSummary;
  expectedVersion: string | null;
  status: RolloutStatus;
  target: RolloutTarget;
  batchSize: number;
  maxFailures: number;
  bootTimeoutSec: number;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface RolloutNodeRecord {
  position: number;
  hostname: string;
  ip: string;
  state: RolloutNodeState;
  progress: number;
  error: string | null;
  /** Uploads started for this node (a node caught mid-update by a crash is retried once). */
  attempts: number;
  previousVersion: string | null;
}

interface RolloutRow {
  id: string;
  firmware_id: string;
  firmware: string;
  expected_version: string | null;
  status: RolloutStatus;
  target: string;
  batch_size: number;
  max_failures: number;
  boot_timeout_sec: number;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

interface NodeRow {
  position: number;
  hostname: string;
  ip: string;
  state: RolloutNodeState;
  progress: number;
  error: string | null;
  attempts: number;
  previous_version: string | null;
}

export type NodePatch = Partial<Pick<RolloutNodeRecord, 'ip' | 'state' | 'progress' | 'error' | 'attempts' | 'previousVersion'>>;
export type RolloutPatch = Partial<Pick<RolloutRecord, 'status' | 'error' | 'startedAt' | 'finishedAt'>>;

const NODE_COLUMNS: Record<keyof NodePatch, string> = {
  ip: 'ip',
  state: 'state',
  progress: 'progress',
  error: 'error',
  attempts: 'attempts',
  previousVersion: 'previous_version',
};
const ROLLOUT_COLUMNS: Record<keyof RolloutPatch, string> = {
  status: 'status',
  error: 'error',
  startedAt: 'started_at',
  finishedAt: 'finished_at',
};

/**
 * Rollouts in SQLite. Every transition is written before it is announced, so
 * after a crash the database says exactly where each node was (synchronous
 * NORMAL in WAL mode survives `kill -9`).
 */
export class RolloutRepository {
  constructor(private readonly db: SqliteDatabase) {}

  insert(rollout: RolloutRecord, nodes: RolloutNodeRecord[]): void {
    const insertRollout = this.db.prepare(
      `INSERT INTO rollouts (id, firmware_id, firmware, expected_version, status, target, batch_size, max_failures, boot_timeout_sec, error, created_at, started_at, finished_at)
       VALUES (@id, @firmware_id, @firmware, @expected_version, @status, @target, @batch_size, @max_failures, @boot_timeout_sec, @error, @created_at, @started_at, @finished_at)`,
    );
    const insertNode = this.db.prepare(
      `INSERT INTO rollout_nodes (rollout_id, position, hostname, ip, state, progress, error, attempts, previous_version, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const now = new Date().toISOString();
    this.db.transaction(() => {
      insertRollout.run({
        id: rollout.id,
        firmware_id: rollout.firmwareId,
        firmware: JSON.stringify(rollout.firmware),
        expected_version: rollout.expectedVersion,
        status: rollout.status,
        target: JSON.stringify(rollout.target),
        batch_size: rollout.batchSize,
        max_failures: rollout.maxFailures,
        boot_timeout_sec: rollout.bootTimeoutSec,
        error: rollout.error,
        created_at: rollout.createdAt,
        started_at: rollout.startedAt,
        finished_at: rollout.finishedAt,
      });
      for (const n of nodes) {
        insertNode.run(rollout.id, n.position, n.hostname, n.ip, n.state, n.progress, n.error, n.attempts, n.previousVersion, now);
      }
    })();
  }

  get(id: string): RolloutRecord | undefined {
    const row = this.db.prepare('SELECT * FROM rollouts WHERE id = ?').get(id) as RolloutRow | undefined;
    return row ? toRecord(row) : undefined;
  }

  /** Newest first; optionally only some statuses. */
  list(statuses?: readonly RolloutStatus[]): RolloutRecord[] {
    const rows = statuses
      ? (this.db
          .prepare(`SELECT * FROM rollouts WHERE status IN (${statuses.map(() => '?').join(', ')}) ORDER BY created_at DESC, id`)
          .all(...statuses) as RolloutRow[])
      : (this.db.prepare('SELECT * FROM rollouts ORDER BY created_at DESC, id').all() as RolloutRow[]);
    return rows.map(toRecord);
  }

  nodes(rolloutId: string): RolloutNodeRecord[] {
    const rows = this.db.prepare('SELECT * FROM rollout_nodes WHERE rollout_id = ? ORDER BY position').all(rolloutId) as NodeRow[];
    return rows.map((r) => ({
      position: r.position,
      hostname: r.hostname,
      ip: r.ip,
      state: r.state,
      progress: r.progress,
      error: r.error,
      attempts: r.attempts,
      previousVersion: r.previous_version,
    }));
  }

  updateRollout(id: string, patch: RolloutPatch): void {
    const keys = Object.keys(patch) as Array<keyof RolloutPatch>;
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${ROLLOUT_COLUMNS[k]} = @${k}`).join(', ');
    this.db.prepare(`UPDATE rollouts SET ${sets} WHERE id = @id`).run({ ...patch, id });
  }

  updateNode(rolloutId: string, hostname: string, patch: NodePatch): void {
    const keys = Object.keys(patch) as Array<keyof NodePatch>;
    if (keys.length === 0) return;
    const sets = keys.map((k) => `${NODE_COLUMNS[k]} = @${k}`).join(', ');
    this.db
      .prepare(`UPDATE rollout_nodes SET ${sets}, updated_at = @updatedAt WHERE rollout_id = @rolloutId AND hostname = @hostname`)
      .run({ ...patch, rolloutId, hostname, updatedAt: new Date().toISOString() });
  }

  /** Several node changes in one transaction (e.g. every pending node skipped). */
  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  view(record: RolloutRecord, nodes = this.nodes(record.id)): RolloutView {
    return {
      id: record.id,
      status: record.status,
      firmware: record.firmware,
      nodes: nodes.map((n) => ({ ip: n.ip, hostname: n.hostname, state: n.state, progress: n.progress, error: n.error })),
      startedAt: record.startedAt,
      finishedAt: record.finishedAt,
      createdAt: record.createdAt,
      target: record.target,
      batchSize: record.batchSize,
      maxFailures: record.maxFailures,
      bootTimeoutSec: record.bootTimeoutSec,
      error: record.error,
    };
  }
}

function toRecord(row: RolloutRow): RolloutRecord {
  return {
    id: row.id,
    firmwareId: row.firmware_id,
    firmware: JSON.parse(row.firmware) as FirmwareSummary,
    expectedVersion: row.expected_version,
    status: row.status,
    target: JSON.parse(row.target) as RolloutTarget,
    batchSize: row.batch_size,
    maxFailures: row.max_failures,
    bootTimeoutSec: row.boot_timeout_sec,
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}
