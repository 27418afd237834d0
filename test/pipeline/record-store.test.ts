import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RecordStore, type DurableQueueSpec } from '../../src/pipeline/record-store.js';
import { silentLogger } from '../../src/logger.js';

async function withStore(fn: (path: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'spore-store-'));
  try {
    await fn(join(dir, 'pipeline.db'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const queue = (over: Partial<DurableQueueSpec> = {}): DurableQueueSpec => ({ id: 'cloud', maxMessages: 1000, maxAgeMs: 0, topicFor: (r) => `t/${r.device}`, ...over });
const reading = (device: string, v: number, tsMs = 1_700_000_000_000) => ({ device, connector: 'c', tsMs, values: { v } });

describe('RecordStore (seq + durable buffer)', () => {
  it('continues every device\'s seq after a reopen, with nothing skipped or reused', () =>
    withStore((path) => {
      let store = new RecordStore(path, { synchronous: 'FULL', logger: silentLogger() });
      store.open([queue()]);
      const first = store.commit('gw', [reading('a', 1), reading('b', 1), reading('a', 2)]);
      assert.deepEqual(first.map((c) => [c.record.device, c.record.seq]), [['a', 1], ['b', 1], ['a', 2]]);
      assert.equal(first[0]!.record.ts, '2023-11-14T22:13:20.000Z');
      store.close();
      store = new RecordStore(path, { synchronous: 'FULL', logger: silentLogger() });
      store.open([queue()]);
      assert.deepEqual(store.lastRecord('a'), { seq: 2, ts: '2023-11-14T22:13:20.000Z' });
      const next = store.commit('gw', [reading('a', 3), reading('b', 2)]);
      assert.deepEqual(next.map((c) => [c.record.device, c.record.seq]), [['a', 3], ['b', 2]]);
      assert.equal(store.stats('cloud').queued, 5, 'the undelivered records survived the reopen');
      assert.deepEqual(store.next('cloud', 0, 10).map((r) => JSON.parse(r.payload).seq), [1, 1, 2, 3, 2]);
      store.close();
    }));

  it('drops the oldest beyond maxMessages, never those in flight, and counts them', () =>
    withStore((path) => {
      const store = new RecordStore(path, { synchronous: 'FULL', logger: silentLogger() });
      store.open([queue({ maxMessages: 3 })]);
      store.commit('gw', [1, 2].map((v) => reading('a', v)));
      const inFlight = store.next('cloud', 0, 1)[0]!;
      store.setDispatched('cloud', inFlight.id);
      store.commit('gw', [3, 4, 5].map((v) => reading('a', v)));
      // seq 1 is in flight (the broker may have it); seq 2 and 3 were the oldest others.
      assert.deepEqual(store.next('cloud', 0, 10).map((r) => JSON.parse(r.payload).seq), [1, 4, 5]);
      assert.deepEqual({ ...store.stats('cloud'), oldestQueuedAgeMs: 0 }, { queued: 3, sent: 0, dropped: 2, oldestQueuedAgeMs: 0 });
      store.acknowledge('cloud', inFlight.id);
      store.flushAcks();
      assert.equal(store.stats('cloud').queued, 2);
      assert.equal(store.stats('cloud').sent, 1);
      store.close();
    }));

  it('drops records older than maxAgeHours and reports the oldest queued age', () =>
    withStore((path) => {
      let now = 1_000_000;
      const store = new RecordStore(path, { synchronous: 'NORMAL', logger: silentLogger(), clock: () => now });
      store.open([queue({ maxAgeMs: 60_000 })]);
      store.commit('gw', [reading('a', 1)]);
      now += 30_000;
      store.commit('gw', [reading('a', 2)]);
      assert.equal(store.stats('cloud').oldestQueuedAgeMs, 30_000);
      now += 40_000; // the first is 70 s old, the second 40 s
      assert.equal(store.pruneExpired(), 1);
      assert.deepEqual(store.next('cloud', 0, 10).map((r) => JSON.parse(r.payload).seq), [2]);
      assert.deepEqual(store.stats('cloud'), { queued: 1, sent: 0, dropped: 1, oldestQueuedAgeMs: 40_000 });
      store.close();
    }));

  it('keeps the dropped and sent counters across a reopen', () =>
    withStore((path) => {
      let store = new RecordStore(path, { synchronous: 'FULL', logger: silentLogger() });
      store.open([queue({ maxMessages: 1 })]);
      store.commit('gw', [reading('a', 1), reading('a', 2)]);
      store.close();
      store = new RecordStore(path, { synchronous: 'FULL', logger: silentLogger() });
      store.open([queue({ maxMessages: 1 })]);
      assert.equal(store.stats('cloud').dropped, 1);
      assert.equal(store.stats('cloud').queued, 1);
      store.close();
    }));
});
