import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ClusterManager } from '../../src/cluster/cluster-manager.js';
import { NodeRegistry, type NodeRecord } from '../../src/cluster/node-registry.js';
import { NodeClient } from '../../src/node-client/node-client.js';
import { LAZY_ROWS_PER_FLUSH, NodeStore, nodeStorePath, SEEN_PERSIST_MS } from '../../src/cluster/node-store.js';
import { EventBus } from '../../src/events/event-bus.js';
import type { GatewayEvents } from '../../src/events/gateway-events.js';
import { createLogger } from '../../src/logger.js';
import { withTempDir } from '../helpers/temp-dir.js';

const THRESHOLDS = { activeThresholdMs: 10_000, deadThresholdMs: 60_000, removeDeadAfterMs: 300_000, maxNodes: 100 };

/** A logger whose JSON lines are kept, so a test can read what was said. */
function recordingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const sink = { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) } as unknown as NodeJS.WritableStream;
  return { logger: createLogger('info', sink), lines };
}

const withDir = <T>(fn: (dir: string) => Promise<T> | T): Promise<T> => withTempDir('spore-node-store', fn);

/** A registry with its store in `dataDir`, on a clock the test moves. */
function open(dataDir: string, clock: { now: number }, maxNodes = THRESHOLDS.maxNodes) {
  const { logger, lines } = recordingLogger();
  const store = new NodeStore(nodeStorePath(dataDir), { flushIntervalMs: 60_000, maxRows: maxNodes, clock: () => clock.now }, logger);
  const registry = new NodeRegistry(new EventBus<GatewayEvents>(logger), { ...THRESHOLDS, maxNodes }, logger, () => clock.now, store);
  return { store, registry, lines };
}

describe('NodeStore: the registry survives a restart (issue 12 §15)', () => {
  it('keeps hostname, address, labels, version, resources and the original times; status comes from the age; long-dead nodes go', () =>
    withDir((dataDir) => {
      const clock = { now: 1_700_000_000_000 };
      const first = open(dataDir, clock);
      first.registry.start();
      const a = first.registry.observe('10.1.0.1', 'esp-a', 4210)!;
      first.registry.applyStatus(a, { freeHeap: 31_000, labels: { room: 'hall' }, version: '1.2.3', api: [{ uri: '/api/x', method: 'GET' }] }, 7);
      clock.now += 1000;
      first.registry.observe('10.1.0.2', 'esp-b', 4210);
      first.registry.observe('10.1.0.3', 'esp-c', 4210);
      clock.now += 5000;
      first.registry.observe('10.1.0.1', 'esp-a', 4211); // a heartbeat: lastSeen and port move
      const before = first.registry.list().map((n) => ({ ...n }));
      first.registry.stop();

      // 20 s later esp-a is INACTIVE (26 s after esp-b/c's only datagram they are too);
      // move esp-c's stored lastSeen back so it is dead longer than the removal rule allows.
      const db = new Database(nodeStorePath(dataDir));
      db.prepare('UPDATE node_seen SET last_seen = ? WHERE hostname = ?').run(clock.now - 400_000, 'esp-c');
      db.close();
      clock.now += 20_000;
      const second = open(dataDir, clock);
      const result = second.registry.start();
      assert.deepEqual(result, { loaded: 2, removed: 1 });
      const a2 = second.registry.getByHostname('esp-a')!;
      const a1 = before.find((n) => n.hostname === 'esp-a')!;
      assert.deepEqual({ ...a2, status: a1.status }, a1, 'every field as it was');
      assert.equal(a2.status, 'INACTIVE', '20 s old: INACTIVE from the stored lastSeen');
      assert.deepEqual(a2.labels, { room: 'hall' });
      assert.equal(a2.version, '1.2.3');
      assert.deepEqual(a2.resources, { freeHeap: 31_000 });
      assert.equal(a2.port, 4211);
      assert.equal(second.registry.getByHostname('esp-b')!.discoveredAt, before.find((n) => n.hostname === 'esp-b')!.discoveredAt);
      assert.equal(second.registry.getByHostname('esp-c'), undefined, 'dead too long: removed');
      assert.ok(second.lines.some((l) => l.msg === 'known nodes loaded from the data directory' && l.nodes === 2 && l.removed === 1));
      // …and deleted from the store, and the normal ageing removes loaded nodes too.
      clock.now += 400_000;
      second.registry.age();
      assert.equal(second.registry.size, 0);
      second.registry.stop();
      const rows = new Database(nodeStorePath(dataDir), { readonly: true });
      assert.deepEqual(rows.prepare('SELECT COUNT(*) AS n FROM nodes').get(), { n: 0 });
      assert.deepEqual(rows.prepare('SELECT COUNT(*) AS n FROM node_seen').get(), { n: 0 });
      rows.close();
    }));

  it('writes nothing per heartbeat: one batch, a narrow row per heard node; never more rows than maxNodes', () =>
    withDir((dataDir) => {
      const clock = { now: 1_700_000_000_000 };
      const { store, registry } = open(dataDir, clock, 50);
      registry.start();
      for (let i = 0; i < 60; i++) registry.observe(`10.2.0.${i + 1}`, `esp-n${i}`, 4210);
      assert.equal(registry.size, 50, 'the registry holds maxNodes');
      store.flush();
      assert.equal(store.stats.flushes, 1);
      const afterFirst = store.stats.rowsWritten;
      assert.equal(afterFirst, 100, '50 nodes: a content row and a seen row each');
      // 10 heartbeats of every node, then one flush: 50 narrow rows, not 500 (or 1,000).
      for (let round = 0; round < 10; round++) {
        clock.now += 200;
        for (let i = 0; i < 50; i++) registry.observe(`10.2.0.${i + 1}`, `esp-n${i}`, 4210);
      }
      store.flush();
      assert.equal(store.stats.flushes, 1, 'lastSeen alone, written 2 s ago: held back (SEEN_PERSIST_MS)');
      assert.equal(store.stats.rowsWritten, afterFirst);
      clock.now += SEEN_PERSIST_MS;
      store.flush();
      assert.equal(store.stats.flushes, 2);
      assert.equal(store.stats.rowsWritten - afterFirst, 50);
      store.flush();
      assert.equal(store.stats.flushes, 2, 'nothing dirty: no transaction');
      // A new source port is written at the next flush, stored lastSeen recent or not.
      registry.observe('10.2.0.50', 'esp-n49', 4299);
      store.flush();
      assert.equal(store.stats.rowsWritten - afterFirst, 51);
      registry.stop();

      // A smaller maxNodes at the next start keeps the most recently seen and deletes the rest.
      const db = new Database(nodeStorePath(dataDir));
      db.prepare("UPDATE node_seen SET last_seen = last_seen - 1000 WHERE hostname IN ('esp-n0', 'esp-n1')").run();
      db.close();
      const small = open(dataDir, clock, 48);
      small.registry.start();
      assert.equal(small.registry.size, 48);
      assert.equal(small.registry.getByHostname('esp-n0'), undefined);
      assert.equal(small.registry.getByHostname('esp-n1'), undefined);
      small.registry.stop();
      const check = new Database(nodeStorePath(dataDir), { readonly: true });
      assert.deepEqual(check.prepare('SELECT COUNT(*) AS n FROM nodes').get(), { n: 48 });
      check.close();
    }));

  it('status and member updates are written for a bounded share of nodes per flush; stop() writes the rest', () =>
    withDir((dataDir) => {
      const clock = { now: 1_700_000_000_000 };
      const { store, registry } = open(dataDir, clock, 2000);
      registry.start();
      const ip = (i: number) => `10.7.${Math.floor(i / 250)}.${(i % 250) + 1}`;
      const nodes = Array.from({ length: 1200 }, (_, i) => registry.observe(ip(i), `esp-m${i}`, 4210)!);
      store.flush();
      const base = store.stats.rowsWritten;
      for (const [i, n] of nodes.entries()) registry.applyStatus(n, { freeHeap: 20_000 + i, version: '2.0.0' }, 3);
      store.flush();
      assert.equal(store.stats.rowsWritten - base, LAZY_ROWS_PER_FLUSH, 'at most LAZY_ROWS_PER_FLUSH rows of updates per flush');
      for (const n of nodes.slice(0, 10)) registry.applyStatus(n, { freeHeap: 1, version: '2.0.1' }, 3);
      registry.stop(); // the 1,200 − LAZY_ROWS_PER_FLUSH still waiting and the 10 updated again
      assert.equal(store.stats.rowsWritten - base, 1200 + 10);
      const again = open(dataDir, clock, 2000);
      again.registry.start();
      assert.equal(again.registry.size, 1200);
      assert.ok(again.registry.list().every((n) => n.version?.startsWith('2.0.')));
      assert.deepEqual(again.registry.getByHostname('esp-m3')!.resources, { freeHeap: 1 });
      assert.deepEqual(again.registry.getByHostname('esp-m1199')!.resources, { freeHeap: 21_199 });
      again.registry.stop();
    }));

  it('a file that is not a database: one clear log line, moved aside, an empty registry that is stored again', () =>
    withDir(async (dataDir) => {
      const path = nodeStorePath(dataDir);
      mkdirSync(dirname(path), { recursive: true });
      await writeFile(path, Buffer.alloc(8192, 0x5a));
      const clock = { now: 1_700_000_000_000 };
      const { store, registry, lines } = open(dataDir, clock);
      assert.deepEqual(registry.start(), { loaded: 0, removed: 0 });
      const said = lines.filter((l) => l.level === 50);
      assert.equal(said.length, 1, JSON.stringify(lines));
      assert.match(String(said[0]!.msg), /stored node registry cannot be read; it was moved aside and the registry starts empty/);
      assert.equal(said[0]!.path, path);
      assert.ok((await readdir(dirname(path))).some((f) => f.startsWith('nodes.db.unreadable-')), 'the unreadable file is kept aside');
      assert.ok(store.isOpen, 'a fresh store is used');
      registry.observe('10.3.0.1', 'esp-x', 4210);
      registry.stop();
      const again = open(dataDir, clock);
      assert.equal(again.registry.start().loaded, 1);
      again.registry.stop();
    }));

  it('a table of the wrong shape, and rows that are not nodes: logged, dropped, never a crash', () =>
    withDir(async (dataDir) => {
      const path = nodeStorePath(dataDir);
      mkdirSync(dirname(path), { recursive: true });
      // Version 1 by its user_version, but the tables are not ours.
      const bad = new Database(path);
      bad.exec('CREATE TABLE nodes (x); CREATE TABLE node_seen (y); PRAGMA user_version = 1;');
      bad.close();
      const clock = { now: 1_700_000_000_000 };
      const first = open(dataDir, clock);
      assert.deepEqual(first.registry.start(), { loaded: 0, removed: 0 });
      assert.ok(first.lines.some((l) => l.level === 50 && /cannot be read/.test(String(l.msg))), JSON.stringify(first.lines));
      first.registry.observe('10.4.0.1', 'esp-good', 4210);
      first.registry.stop();

      // Rows with a bad address, a bad hostname, garbage JSON: dropped (and deleted); the good one stays.
      const db = new Database(path);
      const insert = db.prepare("INSERT INTO nodes (hostname, ip, discovered_at, labels, resources, api) VALUES (?, ?, ?, ?, ?, '[]')");
      insert.run('esp-badip', '999.1.1.1', clock.now, '{}', null);
      insert.run('<b>html</b>', '10.4.0.3', clock.now, '{}', null);
      insert.run('esp-garbage', '10.4.0.4', clock.now, '{not json', '[1,2]');
      db.close();
      const second = open(dataDir, clock);
      const loaded = second.registry.start();
      assert.equal(loaded.loaded, 2, 'the good node and the one with garbage JSON (its labels and resources dropped)');
      assert.deepEqual(second.registry.getByHostname('esp-garbage')!.labels, {});
      assert.equal(second.registry.getByHostname('esp-garbage')!.resources, null);
      assert.ok(second.registry.getByHostname('esp-good'));
      assert.equal(second.store.stats.droppedAtLoad, 2);
      second.registry.stop();
    }));

  it('a failed write is logged once and the next write rewrites every node', () =>
    withDir((dataDir) => {
      const clock = { now: 1_700_000_000_000 };
      const { store, registry, lines } = open(dataDir, clock);
      registry.start();
      registry.observe('10.5.0.1', 'esp-a', 4210);
      registry.observe('10.5.0.2', 'esp-b', 4210);
      store.flush();
      // Another connection holds the write lock: the flush fails (busy), the gateway runs on.
      const other = new Database(nodeStorePath(dataDir));
      other.pragma('busy_timeout = 0');
      (store as unknown as { db: Database.Database }).db.pragma('busy_timeout = 0');
      other.exec('BEGIN IMMEDIATE');
      registry.observe('10.5.0.3', 'esp-c', 4210);
      store.flush();
      store.flush();
      other.exec('ROLLBACK');
      other.close();
      assert.equal(lines.filter((l) => l.level === 50).length, 1, 'one line for the failure streak');
      assert.equal(store.stats.failedFlushes, 2);
      store.flush();
      registry.stop();
      const again = open(dataDir, clock);
      assert.equal(again.registry.start().loaded, 3);
      again.registry.stop();
    }));

  it('a node that is not ACTIVE never becomes primary when it comes back from a backup', async () => {
    const { logger } = recordingLogger();
    const bus = new EventBus<GatewayEvents>(logger);
    const registry = new NodeRegistry(bus, THRESHOLDS, logger);
    const client = new NodeClient({ port: 9, timeoutMs: 200 });
    const cluster = new ClusterManager(registry, client, bus, { ageingIntervalMs: 60_000, statusPollIntervalMs: 60_000, statusPollConcurrency: 1, membersRefreshIntervalMs: 60_000, primaryCheckIntervalMs: 60_000, primaryFailureThreshold: 1 }, logger);
    cluster.start();
    try {
      const dead: NodeRecord = { ip: '10.6.0.1', port: 4210, hostname: 'esp-dead', status: 'ACTIVE', discoveredAt: Date.now() - 90_000, lastSeen: Date.now() - 70_000, labels: {}, resources: null, api: [], latency: 1, version: '1.0.0', uptime: null, lastPolledAt: null };
      assert.equal(registry.restore([dead]), 1);
      assert.equal(registry.getByHostname('esp-dead')!.status, 'DEAD');
      assert.equal(cluster.primaryNode, null, 'no primary rather than a DEAD one');
      registry.observe('10.6.0.2', 'esp-live', 4210);
      assert.equal(cluster.primaryNode, '10.6.0.2');
    } finally {
      await cluster.stop();
      client.close();
    }
  });
});
