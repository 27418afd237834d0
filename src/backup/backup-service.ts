import { createWriteStream, existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type Database from 'better-sqlite3';
import { loadYaml } from '../config/yaml-lib.js';
import type { NodeRecord, NodeRegistry } from '../cluster/node-registry.js';
import type { ConfigEditor } from '../config/config-editor.js';
import type { ConfigManager } from '../config/config-manager.js';
import { GatewayError } from '../errors.js';
import { firmwareDir } from '../firmware/firmware-db.js';
import type { FirmwareStore } from '../firmware/firmware-store.js';
import type { RolloutService } from '../firmware/rollout-service.js';
import type { Logger } from '../logger.js';
import type { PipelineService } from '../pipeline/pipeline-service.js';
import { extractTar, tarEntries, type TarSource } from '../store/tar.js';
import { sqlite } from '../store/sqlite.js';

/** Names the archive's first file; a restore refuses anything else. */
export const BACKUP_FORMAT = 'spore-gateway-backup';
export const BACKUP_VERSION = 1;

export interface BackupManifest {
  format: typeof BACKUP_FORMAT;
  version: number;
  createdAt: string;
  gateway: string;
  gatewayVersion: string;
  parts: string[];
  configFile: string | null;
}

export interface RestoreResult {
  restored: string[];
  firmware: number;
  rollouts: number;
  nodes: number;
  applied: string[];
  needRestart: string[];
  /** Parts of the archive not applied and why (a remote-managed configuration). */
  skipped: Array<{ part: string; reason: string }>;
}

export interface BackupDeps {
  dataDir: string;
  gatewayId: string;
  gatewayVersion: string;
  firmware: FirmwareStore;
  rollouts: RolloutService;
  pipeline: PipelineService;
  registry: NodeRegistry;
  manager: ConfigManager | null;
  editor: ConfigEditor;
  logger: Logger;
  /** Scheduled backups (backup.intervalHours, 0 = off) and how many to keep. */
  schedule: { intervalHours: number; keep: number };
  /** Largest archive content a restore accepts, bytes. */
  maxRestoreBytes?: number;
}

const DEFAULT_MAX_RESTORE_BYTES = 4 * 1024 ** 3;

/**
 * Backup and restore (issue 15 §5): one tar.gz with the configuration file,
 * the firmware store (images and its database, which holds the rollout
 * history), the node registry and the pipeline state. Databases are copied
 * with SQLite's online backup API, so the archive is consistent while the
 * gateway runs. A restore validates everything first, then swaps the parts in
 * with the services that own them stopped and started again.
 */
export class BackupService {
  private timer: NodeJS.Timeout | undefined;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: BackupDeps) {}

  get backupsDir(): string {
    return join(this.deps.dataDir, 'backups');
  }

  private get tmpRoot(): string {
    return join(this.deps.dataDir, 'tmp');
  }

  start(): void {
    const { intervalHours } = this.deps.schedule;
    if (intervalHours <= 0) return;
    this.timer = setInterval(() => {
      void this.scheduled().catch((err: unknown) => this.deps.logger.error({ err }, 'scheduled backup failed'));
    }, intervalHours * 3_600_000);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One scheduled backup into `<dataDir>/backups`, keeping the newest `keep`. */
  async scheduled(): Promise<string> {
    await mkdir(this.backupsDir, { recursive: true });
    const name = `backup-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`;
    const path = join(this.backupsDir, name);
    const partial = `${path}.partial`;
    const archive = await this.create();
    try {
      await pipeline(archive.stream, createWriteStream(partial, { mode: 0o600 }));
    } finally {
      await archive.cleanup();
    }
    await rename(partial, path);
    const all = (await readdir(this.backupsDir)).filter((f) => /^backup-.*\.tar\.gz$/.test(f)).sort();
    for (const old of all.slice(0, Math.max(0, all.length - this.deps.schedule.keep))) await unlink(join(this.backupsDir, old));
    this.deps.logger.info({ file: path }, 'scheduled backup written');
    return path;
  }

  /**
   * Makes an archive: databases are copied first (online backup), then the
   * gzip stream reads them and the other files as it is consumed. `cleanup`
   * removes the copies; call it when the stream is done or abandoned.
   */
  async create(): Promise<{ stream: Readable; manifest: BackupManifest; cleanup: () => Promise<void> }> {
    const { deps } = this;
    await mkdir(this.tmpRoot, { recursive: true });
    const work = await mkdtemp(join(this.tmpRoot, 'backup-'));
    const cleanup = () => rm(work, { recursive: true, force: true });
    try {
      const sources: TarSource[] = [];
      const parts: string[] = [];
      const configFile = deps.manager?.filePath ?? null;
      if (configFile && existsSync(configFile)) {
        sources.push({ name: `config/config${extname(configFile).toLowerCase() === '.json' ? '.json' : '.yaml'}`, path: configFile });
        parts.push('config');
      }
      const firmwareDb = join(work, 'firmware.db');
      await deps.firmware.database.backup(firmwareDb);
      sources.push({ name: 'firmware/firmware.db', path: firmwareDb });
      const imagesDir = join(firmwareDir(deps.dataDir), 'images');
      for (const file of existsSync(imagesDir) ? (await readdir(imagesDir)).sort() : []) {
        if ((await stat(join(imagesDir, file))).isFile()) sources.push({ name: `firmware/images/${file}`, path: join(imagesDir, file) });
      }
      parts.push('firmware', 'rollouts');
      const nodes = deps.registry.list();
      sources.push({ name: 'registry/nodes.json', data: Buffer.from(JSON.stringify(nodes, null, 2)) });
      parts.push('registry');
      const pipelineDb = join(work, 'pipeline.db');
      if (await deps.pipeline.backupTo(pipelineDb)) {
        sources.push({ name: 'pipeline/pipeline.db', path: pipelineDb });
        parts.push('pipeline');
      }
      const manifest: BackupManifest = {
        format: BACKUP_FORMAT,
        version: BACKUP_VERSION,
        createdAt: new Date().toISOString(),
        gateway: deps.gatewayId,
        gatewayVersion: deps.gatewayVersion,
        parts,
        configFile: configFile ? basename(configFile) : null,
      };
      sources.unshift({ name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest, null, 2)) });
      const stream = Readable.from(tarEntries(sources)).pipe(createGzip());
      stream.once('close', () => void cleanup());
      return { stream, manifest, cleanup };
    } catch (err) {
      await cleanup();
      throw err;
    }
  }

  /** Validates an archive and applies it; one restore or scheduled backup at a time. */
  restore(input: AsyncIterable<Buffer>): Promise<RestoreResult> {
    const run = this.busy.then(() => this.restoreNow(input));
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async restoreNow(input: AsyncIterable<Buffer>): Promise<RestoreResult> {
    const { deps } = this;
    await mkdir(this.tmpRoot, { recursive: true });
    const work = await mkdtemp(join(this.tmpRoot, 'restore-'));
    try {
      try {
        await extractTar(Readable.from(input).pipe(createGunzip()), work, deps.maxRestoreBytes ?? DEFAULT_MAX_RESTORE_BYTES);
      } catch (err) {
        throw new GatewayError('invalid_backup', `not a backup archive: ${(err as Error).message}`);
      }
      const manifest = await readJson<BackupManifest>(join(work, 'manifest.json'));
      if (manifest?.format !== BACKUP_FORMAT) throw new GatewayError('invalid_backup', 'the archive has no spore-gateway-backup manifest.json');
      if (manifest.version > BACKUP_VERSION) throw new GatewayError('invalid_backup', `backup format ${manifest.version} is newer than this gateway reads (${BACKUP_VERSION}); upgrade the gateway`);

      // Validate every part before touching anything.
      const firmwareDb = join(work, 'firmware', 'firmware.db');
      const hasFirmware = existsSync(firmwareDb);
      if (hasFirmware) checkDatabase(firmwareDb, 'firmware/firmware.db');
      const pipelineDb = join(work, 'pipeline', 'pipeline.db');
      const hasPipeline = existsSync(pipelineDb);
      if (hasPipeline) checkDatabase(pipelineDb, 'pipeline/pipeline.db');
      const nodes = (await readJson<NodeRecord[]>(join(work, 'registry', 'nodes.json'))) ?? [];
      if (!Array.isArray(nodes)) throw new GatewayError('invalid_backup', 'registry/nodes.json is not a list of nodes');
      const configName = ['config/config.yaml', 'config/config.json'].find((n) => existsSync(join(work, n)));
      const archived = configName ? await readFile(join(work, configName), 'utf8') : null;
      // The data directory is where the backup is restored to: the restoring gateway's own stays.
      const configText = archived === null ? null : await keepOwnDataDir(archived, configName!.endsWith('.json'), deps.manager?.filePath);
      const skipped: RestoreResult['skipped'] = [];
      const info = deps.editor.info();
      let applyConfig = configText !== null;
      if (configText !== null && info.readOnly) {
        skipped.push({ part: 'config', reason: `the configuration is read-only here: ${info.readOnlyReason}` });
        applyConfig = false;
      }
      if (applyConfig) {
        const check = await deps.editor.validate({ text: configText! });
        if (!check.valid) throw Object.assign(new GatewayError('invalid_backup', `the configuration in the archive is not valid here: ${check.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`), { problems: check.problems });
      }

      const restored: string[] = [];
      if (hasFirmware) {
        // The rollout runners and the store hold the database: stop them, swap the files, start again.
        await deps.rollouts.stop();
        deps.firmware.stop();
        const dir = firmwareDir(deps.dataDir);
        try {
          for (const suffix of ['', '-wal', '-shm']) await rm(join(dir, `firmware.db${suffix}`), { force: true });
          await mkdir(dir, { recursive: true });
          await rename(firmwareDb, join(dir, 'firmware.db'));
          const images = join(work, 'firmware', 'images');
          await rm(join(dir, 'images'), { recursive: true, force: true });
          if (existsSync(images)) await rename(images, join(dir, 'images'));
        } finally {
          await deps.firmware.start();
          deps.rollouts.start();
        }
        restored.push('firmware', 'rollouts');
      }
      if (hasPipeline) {
        await deps.pipeline.stop();
        const file = deps.pipeline.storeFile;
        try {
          for (const suffix of ['', '-wal', '-shm']) await rm(`${file}${suffix}`, { force: true });
          await mkdir(join(file, '..'), { recursive: true });
          await rename(pipelineDb, file);
        } finally {
          await deps.pipeline.start();
        }
        restored.push('pipeline');
      }
      const added = deps.registry.restore(nodes);
      restored.push('registry');
      let applied: string[] = [];
      let needRestart: string[] = [];
      if (applyConfig) {
        const result = await deps.editor.putRaw(configText!);
        applied = result.applied;
        needRestart = result.needRestart;
        restored.push('config');
      }
      const result: RestoreResult = {
        restored,
        firmware: deps.firmware.list().length,
        rollouts: deps.rollouts.list(undefined).length,
        nodes: added,
        applied,
        needRestart,
        skipped,
      };
      deps.logger.info({ ...result, from: manifest.createdAt, gateway: manifest.gateway }, 'backup restored');
      return result;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}

async function keepOwnDataDir(text: string, json: boolean, ownFile: string | undefined): Promise<string> {
  const { parseDocument } = await loadYaml();
  let own: unknown;
  try {
    own = ownFile ? (parseDocument(await readFile(ownFile, 'utf8')).toJS() as Record<string, unknown> | null)?.dataDir : undefined;
  } catch {
    own = undefined;
  }
  if (json) {
    try {
      const doc = JSON.parse(text) as Record<string, unknown>;
      if (own === undefined) delete doc.dataDir;
      else doc.dataDir = own;
      return `${JSON.stringify(doc, null, 2)}\n`;
    } catch {
      return text; // validation reports it
    }
  }
  const doc = parseDocument(text);
  if (doc.errors.length) return text;
  if (own === undefined) doc.deleteIn(['dataDir']);
  else doc.setIn(['dataDir'], own);
  return doc.toString();
}

async function readJson<T>(path: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GatewayError('invalid_backup', `${basename(path)} in the archive is not valid JSON`);
  }
}

/** A database from an archive must open and pass SQLite's integrity check. */
function checkDatabase(path: string, name: string): void {
  let db: Database.Database | undefined;
  try {
    db = new (sqlite())(path, { readonly: true, fileMustExist: true });
    const result = db.pragma('integrity_check', { simple: true });
    if (result !== 'ok') throw new Error(String(result));
  } catch (err) {
    throw new GatewayError('invalid_backup', `${name} in the archive is not a sound SQLite database: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}
