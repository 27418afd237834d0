import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { makeFirmwareImage } from '../../emulator/index.js';
import { NodeRegistry } from '../../src/cluster/node-registry.js';
import { NodeStore, nodeStorePath } from '../../src/cluster/node-store.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { GatewayEvents } from '../../src/events/gateway-events.js';
import { FirmwareStore } from '../../src/firmware/firmware-store.js';
import { silentLogger } from '../../src/logger.js';
import { HistoryStore } from '../../src/store/history-store.js';
import { spoolToDisk } from '../../src/store/upload-spool.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import { withTempDir } from '../helpers/temp-dir.js';

/**
 * Issue 16 §3 (idle RSS): a store whose database file does not exist yet creates it at its
 * first real use, so a fresh gateway with nothing to store never loads SQLite (the first
 * better-sqlite3 database costs ~2.2 MiB RSS: 68.96 → 66.77 MiB idle). A file that exists is opened at start as before.
 */
const THRESHOLDS = { activeThresholdMs: 10_000, deadThresholdMs: 60_000, removeDeadAfterMs: 300_000, maxNodes: 100 };

const withDir = <T>(fn: (dir: string) => Promise<T> | T): Promise<T> => withTempDir('spore-deferred-db', fn);

/** Every file under `dir`, relative, sorted. */
async function files(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name).slice(dir.length + 1))
    .sort();
}

describe('databases are created at first use, not at start (issue 16 §3)', () => {
  it('node store: no file until the first node; then flushed, and read at the next start', () =>
    withDir((dataDir) => {
      const path = nodeStorePath(dataDir);
      const registry = () => {
        const store = new NodeStore(path, { flushIntervalMs: 60_000, maxRows: 100 }, silentLogger());
        return { store, registry: new NodeRegistry(new EventBus<GatewayEvents>(silentLogger()), THRESHOLDS, silentLogger(), Date.now, store) };
      };
      const first = registry();
      assert.deepEqual(first.registry.start(), { loaded: 0, removed: 0 });
      assert.equal(existsSync(path), false, 'no database file before the first node');
      assert.equal(first.store.isOpen, true, 'still persisted: the file comes with the first node');
      first.registry.observe('10.2.0.1', 'esp-a', 4210);
      assert.equal(existsSync(path), true, 'the first node creates the database');
      first.registry.stop();
      assert.ok(first.store.stats.flushes >= 1, 'the node was written');

      const second = registry();
      assert.deepEqual(second.registry.start(), { loaded: 1, removed: 0 });
      assert.deepEqual(second.registry.list().map((n) => [n.hostname, n.ip, n.port]), [['esp-a', '10.2.0.1', 4210]]);
      second.registry.stop();
    }));

  it('history: no file until the first sample; empty answers meanwhile; stats and samples create it', () =>
    withDir((dir) => {
      const options = { rawRetentionMs: 3_600_000, minuteRetentionMs: 86_400_000, maxBytes: 1e8 };
      const path = join(dir, 'history', 'history.db');
      const fresh = new HistoryStore(path, options);
      fresh.open();
      assert.equal(existsSync(path), false);
      assert.equal(fresh.isOpen, true);
      assert.deepEqual(fresh.list(), []);
      assert.deepEqual(fresh.query({ series: ['nodes/esp-a/freeHeap'], from: 0, to: Date.now() })[0]!.t, []);
      fresh.flush();
      assert.equal(fresh.prune(), 0);
      assert.equal(existsSync(path), false, 'reads, flushes and prunes of nothing create no file');
      const t = Date.now();
      fresh.record('nodes/esp-a/freeHeap', t, 31_000, 'bytes');
      assert.equal(existsSync(path), true, 'the first sample creates the database');
      fresh.close();

      const again = new HistoryStore(path, options);
      again.open();
      assert.deepEqual(again.list(), [{ name: 'nodes/esp-a/freeHeap', unit: 'bytes' }]);
      assert.deepEqual(again.query({ series: ['nodes/esp-a/freeHeap'], from: t - 1000, to: t + 1000 })[0]!.avg, [31_000]);
      again.close();

      // stats() reads the file's size: it answers as a started store always did.
      const other = new HistoryStore(join(dir, 'other', 'history.db'), options);
      other.open();
      const stats = other.stats();
      assert.equal(stats.series, 0);
      assert.ok(stats.bytes > 0, 'the bytes of an empty database, as before');
      other.close();
    }));

  it('history: a database that cannot be created at the first sample is told once; recording never throws', () =>
    withDir((dir) => {
      const errors: Error[] = [];
      const parent = join(dir, 'history');
      const store = new HistoryStore(join(parent, 'history.db'), { rawRetentionMs: 60_000, minuteRetentionMs: 60_000, maxBytes: 1e8, onOpenError: (e) => errors.push(e) });
      store.open();
      rmSync(parent, { recursive: true });
      writeFileSync(parent, 'not a directory');
      store.record('nodes/esp-a/latency', Date.now(), 5);
      store.record('nodes/esp-a/latency', Date.now(), 6);
      assert.equal(errors.length, 1, 'told once');
      assert.equal(store.stats().series, 0);
      store.close();
    }));

  it('firmware: no file until the first image; lists answer empty meanwhile; an existing file is opened at start', () =>
    withDir(async (dir) => {
      const db = join(dir, 'firmware', 'firmware.db');
      const store = new FirmwareStore(dir, silentLogger());
      await store.start();
      assert.equal(store.opened, false);
      assert.deepEqual(store.list(), []);
      assert.equal(existsSync(db), false, 'listing nothing creates no file');
      const file = await spoolToDisk(Readable.from([makeFirmwareImage({ version: '8.0.0', size: 4096 })]), store.tmpDir, 1 << 20);
      const record = await store.add({ file, name: 'first', version: '8.0.0' });
      assert.equal(existsSync(db), true, 'the first image creates the database');
      store.stop();

      const again = new FirmwareStore(dir, silentLogger());
      await again.start();
      assert.equal(again.opened, true, 'an existing database is opened at start (orphan images are collected there)');
      assert.deepEqual(again.list(), [record]);
      again.stop();
    }));

  it('a fresh gateway answers health, firmware and rollouts without loading SQLite or creating a file', async () => {
    const gw = await startGatewayProcess({ fromDist: true, args: ['-log-level', 'warn'] });
    try {
      const health = (await (await fetch(`${gw.url}/api/health`)).json()) as { components: Record<string, { status: string; images?: number; activeRollouts?: number }> };
      assert.deepEqual(health.components.firmware, { status: 'up', images: 0, activeRollouts: 0 });
      assert.deepEqual(await (await fetch(`${gw.url}/api/firmware`)).json(), []);
      assert.deepEqual(await (await fetch(`${gw.url}/api/rollouts`)).json(), []);
      const bad = await fetch(`${gw.url}/api/rollouts?status=nope`);
      assert.equal(bad.status, 400, 'the status filter is still checked');
      const maps = readFileSync(`/proc/${gw.child.pid}/maps`, 'utf8');
      assert.equal(maps.includes('better_sqlite3'), false, 'the SQLite addon is not loaded');
      assert.deepEqual((await files(gw.dataDir)).filter((f) => f.endsWith('.db')), []);
      // The history's stats read the file's size: that answer creates it, and is what it always was.
      const series = (await (await fetch(`${gw.url}/api/history/series`)).json()) as { series: unknown[]; stats: { bytes: number } };
      assert.deepEqual(series.series, []);
      assert.ok(series.stats.bytes > 0);
    } finally {
      await gw.stop();
    }
  });
});
