/**
 * Benchmark (issue 15 §4): the cost of keeping history for 1,000 channels at 1 Hz —
 * CPU (share of one core), disk bytes per day, RSS — and the query time of 30 days of one
 * series. The store is driven with simulated time as fast as it goes (SIM_SECONDS of
 * 1,000 samples each, a flush every FLUSH_S as `history.flushIntervalMs` does), so the
 * CPU per simulated second is the CPU the gateway spends per real second at 1 Hz.
 * The peer, measured in the same run on the same data: the obvious design, one SQLite
 * row (series, t, value) per sample in a WITHOUT ROWID table, same transactions.
 * Run: node --import tsx bench/history-write.ts
 */
import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HistoryStore } from '../src/store/history-store.js';
import type { BenchReport } from './lib/report.js';

const CHANNELS = 1000;
const SIM_SECONDS = 600; // simulated seconds of 1 Hz samples per channel
const FLUSH_S = 5; // simulated seconds between flushes (history.flushIntervalMs default 5000)
const QUERY_RUNS = 20;
const DAY = 86_400_000;

function fileBytes(path: string): number {
  return ['', '-wal'].reduce((n, s) => n + (existsSync(path + s) ? statSync(path + s).size : 0), 0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function cpuMs(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1000;
}

async function measure(): Promise<any> {
  const dir = mkdtempSync(join(tmpdir(), 'spore-bench-history-'));
  try {
    const t0 = Date.UTC(2026, 0, 1);
    let now = t0;
    const names = Array.from({ length: CHANNELS }, (_, i) => `devices/d${Math.floor(i / 10)}/c${i % 10}`);

    // --- the history store ---
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const store = new HistoryStore(join(dir, 'history.db'), { rawRetentionMs: DAY, minuteRetentionMs: 30 * DAY, maxBytes: 64 * 1024 ** 3, clock: () => now });
    store.open();
    let cpuStart = process.cpuUsage();
    let wallStart = performance.now();
    for (let s = 0; s < SIM_SECONDS; s++) {
      now = t0 + s * 1000;
      for (let c = 0; c < CHANNELS; c++) store.record(names[c]!, now, 20 + Math.sin(s / 60 + c) * 5);
      if ((s + 1) % FLUSH_S === 0) store.flush();
    }
    store.flush();
    const storeCpu = cpuMs(cpuStart);
    const storeWall = performance.now() - wallStart;
    const rssStore = process.memoryUsage().rss - rssBefore;
    store.close();
    const storeBytes = fileBytes(join(dir, 'history.db'));

    // --- the peer: one row per sample ---
    const peer = new Database(join(dir, 'peer.db'));
    peer.pragma('journal_mode = WAL');
    peer.pragma('synchronous = NORMAL');
    peer.exec('CREATE TABLE sample (series INTEGER NOT NULL, t INTEGER NOT NULL, v REAL NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID');
    const insert = peer.prepare('INSERT INTO sample (series, t, v) VALUES (?, ?, ?)');
    const buffered: Array<[number, number, number]> = [];
    const flushPeer = peer.transaction(() => {
      for (const row of buffered) insert.run(row[0], row[1], row[2]);
      buffered.length = 0;
    });
    cpuStart = process.cpuUsage();
    wallStart = performance.now();
    for (let s = 0; s < SIM_SECONDS; s++) {
      const t = t0 + s * 1000;
      for (let c = 0; c < CHANNELS; c++) buffered.push([c, t, 20 + Math.sin(s / 60 + c) * 5]);
      if ((s + 1) % FLUSH_S === 0) flushPeer();
    }
    flushPeer();
    const peerCpu = cpuMs(cpuStart);
    const peerWall = performance.now() - wallStart;
    peer.pragma('wal_checkpoint(TRUNCATE)');
    const peerBytes = fileBytes(join(dir, 'peer.db'));
    peer.close();

    // --- 30 days of one series: minute rows for 30 days + raw for the last day ---
    const qStore = new HistoryStore(join(dir, 'query.db'), { rawRetentionMs: DAY, minuteRetentionMs: 30 * DAY, maxBytes: 64 * 1024 ** 3, clock: () => now });
    now = t0 + 30 * DAY;
    qStore.open();
    const series = 'devices/meter/power';
    for (let t = t0; t < now; t += 1000) {
      // Raw only for the last day (older raw would be pruned); minute rows come from every sample.
      qStore.record(series, t, 1000 + Math.sin(t / 3_600_000) * 200);
      if ((t - t0) % 600_000 === 0) qStore.flush();
    }
    qStore.flush();
    qStore.prune();
    const times: number[] = [];
    let points = 0;
    for (let i = 0; i < QUERY_RUNS; i++) {
      const start = performance.now();
      const [r] = qStore.query({ series: [series], from: now - 30 * DAY, to: now });
      times.push(performance.now() - start);
      points = r!.t.length;
    }
    qStore.close();
    // The peer's query over 30 days of raw rows (what a store without minute aggregates reads).
    const qPeer = new Database(join(dir, 'query-peer.db'));
    qPeer.pragma('journal_mode = WAL');
    qPeer.exec('CREATE TABLE sample (series INTEGER NOT NULL, t INTEGER NOT NULL, v REAL NOT NULL, PRIMARY KEY (series, t)) WITHOUT ROWID');
    const ins = qPeer.prepare('INSERT INTO sample VALUES (1, ?, ?)');
    const fill = qPeer.transaction((from: number, to: number) => {
      for (let t = from; t < to; t += 1000) ins.run(t, 1000 + Math.sin(t / 3_600_000) * 200);
    });
    for (let d = 0; d < 30; d++) fill(t0 + d * DAY, t0 + (d + 1) * DAY);
    const stepMs = Math.ceil((30 * DAY) / 5000 / 60_000) * 60_000;
    const peerQuery = qPeer.prepare('SELECT CAST((t - ?) / ? AS INTEGER) AS b, AVG(v), MIN(v), MAX(v) FROM sample WHERE series = 1 AND t >= ? AND t <= ? GROUP BY b ORDER BY b');
    const peerTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const start = performance.now();
      peerQuery.all(t0, stepMs, t0, now);
      peerTimes.push(performance.now() - start);
    }
    qPeer.close();

    const perDay = (bytes: number) => Math.round((bytes / SIM_SECONDS) * 86_400);
    const summary = {
      channels: CHANNELS,
      simulatedSeconds: SIM_SECONDS,
      history: {
        cpuPercentOfOneCore: +((storeCpu / (SIM_SECONDS * 1000)) * 100).toFixed(2),
        cpuMsPerSecondOfSamples: +(storeCpu / SIM_SECONDS).toFixed(2),
        diskBytesPerDay: perDay(storeBytes),
        diskGiBPerDay: +(perDay(storeBytes) / 1024 ** 3).toFixed(3),
        rssGrowthMiB: +(rssStore / 1024 ** 2).toFixed(1),
        wallMs: Math.round(storeWall),
      },
      peerRowPerSample: {
        cpuPercentOfOneCore: +((peerCpu / (SIM_SECONDS * 1000)) * 100).toFixed(2),
        diskBytesPerDay: perDay(peerBytes),
        diskGiBPerDay: +(perDay(peerBytes) / 1024 ** 3).toFixed(3),
        wallMs: Math.round(peerWall),
      },
      ratios: { cpuHistoryOverPeer: +(storeCpu / peerCpu).toFixed(2), diskHistoryOverPeer: +(storeBytes / peerBytes).toFixed(2) },
      query30Days: {
        points,
        medianMs: +median(times).toFixed(2),
        peerRawScanMedianMs: +median(peerTimes).toFixed(1),
        ratioHistoryOverPeer: +(median(times) / median(peerTimes)).toFixed(4),
      },
    };
    return summary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchReport> {
  const r = await measure();
  return {
    title: 'History: 1,000 channels at 1 Hz, and 30 days of one series',
    method: `The history store (\`src/store/history-store.ts\`) is driven in the bench process with simulated time as fast as it goes — ${SIM_SECONDS} s of ${CHANNELS.toLocaleString('en-US')} samples each, flushed every ${FLUSH_S} s as \`history.flushIntervalMs\` does — so its CPU per simulated second is what the gateway spends per real second at 1 Hz. The peer, in the same run on the same data: one SQLite row \`(series, t, value)\` per sample in a WITHOUT ROWID table, same transactions. The 30-day query reads one series (minute rows for 30 days, raw for the last day), ${QUERY_RUNS} runs, against the peer's GROUP BY over 30 days of raw rows. CPU times are the process's own; wall times are inflated by the shared machine.`,
    params: { channels: CHANNELS, simulatedSeconds: SIM_SECONDS, flushSeconds: FLUSH_S, queryRuns: QUERY_RUNS },
    figures: [
      { id: 'history.cpu', label: 'history CPU at 1,000 channels × 1 Hz', unit: '% of a core', ours: r.history.cpuPercentOfOneCore, peer: r.peerRowPerSample.cpuPercentOfOneCore, peerName: 'row per sample', goal: { of: 'ratio', op: '<=', value: 1 } },
      { id: 'history.disk', label: 'history disk per day (raw + 1-minute rows)', unit: 'GiB', ours: r.history.diskGiBPerDay, peer: r.peerRowPerSample.diskGiBPerDay, peerName: 'row per sample (raw only)' },
      { id: 'history.query-30d', label: '30 days of one series, median query', unit: 'ms', ours: r.query30Days.medianMs, peer: r.query30Days.peerRawScanMedianMs, peerName: 'GROUP BY over raw rows', goal: { of: 'ratio', op: '<=', value: 0.5 } },
    ],
    tables: [
      {
        columns: ['', 'history store', 'peer (row per sample)', 'ratio'],
        rows: [
          ['CPU, % of one core', r.history.cpuPercentOfOneCore, r.peerRowPerSample.cpuPercentOfOneCore, r.ratios.cpuHistoryOverPeer],
          ['CPU ms per second of samples', r.history.cpuMsPerSecondOfSamples, null, null],
          ['disk per day GiB', r.history.diskGiBPerDay, r.peerRowPerSample.diskGiBPerDay, r.ratios.diskHistoryOverPeer],
          ['RSS growth of the writing process MiB', r.history.rssGrowthMiB, null, null],
          [`30 days of one series (${r.query30Days.points} points), median ms`, r.query30Days.medianMs, r.query30Days.peerRawScanMedianMs, r.query30Days.ratioHistoryOverPeer],
        ],
      },
    ],
    raw: r,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run(), null, 2));
