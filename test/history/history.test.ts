/**
 * History that survives restarts (issue 15 §4): the store's two resolutions,
 * retention, disk bound and persistence; `GET /api/history` over node metrics
 * from emulated nodes and pipeline channels, before and after a restart.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HistoryStore } from '../../src/store/history-store.js';
import { parseDuration } from '../../src/history/history-service.js';
import { http as request } from '../helpers/gateway-harness.js';
import { fastNodesYaml, gatewayYaml, startFileGateway, type FileGateway } from '../helpers/file-gateway.js';
import { freePort, waitFor } from '../helpers/net.js';
import { startSim, type TestSim } from '../helpers/sim.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('history store (issue 15 §4)', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const open = async (opts: Partial<ConstructorParameters<typeof HistoryStore>[1]> & { clock: () => number }, dir?: string) => {
    const d = dir ?? (await mkdtemp(join(tmpdir(), 'spore-hist-')));
    dirs.push(d);
    const store = new HistoryStore(join(d, 'h.db'), { rawRetentionMs: DAY, minuteRetentionMs: 30 * DAY, maxBytes: 1e9, ...opts });
    store.open();
    return { store, dir: d };
  };

  it('answers raw samples and minute min/avg/max, including samples not flushed yet', async () => {
    const now = Date.UTC(2026, 0, 10, 12, 0, 0);
    const { store } = await open({ clock: () => now });
    // 10 minutes at 1 Hz: value = second index; the last minute stays in memory.
    for (let i = 0; i < 600; i++) {
      store.record('devices/meter/power', now - 600_000 + i * 1000, i, 'W');
      if (i === 539) store.flush();
    }
    const [raw] = store.query({ series: ['devices/meter/power'], from: now - 600_000, to: now });
    assert.equal(raw!.resolution, 'raw');
    assert.equal(raw!.t.length, 600);
    assert.equal(raw!.unit, 'W');
    assert.equal(raw!.avg[599], 599);
    const [minutes] = store.query({ series: ['devices/meter/power'], from: now - 600_000, to: now, stepMs: 60_000 });
    assert.equal(minutes!.resolution, '1m');
    assert.equal(minutes!.t.length, 10);
    assert.deepEqual([minutes!.min[0], minutes!.avg[0], minutes!.max[0]], [0, 29.5, 59]);
    assert.deepEqual([minutes!.min[9], minutes!.avg[9], minutes!.max[9]], [540, 569.5, 599], 'the unflushed minute counts');
    const [coarse] = store.query({ series: ['devices/meter/power'], from: now - 30 * DAY, to: now });
    assert.equal(coarse!.resolution, '1m', 'a 30-day range reads minute rows');
    assert.ok(coarse!.stepMs >= (30 * DAY) / 5000);
    assert.equal(coarse!.avg.reduce((a, b) => a + b, 0) / coarse!.avg.length > 0, true);
    assert.deepEqual(store.query({ series: ['devices/unknown/x'], from: now - HOUR, to: now })[0]!.t, []);
  });

  it('drops raw samples after their retention, minutes after theirs, and keeps what was written across a reopen', async () => {
    let now = Date.UTC(2026, 0, 10, 0, 0, 0);
    const { store, dir } = await open({ clock: () => now, rawRetentionMs: HOUR, minuteRetentionMs: 2 * HOUR });
    for (let i = 0; i < 120; i++) store.record('nodes/n1/freeHeap', now + i * 1000, 30_000 + i, 'bytes');
    store.close();
    const { store: again } = await open({ clock: () => now, rawRetentionMs: HOUR, minuteRetentionMs: 2 * HOUR }, dir);
    assert.deepEqual(again.list(), [{ name: 'nodes/n1/freeHeap', unit: 'bytes' }]);
    assert.equal(again.query({ series: ['nodes/n1/freeHeap'], from: now, to: now + 200_000 })[0]!.t.length, 120, 'closed cleanly: every sample is on disk');
    now += 90 * 60_000;
    again.prune();
    const afterRaw = again.stats();
    assert.equal(afterRaw.rawChunks, 0, 'raw past one hour is gone');
    assert.equal(afterRaw.minuteRows, 2, 'minutes are kept longer');
    now += 60 * 60_000;
    again.prune();
    assert.equal(again.stats().minuteRows, 0);
    again.close();
  });

  it('keeps the database under its disk bound by dropping the oldest data', async () => {
    const now = Date.UTC(2026, 0, 10, 0, 0, 0);
    const maxBytes = 400_000;
    const { store } = await open({ clock: () => now, maxBytes });
    for (let round = 0; round < 40; round++) {
      for (let s = 0; s < 20; s++) for (let i = 0; i < 100; i++) store.record(`devices/d${s}/v`, now - DAY / 2 + round * 100_000 + i * 1000, Math.random());
      store.flush();
    }
    assert.ok(store.bytesUsed() > maxBytes, `filled past the bound: ${store.bytesUsed()}`);
    const bytes = store.prune();
    assert.ok(bytes <= maxBytes, `after pruning: ${bytes} bytes`);
    const [kept] = store.query({ series: ['devices/d0/v'], from: now - DAY, to: now });
    assert.ok(kept!.t.length > 0 && kept!.t.length < 4000, `some of the newest samples remain: ${kept!.t.length}`);
    assert.ok(kept!.t[0]! > now - DAY / 2, 'the oldest went first');
    assert.ok(store.stats().droppedForSpace > 0);
    store.close();
  });

  it('parses step durations', () => {
    assert.equal(parseDuration('30s'), 30_000);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('250'), 250);
    assert.throws(() => parseDuration('1w'), /not a duration/);
  });
});

describe('GET /api/history (issue 15 §4)', () => {
  let g: FileGateway | undefined;
  let sim: TestSim | undefined;
  let device: http.Server | undefined;
  after(async () => {
    await sim?.stop();
    await g?.destroy();
    device?.close();
  });

  it('charts node metrics and channels from before a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'spore-hist-api-'));
    const nodePort = await freePort();
    let n = 0;
    device = http.createServer((_req, res) => res.end(JSON.stringify({ temp: 20 + (n++ % 5) })));
    await new Promise<void>((r) => device!.listen(0, '127.0.0.1', () => r()));
    const devicePort = (device.address() as AddressInfo).port;
    const yaml = await gatewayYaml(
      dir,
      [
        fastNodesYaml(nodePort),
        'history:',
        '  flushIntervalMs: 200',
        '  nodeSampleIntervalMs: 200',
        'pipeline:',
        '  connectors:',
        `    - { id: weather, type: http, url: "http://127.0.0.1:${devicePort}/", pollMs: 100, device: station, channels: { temp: "$.temp" } }`,
        '  sinks:',
        '    - { id: live, type: websocket }',
      ].join('\n'),
    );
    g = await startFileGateway({ dir, yaml });
    sim = await startSim({ udpPort: g.gateway.udpPort, nodePort }, 2);
    const host = sim.hostnames[0]!;
    const series = `nodes/${host}/freeHeap,nodes/${host}/latency,nodes/${host}/status,devices/station/temp`;
    const points = async (url: string) => {
      const res = await request(`${url}/api/history?series=${encodeURIComponent(series)}`);
      assert.equal(res.status, 200, res.text);
      return res.body.series as Array<{ name: string; unit: string | null; t: number[]; avg: number[] }>;
    };
    const first = await waitFor(async () => {
      const s = await points(g!.url);
      // Status: at every change and at least once a minute (history-service.ts STATUS_RESAMPLE_MS), so one point here.
      return s.every((x) => x.t.length >= (x.name.endsWith('/status') ? 1 : 3)) ? s : null;
    }, 'history of every series', 20_000);
    assert.equal(first[0]!.unit, 'bytes');
    assert.equal(first[1]!.unit, 'ms');
    assert.ok(first[0]!.avg.every((v) => v > 0), 'free heap samples');
    assert.ok(first[2]!.avg.includes(2), 'status ACTIVE = 2');
    assert.ok(first[3]!.avg.every((v) => v >= 20 && v < 25), 'channel values');
    const before = Math.max(...first[0]!.t);

    await sim.stop();
    sim = undefined;
    await g.stop();
    g = await startFileGateway({ dir, yaml });
    const again = await points(g.url);
    assert.ok(again[0]!.t.includes(before), 'samples from before the restart are there');
    assert.ok(again[3]!.t.length >= first[3]!.t.length);

    const list = await request(`${g.url}/api/history/series?prefix=nodes/`);
    assert.ok(list.body.series.some((s: any) => s.name === `nodes/${host}/freeHeap`));
    // Minute aggregates over 30 days, one series.
    const month = await request(`${g.url}/api/history?series=nodes/${host}/freeHeap&from=${Date.now() - 30 * DAY}&step=1h`);
    assert.equal(month.body.series[0].resolution, '1m');
    assert.equal(month.body.series[0].stepMs, HOUR);
    assert.ok(month.body.series[0].t.length >= 1);

    for (const bad of ['', 'series=../../etc', 'series=nodes/a/b&from=yesterday', 'series=nodes/a/b&step=1w', `series=nodes/a/b&from=${Date.now()}&to=${Date.now() - 1000}`]) {
      const res = await request(`${g.url}/api/history?${bad}`);
      assert.equal(res.status, 400, `${bad}: ${res.text}`);
      assert.equal(res.body.error, 'bad_request');
    }
  });
});
