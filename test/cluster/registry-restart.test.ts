import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { http, WsRecorder } from '../helpers/gateway-harness.js';
import { startGatewayProcess, type GatewayProcess } from '../helpers/gateway-process.js';
import { freePort, sleep, waitFor } from '../helpers/net.js';
import { startSim } from '../helpers/sim.js';

// Short thresholds so ageing shows in seconds (CONTRACT §2 rules, test values).
const ACTIVE_MS = 1200;
const DEAD_MS = 2500;
const AGEING_MS = 200;
const FLUSH_MS = 300; // nodes.persistIntervalMs of the gateways that must write on their own

interface ListedNode {
  ip: string;
  hostname: string;
  status: 'ACTIVE' | 'INACTIVE' | 'DEAD';
  discoveredAt: string;
  lastSeen: string;
  labels: Record<string, string>;
}

const statusForAge = (ageMs: number) => (ageMs <= ACTIVE_MS ? 'ACTIVE' : ageMs <= DEAD_MS ? 'INACTIVE' : 'DEAD');

async function start(dataDir: string, nodePort: number, opts: { removeDeadAfterMs: number; persistIntervalMs: number }): Promise<GatewayProcess> {
  return startGatewayProcess({
    dataDir,
    args: ['-node-port', String(nodePort), '-active-threshold', String(ACTIVE_MS), '-dead-threshold', String(DEAD_MS), '-remove-dead-after', String(opts.removeDeadAfterMs), '-log-level', 'info'],
    env: {
      SPORE_NODES_PERSIST_INTERVAL_MS: String(opts.persistIntervalMs),
      SPORE_NODES_AGEING_INTERVAL_MS: String(AGEING_MS),
      SPORE_NODES_STATUS_POLL_INTERVAL_MS: '300',
      SPORE_NODES_MEMBERS_REFRESH_INTERVAL_MS: '500',
      SPORE_NODES_PRIMARY_CHECK_INTERVAL_MS: '300',
      SPORE_NODES_REQUEST_TIMEOUT_MS: '1000',
      SPORE_NODES_DISCOVERY_INTERVAL_MS: '0',
    },
  });
}

/** GET /api/discovery/nodes, with when it was asked and answered (ms since the epoch). */
async function listNodes(gw: GatewayProcess): Promise<{ sentAt: number; answeredAt: number; primaryNode: string | null; nodes: Map<string, ListedNode> }> {
  const sentAt = Date.now();
  const res = await http(`${gw.url}/api/discovery/nodes`);
  assert.equal(res.status, 200, res.text);
  return { sentAt, answeredAt: Date.now(), primaryNode: res.body.primaryNode, nodes: new Map((res.body.nodes as ListedNode[]).map((n) => [n.hostname, n])) };
}

/** The WebSocket greeting's members by hostname: with no primary answering, the gateway's registry (version, resources). */
async function greeting(gw: GatewayProcess): Promise<Map<string, any>> {
  const ws = await WsRecorder.connect(gw.url);
  try {
    const update = await ws.waitFor((m) => m.topic === 'cluster/update', 'the cluster/update greeting', 20_000);
    return new Map((update.members as any[]).map((m) => [m.hostname, m]));
  } finally {
    ws.close();
  }
}

/** Once no datagram arrives any more (the emulator stopped), the registry's times stop moving (and a periodic write has passed). */
async function settled(gw: GatewayProcess): Promise<Map<string, ListedNode>> {
  const times = (nodes: Map<string, ListedNode>) => JSON.stringify([...nodes.values()].map((n) => [n.hostname, n.lastSeen]));
  let last = times((await listNodes(gw)).nodes);
  return waitFor(
    async () => {
      await sleep(FLUSH_MS + 100);
      const { nodes } = await listNodes(gw);
      const now = times(nodes);
      const same = now === last;
      last = now;
      return same ? nodes : null;
    },
    'the registry to settle',
    20_000,
    0,
  );
}

/** Every listed status is the one its lastSeen's age gives (the age between asking and the answer, less one ageing tick and timer lateness on a loaded machine). */
function assertStatusFromAge(listing: Awaited<ReturnType<typeof listNodes>>): void {
  for (const n of listing.nodes.values()) {
    const seen = Date.parse(n.lastSeen);
    const allowed = new Set([statusForAge(listing.sentAt - seen - AGEING_MS - 1000), statusForAge(listing.answeredAt - seen)]);
    assert.ok(allowed.has(n.status), `${n.hostname}: ${n.status} with lastSeen ${n.lastSeen} (allowed ${[...allowed].join('/')})`);
  }
  // The primary after a restart is never a node that is not ACTIVE.
  if (listing.primaryNode) {
    const primary = [...listing.nodes.values()].find((n) => n.ip === listing.primaryNode);
    assert.equal(primary?.status, 'ACTIVE', `primary ${listing.primaryNode} is ${primary?.status}`);
  }
}

describe('a restart keeps the cluster (issue 12 item 15)', () => {
  it('lists the known nodes at once after SIGKILL and after SIGTERM, with their original times; long-dead nodes go', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'spore-registry-restart-'));
    const nodePort = await freePort();
    const running: GatewayProcess[] = [];
    const sims: Array<{ stop(): Promise<void> }> = [];
    try {
      // 1. Three emulated nodes; the third falls silent. Then a crash: SIGKILL, no stop(), only the periodic writes.
      const a = await start(dataDir, nodePort, { removeDeadAfterMs: 60_000, persistIntervalMs: FLUSH_MS });
      running.push(a);
      const sim = await startSim({ udpPort: a.udpPort, nodePort }, 3);
      sims.push(sim);
      const [n0, n1, silent] = sim.hostnames as [string, string, string];
      await waitFor(
        async () => {
          const m = await greeting(a);
          return sim.hostnames.every((h) => m.get(h)?.version === '1.0.0' && m.get(h)?.resources?.freeHeap !== undefined) || null;
        },
        'three nodes with version and resources',
        20_000,
        200,
      );
      await waitFor(async () => {
        const { nodes } = await listNodes(a);
        return sim.hostnames.every((h, i) => JSON.stringify(nodes.get(h)?.labels) === JSON.stringify(sim.node(i).labels)) || null;
      }, 'labels in the registry', 20_000, 100);
      sim.mute(2, true);
      await waitFor(async () => (await listNodes(a)).nodes.get(silent)?.status !== 'ACTIVE' || null, 'the muted node INACTIVE', 20_000, 100);
      await sim.stop();
      sims.pop();
      const beforeKill = await settled(a);
      a.child.kill('SIGKILL');
      await a.exited;
      running.pop();

      // The silent node's stored lastSeen goes an hour back, as if it had been silent that long
      // before the restart (waiting for that has no place in a test): the removal rule must drop it.
      const file = new Database(join(dataDir, 'registry', 'nodes.db'));
      assert.equal(file.prepare('UPDATE node_seen SET last_seen = last_seen - 3600000 WHERE hostname = ?').run(silent).changes, 1);
      file.close();

      // 2. Restarted WITHOUT the emulator: the nodes are there at once, as they were.
      const b = await start(dataDir, nodePort, { removeDeadAfterMs: 60_000, persistIntervalMs: 60_000 });
      running.push(b);
      const first = await listNodes(b);
      assert.deepEqual([...first.nodes.keys()].sort(), [n0, n1].sort(), 'the known nodes listed at once; the one dead for an hour removed');
      for (const h of [n0, n1]) {
        const now = first.nodes.get(h)!;
        const was = beforeKill.get(h)!;
        assert.equal(now.ip, was.ip);
        assert.deepEqual(now.labels, was.labels, `${h}: labels`);
        assert.equal(now.discoveredAt, was.discoveredAt, `${h}: the original discoveredAt`);
        // The last periodic write may be up to one interval behind the last datagram (docs/architecture.md).
        const behind = Date.parse(was.lastSeen) - Date.parse(now.lastSeen);
        assert.ok(behind >= 0 && behind <= FLUSH_MS + 2000, `${h}: lastSeen ${now.lastSeen}, ${was.lastSeen} before the crash`);
      }
      assertStatusFromAge(first);
      const restored = await greeting(b);
      for (const h of [n0, n1]) {
        assert.equal(restored.get(h)?.version, '1.0.0', `${h}: version`);
        assert.equal(typeof restored.get(h)?.resources?.freeHeap, 'number', `${h}: resources`);
        assert.deepEqual(restored.get(h)?.labels, beforeKill.get(h)!.labels, `${h}: labels in the cluster view`);
      }
      assert.ok(b.lines().some((l) => l.includes('known nodes loaded from the data directory') && l.includes('"removed":1')), b.lines().join('\n'));

      // 3. Nodes that join this gateway (it writes only every minute, so only stop() can store them), then SIGTERM.
      const late = await startSim({ udpPort: b.udpPort, nodePort }, 2, { hostnamePrefix: 'spore-late-' });
      sims.push(late);
      await waitFor(async () => {
        const { nodes } = await listNodes(b);
        return late.hostnames.every((h) => nodes.get(h)?.status === 'ACTIVE' && Object.keys(nodes.get(h)!.labels).length > 0) || null;
      }, 'the late nodes with labels', 20_000, 100);
      await late.stop();
      sims.pop();
      const beforeTerm = await settled(b);
      assert.equal(await b.kill('SIGTERM'), 0, b.stderr());
      running.pop();
      // 4. Restarted WITHOUT the emulator again: every node exactly as the stopped gateway listed it.
      const c = await start(dataDir, nodePort, { removeDeadAfterMs: 60_000, persistIntervalMs: 60_000 });
      running.push(c);
      const again = await listNodes(c);
      assert.deepEqual([...again.nodes.keys()].sort(), [...beforeTerm.keys()].sort(), 'the same nodes, no more');
      for (const [h, was] of beforeTerm) {
        const now = again.nodes.get(h)!;
        assert.deepEqual({ ip: now.ip, discoveredAt: now.discoveredAt, lastSeen: now.lastSeen, labels: now.labels }, { ip: was.ip, discoveredAt: was.discoveredAt, lastSeen: was.lastSeen, labels: was.labels }, `${h} after SIGTERM`);
      }
      assertStatusFromAge(again);
      const lateView = await greeting(c);
      for (const h of late.hostnames) {
        assert.equal(lateView.get(h)?.version, '1.0.0', `${h}: version`);
        assert.equal(typeof lateView.get(h)?.resources?.freeHeap, 'number', `${h}: resources`);
      }
    } finally {
      for (const s of sims) await s.stop();
      for (const gw of running) await gw.kill('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
