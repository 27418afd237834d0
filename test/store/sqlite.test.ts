import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, STORE_CACHE_KIB } from '../../src/store/sqlite.js';
import { HistoryStore } from '../../src/store/history-store.js';
import { NodeStore } from '../../src/cluster/node-store.js';
import { silentLogger } from '../../src/logger.js';

describe('openDatabase', () => {
  it('runs each migration once, in WAL mode, and refuses a newer schema', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-sqlite-'));
    const path = join(dir, 'sub', 'x.db');
    try {
      let runs = 0;
      const migrations = [{ up: (db: import('better-sqlite3').Database) => { runs++; db.exec('CREATE TABLE t (v INTEGER)'); } }];
      const db = openDatabase(path, { migrations });
      assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
      db.prepare('INSERT INTO t VALUES (1)').run();
      db.close();
      const again = openDatabase(path, { migrations });
      assert.equal(runs, 1, 'the migration ran once');
      assert.equal((again.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n, 1);
      again.close();
      assert.throws(() => openDatabase(path, { migrations: [] }), /newer than this gateway knows/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('gives the growing write-mostly stores a 2 MB page cache, not better-sqlite3\'s 16 MB (issue 19)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-sqlite-'));
    try {
      const plain = openDatabase(join(dir, 'plain.db'), { migrations: [] });
      assert.equal(plain.pragma('cache_size', { simple: true }), -16000, 'better-sqlite3\'s build default');
      plain.close();
      const small = openDatabase(join(dir, 'small.db'), { migrations: [], cacheKiB: STORE_CACHE_KIB });
      assert.equal(small.pragma('cache_size', { simple: true }), -2000);
      small.close();
      // The stores themselves: their connections, as they run.
      const history = new HistoryStore(join(dir, 'history.db'), { rawRetentionMs: 60_000, minuteRetentionMs: 60_000, maxBytes: 1e8 });
      history.open();
      const nodes = new NodeStore(join(dir, 'nodes.db'), { flushIntervalMs: 60_000, maxRows: 10 }, silentLogger());
      nodes.start(() => []);
      // A database file that does not exist yet is created at first use (issue 16 §3).
      history.record('nodes/esp-a/freeHeap', Date.now(), 1);
      nodes.changed({ ip: '10.0.0.1', port: 4210, hostname: 'esp-a', status: 'ACTIVE', discoveredAt: 1, lastSeen: 1, labels: {}, resources: null, api: [], latency: null, version: null, uptime: null, lastPolledAt: null });
      for (const store of [history, nodes]) {
        const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
        assert.equal(db.pragma('cache_size', { simple: true }), -STORE_CACHE_KIB);
      }
      history.close();
      nodes.stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
