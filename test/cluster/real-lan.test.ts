import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FAST_NODES } from '../helpers/gateway-harness.js';
import { sleep, waitFor } from '../helpers/net.js';
import { NetnsLan, nsHttp, skipUnlessNetns, type NetnsProcess } from '../helpers/netns.js';

const ROOT = resolve(import.meta.dirname, '../..');
const GATEWAY = join(ROOT, 'dist/src/cli/gateway-main.js');
const SIM = join(ROOT, 'dist/emulator/cli/sim-main.js');
const skip = skipUnlessNetns();

const NODE_PORT = 8080;
const UDP_PORT = 4210; // the real port: every host has its own network stack
const HTTP_PORT = 3001;
/** The gateway's link is unplugged this long (issue 18 §2), ms. */
const LINK_DOWN_MS = 30_000;

interface NodeView {
  ip: string;
  hostname: string;
  status: 'ACTIVE' | 'INACTIVE' | 'DEAD';
  isPrimary: boolean;
}

/**
 * Issue 18 §2: a real LAN — network namespaces, veth pairs, a bridge, addresses from
 * 198.18.0.0/15 — with the gateway on one host and emulated nodes (one per host, and three on
 * one host at their own addresses) on others. Everything crosses real interfaces: broadcasts
 * included, links unplugged for real.
 */
describe('a real LAN in network namespaces', { skip }, () => {
  let lan: NetnsLan;
  let dir: string;
  let sock: string;
  let gw: NetnsProcess;
  const sims = new Map<string, NetnsProcess>();

  const api = (path: string, method = 'GET') => nsHttp(sock, path, method);
  const nodes = async (): Promise<NodeView[]> => (await api('/api/discovery/nodes')).body?.nodes ?? [];
  const byHost = async (hostname: string) => (await nodes()).find((n) => n.hostname === hostname);
  const startSim = (host: string, prefix: string, baseOctet: number, count: number, gatewayAddress: string, heartbeatMs = 500) => {
    const p = lan.spawn(host, process.execPath, [SIM, '-lan', '-count', String(count), '-base-ip', lan.address(baseOctet), '-name-prefix', prefix, '-gateway', gatewayAddress, '-udp-port', String(UDP_PORT), '-http-port', String(NODE_PORT), '-heartbeat-ms', String(heartbeatMs), '-latency-ms', '0-1', '-quiet']);
    sims.set(`${host}/${prefix}`, p);
    return p;
  };

  before(async () => {
    assert.ok(existsSync(GATEWAY) && existsSync(SIM), 'dist/ is missing: run `npm run build` first');
    dir = await mkdtemp(join(tmpdir(), 'spore-lan-'));
    await chmod(dir, 0o755);
    sock = join(dir, 'gw.sock');
    lan = await NetnsLan.create(`s18-${process.pid % 100000}`);
    await lan.addHost('gw', [1]);
    for (const [i, host] of ['n1', 'n2', 'n3'].entries()) await lan.addHost(host, [11 + i]);
    await lan.addHost('multi', [21, 22, 23]);
    await lan.addHost('quiet', [41]);
    await lan.addHost('mover', [31]);
    const config = join(dir, 'gateway.json');
    await writeFile(config, JSON.stringify({ nodes: { ...FAST_NODES, port: NODE_PORT, activeThresholdMs: 3000, deadThresholdMs: 8000, removeDeadAfterMs: 600_000, requestTimeoutMs: 1000 } }));
    gw = lan.spawn('gw', process.execPath, [GATEWAY, '-config', config, '-port', String(HTTP_PORT), '-udp-port', String(UDP_PORT), '-data-dir', join(dir, 'data'), '-log-level', 'warn', '-gateway-id', 'lan-gw']);
    await lan.relay('gw', HTTP_PORT, sock);
    await waitFor(async () => {
      if (gw.child.exitCode !== null) throw new Error(`the gateway exited: ${gw.output()}`);
      return (await api('/api/health').catch(() => undefined))?.status === 200;
    }, 'the gateway in its namespace', 30_000, 200);
  });

  after(async () => {
    await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('discovers nodes by real broadcast: heartbeats to the subnet broadcast and to 255.255.255.255, and its own CLUSTER_DISCOVERY probe', async () => {
    for (const [i, host] of ['n1', 'n2', 'n3'].entries()) startSim(host, `${host}-`, 11 + i, 1, lan.broadcast);
    startSim('multi', 'multi-', 21, 3, '255.255.255.255');
    const seen = await waitFor(async () => {
      const list = await nodes();
      return list.filter((n) => n.status === 'ACTIVE' && n.hostname !== 'quiet-1').length === 6 ? list : undefined;
    }, 'six nodes from broadcast heartbeats', 20_000, 200);
    const ips = Object.fromEntries(seen.map((n) => [n.hostname, n.ip]));
    assert.deepEqual(
      { n1: ips['n1-1'], n2: ips['n2-1'], n3: ips['n3-1'], m1: ips['multi-1'], m2: ips['multi-2'], m3: ips['multi-3'] },
      { n1: lan.address(11), n2: lan.address(12), n3: lan.address(13), m1: lan.address(21), m2: lan.address(22), m3: lan.address(23) },
      'each node at its own address on the LAN, identified by the source IP of its broadcast',
    );
    // A node whose heartbeats never reach the gateway (sent to an address nobody has): only the
    // gateway's CLUSTER_DISCOVERY, broadcast to 255.255.255.255, finds it; it answers the sender.
    startSim('quiet', 'quiet-', 41, 1, lan.address(250));
    await sleep(1500);
    const quietBefore = await byHost('quiet-1');
    assert.equal(quietBefore, undefined, 'the silent node is unknown before a probe');
    assert.ok(sims.get('quiet/quiet-')!.child.exitCode === null, 'and it runs');
    assert.equal((await api('/api/discovery/refresh', 'POST')).status, 200);
    const quiet = await waitFor(() => byHost('quiet-1'), 'the silent node answering the broadcast probe', 10_000, 200);
    assert.equal(quiet.ip, lan.address(41));
  });

  it('a node that comes back from a new address (same hostname, new DHCP lease) is one node with the new address', async () => {
    startSim('mover', 'mover-', 31, 1, lan.broadcast);
    await waitFor(async () => (await byHost('mover-1'))?.ip === lan.address(31), 'mover-1 at .31', 10_000, 200);
    await sims.get('mover/mover-')!.stop();
    await lan.removeAddress('mover', 31);
    await lan.addAddress('mover', 32);
    startSim('mover', 'mover-', 32, 1, lan.broadcast);
    await waitFor(async () => (await byHost('mover-1'))?.ip === lan.address(32), 'mover-1 at .32', 10_000, 200);
    const list = await nodes();
    assert.equal(list.filter((n) => n.hostname === 'mover-1').length, 1, 'one node');
    assert.equal(list.filter((n) => n.ip === lan.address(31)).length, 0, 'nothing left at the old address');
  });

  it('fails over when the primary’s link goes down', async () => {
    assert.equal((await api(`/api/discovery/primary/${lan.address(11)}`, 'POST')).status, 200);
    await lan.link('n1', 'down');
    try {
      const body = await waitFor(async () => {
        const b = (await api('/api/discovery/nodes')).body;
        return b?.primaryNode && b.primaryNode !== lan.address(11) ? b : undefined;
      }, 'a new primary', 20_000, 200);
      const primary = (body.nodes as NodeView[]).find((n) => n.ip === body.primaryNode)!;
      assert.equal(primary.status, 'ACTIVE', 'the new primary is a live node');
      assert.notEqual(primary.hostname, 'n1-1');
    } finally {
      await lan.link('n1', 'up');
    }
  });

  it(`the gateway's link down for ${LINK_DOWN_MS / 1000} s: nodes go INACTIVE, then DEAD; link up: ACTIVE again`, async () => {
    const live = ['n1-1', 'n2-1', 'n3-1', 'multi-1', 'multi-2', 'multi-3', 'mover-1'];
    await waitFor(async () => (await nodes()).filter((n) => live.includes(n.hostname) && n.status === 'ACTIVE').length === live.length, 'every node ACTIVE', 15_000, 200);
    const states = new Map<string, Set<string>>(live.map((h) => [h, new Set()]));
    await lan.link('gw', 'down');
    const downAt = Date.now();
    while (Date.now() - downAt < LINK_DOWN_MS) {
      for (const n of await nodes()) states.get(n.hostname)?.add(n.status);
      await sleep(250);
    }
    for (const [host, seen] of states) {
      assert.ok(seen.has('INACTIVE'), `${host} went INACTIVE (${[...seen]})`);
      assert.ok(seen.has('DEAD'), `${host} went DEAD (${[...seen]})`);
    }
    await lan.link('gw', 'up');
    await waitFor(async () => (await nodes()).filter((n) => live.includes(n.hostname) && n.status === 'ACTIVE').length === live.length, 'every node ACTIVE again', 15_000, 200);
    assert.equal(gw.child.exitCode, null, 'the gateway rode it out');
  });
});
