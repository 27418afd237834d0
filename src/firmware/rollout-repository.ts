import type { SqliteDatabase } from '../store/sqlite.js';
import {
  DEFAULT_ROLLOUT_OPTIONS,
  type FirmwareSummary,
  type RolloutNodeState,
  type RolloutOptions,
  type RolloutStatus,
  type RolloutTarget,
  type RolloutView,
} from './rollout-types.js';

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
  options: RolloutOptions;
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
  /** This node's own image (a rollback), or null for the rollout's. */
  firmwareId: string | null;
  /** With firmwareId: the version the node must come back on. */
  expectedVersion: string | null;
  /** The stored image the node ran before this rollout updated it, when known (for rollbacks). */
  previousFirmwareId: string | null;
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
  options: string;
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
  firmware_id: string | null;
  expected_version: string | null;
  previous_firmware_id: string | null;
}

export type NodePatch = Partial<Pick<RolloutNodeRecord, 'ip' | 'state' | 'progress' | 'error' | 'attempts' | 'previousVersion' | 'previousFirmwareId'>>;
export type RolloutPatch = Partial<Pick<RolloutRecord, 'status' | 'error' | 'startedAt' | 'finishedAt'>> & { options?: Partial<RolloutOptions> };

const NODE_COLUMNS: Record<keyof NodePatch, string> = {
  ip: 'ip',
  state: 'state',
  progress: 'progress',
  error: 'error',
  attempts: 'attempts',
  previousVersion: 'previous_version',
  previousFirmwareId: 'previous_firmware_id',
};
const ROLLOUT_COLUMNS: Record<Exclude<keyof RolloutPatch, 'options'>, string> = {
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
      `INSERT INTO rollouts (id, firmware_id, firmware, expected_version, status, target, batch_size, max_failures, boot_timeout_sec, error, created_at, started_at, finished_at, options)
       VALUES (@id, @firmware_id, @firmware, @expected_version, @status, @target, @batch_size, @max_failures, @boot_timeout_sec, @error, @created_at, @started_at, @finished_at, @options)`,
    );
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
        options: JSON.stringify(rollout.options),
      });
      this.addNodes(rollout.id, nodes);
    })();
  }

  /** Adds nodes to a rollout (planning, late joiners of a dynamic rollout). */
  addNodes(rolloutId: string, nodes: RolloutNodeRecord[]): void {
    const insertNode = this.db.prepare(
      `INSERT INTO rollout_nodes (rollout_id, position, hostname, ip, state, progress, error, attempts, previous_version, updated_at, firmware_id, expected_version, previous_firmware_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const n of nodes) {
        insertNode.run(rolloutId, n.position, n.hostname, n.ip, n.state, n.progress, n.error, n.attempts, n.previousVersion, now, n.firmwareId, n.expectedVersion, n.previousFirmwareId);
      }
    })();
  }

  /**
   * The stored image a node ran before, from the rollouts' own records: the
   * latest rollout that updated it to `version` (null when none did).
   */
  firmwareThatInstalled(hostname: string, version: string): string | null {
    const row = this.db
      .prepare(
        `SELECT coalesce(n.firmware_id, r.firmware_id) AS fw FROM rollout_nodes n JOIN rollouts r ON r.id = n.rollout_id
          WHERE n.hostname = ? AND n.state = 'succeeded' AND coalesce(n.expected_version, r.expected_version) = ?
          ORDER BY n.updated_at DESC LIMIT 1`,
      )
      .get(hostname, version) as { fw: string } | undefined;
    return row?.fw ?? null;
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
      firmwareId: r.firmware_id,
      expectedVersion: r.expected_version,
      previousFirmwareId: r.previous_firmware_id,
    }));
  }

  updateRollout(id: string, patch: RolloutPatch): void {
    const { options, ...columns } = patch;
    const keys = Object.keys(columns) as Array<Exclude<keyof RolloutPatch, 'options'>>;
    const sets = keys.map((k) => `${ROLLOUT_COLUMNS[k]} = @${k}`);
    const params: Record<string, unknown> = { ...columns, id };
    if (options) {
      // Merged with what is stored, in the same statement.
      const current = this.get(id)?.options ?? DEFAULT_ROLLOUT_OPTIONS;
      sets.push('options = @options');
      params.options = JSON.stringify({ ...current, ...options });
    }
    if (sets.length === 0) return;
    this.db.prepare(`UPDATE rollouts SET ${sets.join(', ')} WHERE id = @id`).run(params);
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
      startAt: record.options.startAt,
      window: record.options.window,
      dynamic: record.options.dynamic,
      dynamicUntil: record.options.dynamicUntil,
      autoRollback: record.options.autoRollback,
      kind: record.options.kind,
      parentId: record.options.parentId,
      rollbackId: record.options.rollbackId,
      waitingFor: record.finishedAt === null ? record.options.waitingFor : null,
      nextRunAt: record.finishedAt === null ? record.options.nextRunAt : null,
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
    options: { ...DEFAULT_ROLLOUT_OPTIONS, ...(JSON.parse(row.options || '{}') as Partial<RolloutOptions>) },
  };
}
