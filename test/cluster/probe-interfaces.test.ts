import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { IP, NetnsLan, skipUnlessNetns, type NetnsProcess } from '../helpers/netns.js';
import { waitFor } from '../helpers/net.js';
import { directedBroadcasts, probeTargets } from '../../src/cluster/broadcast-targets.js';

const run = promisify(execFile);
const GATEWAY = new URL('../../dist/src/cli/gateway-main.js', import.meta.url).pathname;
const UDP_PORT = 4210; // CONTRACT §2; each namespace has its own ports

/** A UDP listener on 0.0.0.0:4210 in a namespace that prints `<source ip> <datagram>` per line. */
const LISTENER = `
const s = require('node:dgram').createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', (m, r) => process.stdout.write(r.address + ' ' + m.toString().replace(/\\n/g, ' ') + '\\n'));
s.bind(${UDP_PORT}, '0.0.0.0', () => process.stdout.write('ready\\n'));
`;

/** The sources of the CLUSTER_DISCOVERY probes a listener heard. */
const probesHeard = (p: NetnsProcess): string[] =>
  p.output().split('\n').filter((l) => / CLUSTER_DISCOVERY/.test(l)).map((l) => l.split(' ')[0]!);

describe('directed broadcast addresses (issue 19)', () => {
  const nic = (address: string, netmask: string, internal = false) => ({ address, netmask, family: 'IPv4' as const, internal, mac: '00:00:00:00:00:00', cidr: null });
  it('one per up, non-loopback IPv4 network; none for /31 and /32; then 255.255.255.255', () => {
    const interfaces = {
      lo: [nic('127.0.0.1', '255.0.0.0', true)],
      eth0: [nic('192.168.1.20', '255.255.255.0'), { ...nic('fe80::1', 'ffff:ffff:ffff:ffff::'), family: 'IPv6' as const, scopeid: 1 }],
      wlan0: [nic('10.4.7.9', '255.255.252.0'), nic('10.4.7.10', '255.255.252.0')],
      tun0: [nic('100.64.0.5', '255.255.255.255')],
      p2p: [nic('198.18.9.0', '255.255.255.254')],
    };
    assert.deepEqual(directedBroadcasts(interfaces), ['192.168.1.255', '10.4.7.255']);
    assert.deepEqual(probeTargets(undefined, interfaces), ['192.168.1.255', '10.4.7.255', '255.255.255.255']);
    assert.deepEqual(probeTargets('192.168.1.255', interfaces), ['192.168.1.255'], '-broadcast forces one address');
  });
});

describe('discovery probes on every interface, in network namespaces (issue 19)', { skip: skipUnlessNetns() }, () => {
  // Three LANs (bridges), 198.18.<x>.0/24 each; the gateway on A and B, later on C too.
  // A holds the gateway's default route, as Ethernet would on a Raspberry Pi with Wi-Fi on B.
  const base = `s19-${process.pid}`;
  const third = process.pid % 240;
  let a: NetnsLan;
  let b: NetnsLan;
  let c: NetnsLan;
  let gwNs: string;
  let dir: string;
  const listeners: Record<string, NetnsProcess> = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 's19-probe-'));
    a = await NetnsLan.create(`${base}a`, third);
    b = await NetnsLan.create(`${base}b`, third + 1);
    c = await NetnsLan.create(`${base}c`, third + 2);
    await a.addHost('gw', [1]);
    gwNs = a.nsOf('gw');
    await b.plugForeign(gwNs, 'wlan0', 1);
    for (const [name, lan] of [['a', a], ['b', b], ['c', c]] as const) {
      await lan.addHost('node', [2]);
      listeners[name] = lan.spawn('node', process.execPath, ['-e', LISTENER]);
      await waitFor(() => listeners[name]!.output().includes('ready'), `listener on LAN ${name}`);
    }
    await writeFile(join(dir, 'config.json'), JSON.stringify({ nodes: { discoveryIntervalMs: 200 } }));
  });
  after(async () => {
    for (const lan of [c, b, a]) await lan?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const startGateway = (extra: string[]): NetnsProcess =>
    a.spawn('gw', process.execPath, [GATEWAY, '-port', '0', '-bind', '127.0.0.1', '-udp-port', String(UDP_PORT), '-data-dir', join(dir, `data-${extra.length}`), '-config', join(dir, 'config.json'), '-log-level', 'warn', ...extra]);

  it('-broadcast 255.255.255.255 reaches only the default route\'s LAN (the problem), and still forces one address', async () => {
    const before = { a: probesHeard(listeners.a!).length, b: probesHeard(listeners.b!).length };
    const gw = startGateway(['-broadcast', '255.255.255.255']);
    try {
      await waitFor(() => probesHeard(listeners.a!).length >= before.a + 5, 'probes on LAN A', 20_000);
      assert.equal(probesHeard(listeners.b!).length, before.b, `LAN B heard none: ${gw.output()}`);
    } finally {
      await gw.stop('SIGKILL');
    }
  });

  it('by default every interface\'s broadcast address is probed: both LANs hear the gateway, and a new interface is followed', async () => {
    const gw = startGateway([]);
    try {
      await waitFor(() => probesHeard(listeners.a!).includes(a.address(1)) && probesHeard(listeners.b!).includes(b.address(1)), 'probes on LAN A and LAN B', 20_000);
      // Each LAN hears the gateway's address on that LAN: the probe left through that interface.
      assert.ok(probesHeard(listeners.b!).every((ip) => ip === b.address(1)), probesHeard(listeners.b!).join());
      assert.equal(probesHeard(listeners.c!).length, 0, 'LAN C is not plugged in yet');
      // An interface comes up while the gateway runs (a USB Ethernet adapter): probed from the next round on.
      await c.plugForeign(gwNs, 'usb0', 1);
      await waitFor(() => probesHeard(listeners.c!).includes(c.address(1)), 'probes on LAN C after its interface came up', 20_000);
      // And one that goes away (the adapter unplugged) is dropped: the other LANs are still probed.
      await run(IP!, ['-n', gwNs, 'link', 'del', 'usb0']);
      const heardA = probesHeard(listeners.a!).length;
      await waitFor(() => probesHeard(listeners.a!).length > heardA + 2, 'probes go on', 20_000);
      assert.equal(gw.child.exitCode, null, `the gateway runs: ${gw.output()}`);
    } finally {
      await gw.stop('SIGKILL');
    }
  });
});
