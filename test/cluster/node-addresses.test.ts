import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { http } from '../helpers/gateway-harness.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import { sleep, waitFor } from '../helpers/net.js';

/** A datagram with a forged source address (raw socket), as an attacker on the LAN would send it. */
function spoof(source: string, port: number, payload: string): void {
  execFileSync('/usr/bin/python3', ['test/fixtures/udp-spoof.py', source, '127.0.0.1', String(port), payload]);
}

async function sendFrom(ip: string, port: number, payload: string): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, ip, () => r()));
  await new Promise<void>((r, j) => socket.send(payload, port, '127.0.0.1', (err) => (err ? j(err) : r())));
  socket.close();
}

describe('addresses that can never be nodes (issue 12 item 9)', () => {
  it('refuses link-local, multicast, broadcast, unspecified, 127.0.0.1 and own addresses; honours nodes.allowedNetworks; emulated 127.x nodes still work', async () => {
    assert.equal(process.getuid?.(), 0, 'forging source addresses needs a raw socket (root), as CI runs');
    const b = 20 + Math.floor(Math.random() * 200);
    const lan = `127.${b}.0.0/16`;
    const gw = await startGatewayProcess({
      // The allowed list includes 169.254/16 on purpose: link-local is refused even so.
      args: ['-log-level', 'warn', '-broadcast', '127.255.255.255'],
      env: { SPORE_NODES_ALLOWED_NETWORKS: JSON.stringify([lan, '169.254.0.0/16', '224.0.0.0/4']) },
    });
    try {
      const own = Object.values(networkInterfaces())
        .flat()
        .find((a) => a && !a.internal && a.family === 'IPv4')?.address;
      await sendFrom('127.0.0.1', gw.udpPort, 'CLUSTER_HEARTBEAT:from-localhost');
      spoof('169.254.169.254', gw.udpPort, 'CLUSTER_HEARTBEAT:metadata');
      spoof('224.0.0.5', gw.udpPort, 'CLUSTER_HEARTBEAT:multicast');
      spoof('255.255.255.255', gw.udpPort, 'CLUSTER_HEARTBEAT:broadcast');
      spoof('0.1.2.3', gw.udpPort, 'CLUSTER_HEARTBEAT:unspecified');
      if (own) spoof(own, gw.udpPort, 'CLUSTER_HEARTBEAT:own-address');
      spoof(`127.${(b + 1) % 256}.1.1`, gw.udpPort, 'CLUSTER_HEARTBEAT:outside-allowed');
      // An emulated node on its own 127.x address: accepted with no flag.
      await sendFrom(`127.${b}.3.1`, gw.udpPort, 'CLUSTER_HEARTBEAT:emulated');
      // The gateway's own probe (broadcast on 127.255.255.255, from 127.0.0.1) must not count either.
      await http(`${gw.url}/api/discovery/refresh`, { method: 'POST' });

      const nodes = await waitFor(async () => {
        const list = (await http(`${gw.url}/api/discovery/nodes`)).body;
        return list.nodes.length >= 1 ? list.nodes : null;
      }, 'the emulated node');
      const udp = await waitFor(async () => {
        const d = (await http(`${gw.url}/api/health`)).body.components.udp.datagrams;
        return d.refusedSources >= (own ? 7 : 6) ? d : null;
      }, 'refusals counted');
      await sleep(300);
      const hostnames = (await http(`${gw.url}/api/discovery/nodes`)).body.nodes.map((n: { hostname: string }) => n.hostname);
      assert.deepEqual(hostnames, ['emulated'], `only the emulated node is known (${JSON.stringify(nodes)})`);
      for (const reason of ['loopback-host', 'link-local', 'multicast', 'broadcast', 'unspecified', 'not-allowed-network']) {
        assert.ok((udp.refusedByReason[reason] ?? 0) >= 1, `refused as ${reason}: ${JSON.stringify(udp.refusedByReason)}`);
      }
      if (own) assert.ok(udp.refusedByReason['own-address'] >= 1, 'own interface address refused');
      // The proxy cannot be pointed at the gateway's host through a registration.
      const proxied = await http(`${gw.url}/api/proxy-call`, { body: { ip: '127.0.0.1', method: 'GET', uri: '/api/health' } });
      assert.equal(proxied.status, 404);
    } finally {
      await gw.stop();
    }
  });
});
