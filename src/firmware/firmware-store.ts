import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SqliteDatabase } from '../store/sqlite.js';
import type { SpooledFile } from '../store/upload-spool.js';
import { firmwareDir, openFirmwareDatabase } from './firmware-db.js';
import { inspectImageFile, isEsp8266Image } from './firmware-image.js';
import { FirmwareSigning } from './firmware-signing.js';

import type { FirmwareCheck, FirmwareRecord } from '../contract/firmware.js';

/** `POST /api/firmware` answer and list entries (issue 4): the contract's FirmwareRecord. */
export type { FirmwareCheck, FirmwareRecord };

/** A stored image as the gateway itself uses it. */
export interface StoredFirmware extends FirmwareRecord {
  /** The version the image's SPORE-VERSION marker declares, or null. */
  imageVersion: string | null;
  /** Where the bytes are, content-addressed by sha256. */
  path: string;
}

export interface AddFirmwareInput {
  /** The image, already spooled to disk (never held in memory). */
  file: SpooledFile;
  name: unknown;
  version: unknown;
  /** A JSON object string → string, as sent in the form field `labels`, or an object. */
  labels?: unknown;
  /** Store an image that is not an ESP8266 application image (form field `force=true`). */
  force?: boolean;
  /** Detached ed25519 signature of the file's bytes, raw or base64 (form field `signature`). */
  signature?: string | Buffer;
}

/** Rollout states that hold on to their firmware. */
const ACTIVE_ROLLOUT_STATUSES = ['pending', 'scheduled', 'running', 'paused'] as const;

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const VERSION_PATTERN = /^[A-Za-z0-9][A-Za-z0-9.+_-]{0,63}$/;
const LABEL_KEY_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$/;
const MAX_LABELS = 32;
const MAX_LABEL_VALUE = 256; // characters

interface FirmwareRow {
  id: string;
  name: string;
  version: string;
  size: number;
  sha256: string;
  labels: string;
  image_version: string | null;
  created_at: string;
  signed_by: string | null;
  compressed: number;
  image_bytes: number | null;
  esp_image: number | null;
}

/**
 * The firmware store: metadata in SQLite, images on disk named by their
 * sha256 (the same bytes uploaded twice are stored once; an image file is
 * deleted with its last record). Uploads arrive already spooled to disk, so
 * memory stays flat whatever the image size.
 */
export class FirmwareStore {
  private db: SqliteDatabase | undefined;
  /**
   * Set by start() when there is no database file and no image yet: the database is created at
   * the first use of `database` (a firmware or rollout request), so a gateway that never handles
   * firmware does not load SQLite (idle RSS, issue 16 §3). Until then nothing is stored.
   */
  private deferred = false;
  /** Store mutations run one at a time: a delete never races an upload of the same bytes. */
  private mutex: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
    private readonly signing: FirmwareSigning = new FirmwareSigning(),
  ) {}

  /** Where uploads are spooled before they are stored (same filesystem: a rename stores them). */
  get tmpDir(): string {
    return join(firmwareDir(this.dataDir), 'tmp');
  }

  get imagesDir(): string {
    return join(firmwareDir(this.dataDir), 'images');
  }

  /** The open database (shared with rollouts); a deferred one is created now. */
  get database(): SqliteDatabase {
    if (!this.db && this.deferred) {
      try {
        this.db = openFirmwareDatabase(this.dataDir);
      } catch (err) {
        throw new GatewayError('internal', `the firmware database cannot be created: ${(err as Error).message}`);
      }
      this.deferred = false;
    }
    if (!this.db) throw new Error('the firmware store is not started');
    return this.db;
  }

  /** Whether the database is open now (false while it is deferred: nothing is stored yet). */
  get opened(): boolean {
    return this.db !== undefined;
  }

  async start(): Promise<void> {
    await mkdir(this.imagesDir, { recursive: true });
    // Half-received uploads from before a crash are worthless.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
    // No database and no image: nothing to collect or fill in, the database is created at first use.
    if (!existsSync(join(firmwareDir(this.dataDir), 'firmware.db')) && (await readdir(this.imagesDir)).length === 0) {
      this.deferred = true;
      return;
    }
    this.db = openFirmwareDatabase(this.dataDir);
    await this.collectOrphanImages();
    await this.fillEspImageFlags();
  }

  stop(): void {
    this.deferred = false;
    this.db?.close();
    this.db = undefined;
  }

  list(): FirmwareRecord[] {
    if (this.deferred) return []; // no database yet: nothing stored (health asks this every poll)
    const rows = this.database.prepare('SELECT * FROM firmware ORDER BY created_at DESC, name, version').all() as FirmwareRow[];
    return rows.map((row) => toRecord(row));
  }

  get(id: unknown): FirmwareRecord {
    return toRecord(this.row(id));
  }

  /** The image with its path; 404 when unknown, 500 when its file vanished. */
  getStored(id: unknown): StoredFirmware {
    const row = this.row(id);
    const path = this.imagePath(row.sha256);
    if (!existsSync(path)) {
      this.logger.error({ id: row.id, sha256: row.sha256, path }, 'firmware image file is missing');
      throw new GatewayError('internal', `the image file of firmware ${row.id} is missing from the data directory`);
    }
    return { ...toRecord(row), imageVersion: row.image_version, path };
  }

  /**
   * The stored image a node reporting `version` runs, when the store has one:
   * its SPORE-VERSION marker (or, without one, its store version) equals it.
   * Several candidates: the one named `preferName`, then the newest.
   */
  findByNodeVersion(version: string, preferName?: string): FirmwareRecord | null {
    const rows = this.database
      .prepare('SELECT * FROM firmware WHERE coalesce(image_version, version) = ? ORDER BY created_at DESC')
      .all(version) as FirmwareRow[];
    const row = rows.find((r) => r.name === preferName) ?? rows[0];
    return row ? toRecord(row) : null;
  }

  /**
   * Stores a spooled upload. The spooled file is consumed: moved into the
   * store, or deleted when the upload is refused or its bytes are already stored.
   */
  async add(input: AddFirmwareInput): Promise<FirmwareRecord> {
    const { file } = input;
    try {
      const checked = await this.inspect(input);
      return await this.exclusive(async () => {
        this.assertNameFree(checked.name, checked.version);
        const target = this.imagePath(file.sha256);
        if (existsSync(target)) await file.discard(); // the same bytes are already stored
        else await rename(file.path, target);
        const row: FirmwareRow = {
          id: randomUUID(),
          name: checked.name,
          version: checked.version,
          size: file.size,
          sha256: file.sha256,
          labels: JSON.stringify(checked.labels),
          image_version: checked.imageVersion,
          created_at: new Date().toISOString(),
          signed_by: checked.signedBy,
          compressed: checked.compressed ? 1 : 0,
          image_bytes: checked.imageBytes,
          esp_image: checked.espImage ? 1 : 0,
        };
        this.database
          .prepare(
            `INSERT INTO firmware (id, name, version, size, sha256, labels, image_version, created_at, signed_by, compressed, image_bytes, esp_image)
             VALUES (@id, @name, @version, @size, @sha256, @labels, @image_version, @created_at, @signed_by, @compressed, @image_bytes, @esp_image)`,
          )
          .run(row);
        this.logger.info(
          { id: row.id, name: row.name, version: row.version, size: file.size, sha256: file.sha256, signedBy: row.signed_by, compressed: checked.compressed, imageBytes: row.image_bytes },
          'firmware stored',
        );
        return toRecord(row);
      });
    } catch (err) {
      await file.discard();
      throw err;
    }
  }

  /**
   * Every check `add` makes (name, version, image, signature, name and version not taken),
   * and what would be stored — but nothing is: the spooled file is deleted (issue 12 §17, dry runs).
   */
  async check(input: AddFirmwareInput): Promise<FirmwareCheck> {
    try {
      const checked = await this.inspect(input);
      this.assertNameFree(checked.name, checked.version);
      return checked;
    } finally {
      await input.file.discard();
    }
  }

  private async inspect(input: AddFirmwareInput): Promise<FirmwareCheck> {
    const { file } = input;
    const name = validateName(input.name, 'name', NAME_PATTERN);
    const version = validateName(input.version, 'version', VERSION_PATTERN);
    const labels = parseLabels(input.labels);
    if (file.size === 0) throw new GatewayError('invalid_firmware', 'the image is empty (0 bytes)');
    const facts = await inspectImageFile(file.path);
    if (facts.inflateError) {
      throw new GatewayError('invalid_firmware', `the image starts with the gzip magic (a .bin.gz) but ${facts.inflateError}`);
    }
    if (!input.force && !isEsp8266Image(facts.firstByte)) {
      throw new GatewayError('invalid_firmware', notEspImageReason(facts), { override: 'force' });
    }
    // ed25519 signs the whole message (no streaming API): the file is read once, bounded by the upload limit.
    const hasSignature = input.signature !== undefined && !(typeof input.signature === 'string' && input.signature.trim() === '');
    const verdict = this.signing.verifyUpload(hasSignature ? await readFile(file.path) : null, input.signature);
    if (!input.force && facts.markerVersion !== null && facts.markerVersion !== version) {
      throw new GatewayError(
        'invalid_firmware',
        `the image declares version "${facts.markerVersion}" (SPORE-VERSION marker) but the upload says "${version}"; give version ${facts.markerVersion}`,
        { override: 'force' },
      );
    }
    return {
      dryRun: true,
      stored: false,
      name,
      version,
      size: file.size,
      sha256: file.sha256,
      labels,
      signature: verdict.keyId ? 'verified' : 'unsigned',
      signedBy: verdict.keyId,
      compressed: facts.compressed,
      imageBytes: facts.imageBytes,
      espImage: isEsp8266Image(facts.firstByte),
      imageVersion: facts.markerVersion,
    };
  }

  private assertNameFree(name: string, version: string): void {
    const duplicate = this.database.prepare('SELECT id FROM firmware WHERE name = ? AND version = ?').get(name, version) as { id: string } | undefined;
    if (duplicate) {
      throw new GatewayError('conflict', `firmware ${name} ${version} is already stored (id ${duplicate.id}); delete it first or use another version`);
    }
  }

  /** Deletes a firmware record (409 while a rollout uses it) and its image when no other record shares the bytes. */
  async remove(id: unknown): Promise<FirmwareRecord> {
    return this.exclusive(async () => {
      const row = this.row(id);
      const users = this.activeRolloutsUsing(row.id);
      if (users.length > 0) {
        throw new GatewayError('conflict', `firmware ${row.id} is used by rollout ${users.join(', ')}; cancel it or wait until it ends`);
      }
      const db = this.database;
      const sharers = db.transaction(() => {
        db.prepare('DELETE FROM firmware WHERE id = ?').run(row.id);
        return (db.prepare('SELECT count(*) AS n FROM firmware WHERE sha256 = ?').get(row.sha256) as { n: number }).n;
      })();
      if (sharers === 0) await rm(this.imagePath(row.sha256), { force: true });
      this.logger.info({ id: row.id, name: row.name, version: row.version }, 'firmware deleted');
      return toRecord(row);
    });
  }

  /** Ids of active rollouts (pending, scheduled, running, paused) that use this firmware, also for some of their nodes (rollbacks). */
  activeRolloutsUsing(firmwareId: string): string[] {
    const placeholders = ACTIVE_ROLLOUT_STATUSES.map(() => '?').join(', ');
    const rows = this.database
      .prepare(
        `SELECT id FROM rollouts WHERE status IN (${placeholders})
           AND (firmware_id = ? OR EXISTS (SELECT 1 FROM rollout_nodes n WHERE n.rollout_id = rollouts.id AND n.firmware_id = ?))`,
      )
      .all(...ACTIVE_ROLLOUT_STATUSES, firmwareId, firmwareId) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  private imagePath(sha256: string): string {
    return join(this.imagesDir, `${sha256}.bin`);
  }

  private row(id: unknown): FirmwareRow {
    if (typeof id !== 'string' || !/^[A-Za-z0-9-]{1,64}$/.test(id)) {
      throw new GatewayError('firmware_not_found', `no firmware has id "${String(id).slice(0, 64)}"; see GET /api/firmware`);
    }
    const row = this.database.prepare('SELECT * FROM firmware WHERE id = ?').get(id) as FirmwareRow | undefined;
    if (!row) throw new GatewayError('firmware_not_found', `no firmware has id ${id}; see GET /api/firmware`);
    return row;
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(task, task);
    this.mutex = run.catch(() => undefined);
    return run;
  }

  /** Records stored before the esp_image column existed: look at their first byte once. */
  private async fillEspImageFlags(): Promise<void> {
    const rows = this.database.prepare('SELECT id, sha256 FROM firmware WHERE esp_image IS NULL').all() as Array<{ id: string; sha256: string }>;
    for (const r of rows) {
      const path = this.imagePath(r.sha256);
      if (!existsSync(path)) continue;
      const facts = await inspectImageFile(path);
      this.database.prepare('UPDATE firmware SET esp_image = ? WHERE id = ?').run(isEsp8266Image(facts.firstByte) ? 1 : 0, r.id);
    }
  }

  /** Image files no record points to (a crash between storing and recording) are deleted at start. */
  private async collectOrphanImages(): Promise<void> {
    const known = new Set((this.database.prepare('SELECT DISTINCT sha256 FROM firmware').all() as Array<{ sha256: string }>).map((r) => `${r.sha256}.bin`));
    for (const file of await readdir(this.imagesDir)) {
      if (known.has(file)) continue;
      await rm(join(this.imagesDir, file), { force: true });
      this.logger.warn({ file }, 'deleted an image file no firmware record uses');
    }
  }
}

/** Why an image is not an ESP8266 application image, in words that name no adapter (each adds its own way to force it). */
function notEspImageReason(facts: { firstByte: number | undefined; compressed: boolean }): string {
  const first = facts.firstByte === undefined ? 'none' : `0x${facts.firstByte.toString(16).padStart(2, '0').toUpperCase()}`;
  return facts.compressed
    ? `this .bin.gz does not inflate to an ESP8266 application image (first byte inside ${first}, expected 0xE9): a node would reject it`
    : `this is not an ESP8266 application image (first byte ${first}, expected 0xE9): a node would reject it`;
}

function toRecord(row: FirmwareRow): FirmwareRecord {
  return {
    id: row.id,
    name: row.name,
    version: row.version,
    size: row.size,
    sha256: row.sha256,
    labels: JSON.parse(row.labels) as Record<string, string>,
    createdAt: row.created_at,
    signature: row.signed_by === null ? 'unsigned' : 'verified',
    signedBy: row.signed_by,
    compressed: row.compressed === 1,
    imageBytes: row.image_bytes ?? row.size,
    espImage: row.esp_image !== 0,
  };
}

/**
 * Names and versions never reach the filesystem (images are named by sha256),
 * but they show up in file names of downloads and in CLIs: path tricks
 * (`../x`, `a/b`, `\`, NUL, control characters) are refused outright.
 */
function validateName(value: unknown, field: 'name' | 'version', pattern: RegExp): string {
  const accepted =
    field === 'name'
      ? '1-64 characters of letters, digits, ".", "_", "-", starting with a letter or digit, without ".."'
      : '1-64 characters of letters, digits, ".", "+", "_", "-", starting with a letter or digit, without ".."';
  if (value === undefined || value === null || value === '') {
    throw new GatewayError('invalid_name', `the form field "${field}" is missing; send ${accepted}`);
  }
  if (typeof value !== 'string' || !pattern.test(value) || value.includes('..')) {
    const shown = JSON.stringify(String(value).slice(0, 64));
    throw new GatewayError('invalid_name', `${field} ${shown} is refused: use ${accepted}`);
  }
  return value;
}

function parseLabels(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null || raw === '') return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new GatewayError('bad_request', 'the form field "labels" must be a JSON object of strings, e.g. {"board":"esp01"}');
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GatewayError('bad_request', 'the form field "labels" must be a JSON object of strings, e.g. {"board":"esp01"}');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_LABELS) throw new GatewayError('bad_request', `"labels" may hold at most ${MAX_LABELS} entries`);
  const labels: Record<string, string> = {};
  for (const [key, v] of entries) {
    if (!LABEL_KEY_PATTERN.test(key)) {
      throw new GatewayError('bad_request', `label key ${JSON.stringify(key.slice(0, 64))} is refused: use 1-64 of letters, digits, ".", "_", "/", "-"`);
    }
    if (typeof v !== 'string' || v.length > MAX_LABEL_VALUE || /[\0-\x1f]/.test(v)) {
      throw new GatewayError('bad_request', `label "${key}" must be a string of at most ${MAX_LABEL_VALUE} characters without control characters`);
    }
    labels[key] = v;
  }
  return labels;
}
