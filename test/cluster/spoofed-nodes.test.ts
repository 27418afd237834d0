import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { WebSocket } from 'ws';
import { http } from '../helpers/gateway-harness.js';
import { startGatewayProcess } from '../helpers/gateway-process.js';
import { waitFor } from '../helpers/net.js';

/** One spoofed node: its own 127.x source address and a NODE_UPDATE of ~60 kB. */
function bigUpdate(i: number): string {
  const filler = 'x'.repeat(200);
  const labels = Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`label${k}`, filler]));
  const resources = { freeHeap: 1000 + i, blob: 'r'.repeat(30_000) };
  const api = Array.from({ length: 100 }, (_, k) => ({ uri: `/api/thing/${k}/${'p'.repeat(60)}`, method: 'GET' }));
  return `NODE_UPDATE:spoof-${i}:${JSON.stringify({ labels, resources, api })}`;
}

async function sendFrom(ip: string, text: string, port: number): Promise<void> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, ip, () => r()));
  await new Promise<void>((r, j) => socket.send(text, port, '127.0.0.1', (err) => (err ? j(err) : r())));
  socket.close();
}

describe('spoofed nodes cannot amplify (issue 12 item 2)', () => {
  it('caps known nodes and what is kept per node, refuses oversize WebSocket frames, bounds JSON-RPC batch answers', async () => {
    const maxNodes = 150;
    const gw = await startGatewayProcess({
      args: ['-log-level', 'error'],
      env: { SPORE_NODES_MAX_NODES: String(maxNodes), SPORE_WEBSOCKET_MAX_BACKLOG_BYTES: String(256 * 1024) },
    });
    try {
      const sources = 220;
      const b = 20 + Math.floor(Math.random() * 200);
      // ~60 kB datagrams overflow a loopback receive buffer on a busy machine, and the kernel
      // drops them before the gateway sees them. A dropped datagram is resent in the next round
      // (a known node's update changes nothing; an unknown one is counted again), so the
      // assertions below are about the gateway's caps, not the kernel's buffer.
      const registryFullAndCounted = async () => {
        const h = (await http(`${gw.url}/api/health`)).body.components.nodes;
        return h.total === maxNodes && h.droppedNodes >= sources - maxNodes ? h : null;
      };
      let nodes: Awaited<ReturnType<typeof registryFullAndCounted>> = null;
      for (let round = 0; round < 8 && !nodes; round++) {
        for (let i = 0; i < sources; i++) {
          await sendFrom(`127.${b}.${Math.floor(i / 200) + 1}.${(i % 200) + 2}`, bigUpdate(i), gw.udpPort);
          if (i % 8 === 7) await new Promise((r) => setTimeout(r, 5)); // ms: let the gateway drain its socket
        }
        nodes = await waitFor(registryFullAndCounted, 'the registry full and the rest counted', 5_000).catch(() => null);
      }
      assert.ok(nodes, 'the registry filled to nodes.maxNodes and every datagram of a new node after that was counted');
      assert.equal(nodes.maxNodes, maxNodes);
      assert.ok(nodes.droppedFields > 0, 'oversize parts dropped and counted');
      assert.match(nodes.warning, /nodes\.maxNodes/);

      // What is kept per node is a few kB, however large the datagram.
      const list = (await http(`${gw.url}/api/discovery/nodes`)).body;
      assert.equal(list.totalNodes, maxNodes);
      for (const node of list.nodes) assert.ok(JSON.stringify(node.labels).length <= 1024, `labels of ${node.hostname}`);

      // The greeting (cluster/update) of a client: members bounded; larger than this client's
      // backlog limit (256 kB) it is never queued — the client is closed with 1009.
      const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/ws`);
      const closed = await new Promise<number>((resolve) => {
        ws.on('close', (code) => resolve(code));
        ws.on('error', () => undefined);
      });
      assert.equal(closed, 1009, 'an oversize greeting closes the client with 1009');
      const wsStats = (await http(`${gw.url}/api/health`)).body.components.websocket;
      assert.ok(wsStats.oversizeMessagesRefused >= 1);

      const snapshot = (await http(`${gw.url}/api/cluster/members`)).status; // no primary node answers: any 5xx/2xx, never a crash
      assert.ok(snapshot >= 200);

      // A batch of 100 cluster.nodes: the answer is bounded by size, the rest refused with an error.
      const batch = Array.from({ length: 100 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'cluster.nodes' }));
      const res = await fetch(`${gw.url}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) });
      const text = await res.text();
      assert.ok(text.length < 10 * 1024 * 1024, `batch answer ${text.length} bytes`);
      const answers = JSON.parse(text) as Array<{ id: number; result?: unknown; error?: { message: string } }>;
      assert.equal(answers.length, 100, 'every call answered');
      assert.ok(answers[0]!.result, 'the first calls ran');
      const member = (answers[0]!.result as { nodes: unknown[] }).nodes[0];
      assert.ok(JSON.stringify(member).length < 8 * 1024, 'one node in the answer is a few kB');
      const total = answers.reduce((n, a) => n + JSON.stringify(a).length, 0);
      assert.ok(total < 9 * 1024 * 1024, `${total} bytes of answers`);
      assert.equal(gw.child.exitCode, null);
    } finally {
      await gw.stop();
    }
  });
});
