import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../../src/store/sqlite.js';

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
});
