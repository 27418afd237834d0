import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HistoryStore } from '../../src/store/history-store.js';

describe('HistoryStore: a flush of many series (multi-row statements, issue 19)', () => {
  it('every series of a 1,000-series flush reads back, raw and minute, and minutes merge across flushes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'spore-i19-hist-'));
    const t0 = Date.UTC(2026, 0, 1, 10, 0, 0); // ms, start of a minute
    let now = t0;
    const store = new HistoryStore(join(dir, 'h.db'), { rawRetentionMs: 86_400_000, minuteRetentionMs: 30 * 86_400_000, maxBytes: 1e9, clock: () => now });
    try {
      store.open();
      const N = 1000; // not a multiple of the rows per statement: the remainder goes one by one
      for (let i = 0; i < N; i++) store.record(`nodes/esp-${i}/freeHeap`, t0 + 1000, i, 'bytes');
      store.flush();
      for (let i = 0; i < N; i++) store.record(`nodes/esp-${i}/freeHeap`, t0 + 11_000, i + 10, 'bytes');
      store.flush();
      now = t0 + 120_000;
      assert.equal(store.stats().rawChunks, 2 * N);
      assert.equal(store.stats().minuteRows, N, 'one minute row per series: the second flush merged into it');
      for (const i of [0, 63, 64, 500, N - 1]) {
        const [raw] = store.query({ series: [`nodes/esp-${i}/freeHeap`], from: t0, to: t0 + 60_000 });
        assert.deepEqual(raw!.t, [t0 + 1000, t0 + 11_000], `series ${i}: raw times`);
        assert.deepEqual(raw!.avg, [i, i + 10], `series ${i}: raw values`);
        const [minute] = store.query({ series: [`nodes/esp-${i}/freeHeap`], from: t0, to: t0 + 60_000, stepMs: 60_000 });
        assert.equal(minute!.resolution, '1m');
        assert.deepEqual({ t: minute!.t, avg: minute!.avg, min: minute!.min, max: minute!.max }, { t: [t0], avg: [i + 5], min: [i], max: [i + 10] }, `series ${i}: minute aggregate`);
      }
    } finally {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
