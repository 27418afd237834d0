/**
 * The item-2 attack of issue 12, re-measured on the real gateway process:
 * 1,000 spoofed sources with 60 kB NODE_UPDATEs, 25 WebSocket clients that
 * never read, then 12,000 spoofed nodes and a JSON-RPC batch of 100
 * `cluster.nodes`. Reports the gateway's RSS peak (VmHWM), the greeting size,
 * the batch answer size and /api/health latency while the attack runs.
 * Run alone: `node --import tsx bench/spoofed-nodes.ts` (after `npm run build`).
 */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { freePort, freeUdpPort, sleep, waitFor } from '../test/helpers/net.js';
import type { BenchReport } from './lib/report.js';

const filler = 'x'.repeat(200);
function bigUpdate(i: number): string {
  const labels = Object.fromEntries(Array.from({ length: 100 }, (_, k) => [`label${k}`, filler]));
  const api = Array.from({ length: 100 }, (_, k) => ({ uri: `/api/thing/${k}/${'p'.repeat(60)}`, method: 'GET' }));
  return `NODE_UPDATE:spoof-${i}:${JSON.stringify({ labels, resources: { freeHeap: i, blob: 'r'.repeat(30_000) }, api })}`;
}

async function spoofMany(count: number, port: number, payload: (i: number) => string, offset = 0): Promise<void> {
  for (let i = offset; i < offset + count; i++) {
    const ip = `127.${100 + Math.floor(i / 62_500)}.${Math.floor(i / 250) % 250}.${(i % 250) + 2}`;
    const s = dgram.createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, ip, () => r()));
    await new Promise<void>((r) => s.send(payload(i), port, '127.0.0.1', () => r()));
    s.close();
    // Paced: the point is what the gateway keeps, not how many datagrams the kernel drops.
    if (i % 20 === 19) await sleep(5);
  }
}

/** A WebSocket client that completes the upgrade and then never reads a byte. */
function stuckClient(port: number): net.Socket {
  const socket = net.connect(port, '127.0.0.1', () => {
    socket.write(`GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    socket.once('data', () => socket.pause()); // read the 101, then stop reading
  });
  socket.on('error', () => undefined);
  return socket;
}

async function rssPeakMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+)/.exec(status)![1]) / 1024);
}

async function measure(): Promise<any> {
  const dataDir = await mkdtemp(join(tmpdir(), 'spore-bench-spoof-'));
  const httpPort = await freePort();
  const udpPort = await freeUdpPort();
  const child = spawn(process.execPath, ['dist/src/cli/gateway-main.js', '-port', String(httpPort), '-bind', '127.0.0.1', '-udp-port', String(udpPort), '-data-dir', dataDir, '-log-level', 'error'], { stdio: 'ignore', env: { ...process.env, SPORE_NODES_ACTIVE_THRESHOLD_MS: '600000', SPORE_NODES_DEAD_THRESHOLD_MS: '1200000' } });
  const url = `http://127.0.0.1:${httpPort}`;
  const latencies: number[] = [];
  let probing = true;
  try {
    await waitFor(async () => (await fetch(`${url}/api/health`).catch(() => null))?.ok, 'gateway up', 30_000);
    const probe = (async () => {
      while (probing) {
        const t = performance.now();
        await fetch(`${url}/api/health`).then((r) => r.text()).catch(() => undefined);
        latencies.push(performance.now() - t);
        await sleep(50);
      }
    })();

    await spoofMany(1000, udpPort, bigUpdate);
    // Some datagrams are lost in the kernel's receive buffer: the figures say how many nodes got in.
    await sleep(2000);
    const afterBig = ((await (await fetch(`${url}/api/health`)).json()) as any).components.nodes.total as number;
    const stuck = Array.from({ length: 25 }, () => stuckClient(httpPort));
    // The greeting a reading client gets (or the close code when it is over the backlog limit).
    const greeting = await new Promise<{ bytes: number; closeCode: number | null }>((resolve) => {
      const ws = new WebSocket(`${url.replace('http', 'ws')}/ws`);
      ws.once('message', (d) => {
        resolve({ bytes: (d as Buffer).length, closeCode: null });
        ws.close();
      });
      // Over the backlog limit the greeting is never sent; the close reason says how large it was.
      ws.once('close', (code, reason) => resolve({ bytes: Number(/(\d+) bytes/.exec(reason.toString())?.[1] ?? 0), closeCode: code }));
      ws.on('error', () => undefined);
    });
    await sleep(1500);

    await spoofMany(13_000, udpPort, (i) => `NODE_UPDATE:spoof-${i}:${JSON.stringify({ labels: Object.fromEntries(Array.from({ length: 8 }, (_, k) => [`l${k}`, 'v'.repeat(100)])) })}`, 1000);
    await sleep(1000);
    const health = ((await (await fetch(`${url}/api/health`)).json()) as any).components;
    const batch = Array.from({ length: 100 }, (_, id) => ({ jsonrpc: '2.0', id, method: 'cluster.nodes' }));
    const t0 = performance.now();
    const answer = await (await fetch(`${url}/rpc`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(batch) })).text();
    const batchMs = Math.round(performance.now() - t0);
    const answered = (JSON.parse(answer) as Array<{ result?: unknown }>).filter((a) => a.result).length;
    probing = false;
    await probe;
    for (const s of stuck) s.destroy();
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      rssPeakMb: await rssPeakMb(child.pid!),
      bigSpoofedNodesKnown: afterBig,
      nodesKnown: health.nodes.total,
      droppedNodes: health.nodes.droppedNodes,
      droppedFields: health.nodes.droppedFields,
      greetingBytes: greeting.bytes,
      greetingCloseCode: greeting.closeCode,
      oversizeMessagesRefused: health.websocket.oversizeMessagesRefused,
      batchAnswerBytes: answer.length,
      batchCallsRun: answered,
      batchMs,
      healthLatencyMs: { samples: sorted.length, median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0), p99: Math.round(sorted[Math.floor(sorted.length * 0.99)] ?? 0), max: Math.round(sorted.at(-1) ?? 0) },
    };
  } finally {
    probing = false;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

export async function run(): Promise<BenchReport> {
  const r = await measure();
  return {
    title: 'Spoofed nodes (hardening)',
    method: 'On the real gateway process (`dist/`), the attack that took the gateway to 3.3 GB before the fix (issue 12): 1,000 spoofed UDP sources each sending a ~60 kB `NODE_UPDATE`, 25 WebSocket clients that complete the upgrade and never read, then 12,000 more spoofed nodes and one JSON-RPC batch of 100 `cluster.nodes`; `/api/health` is fetched every 50 ms throughout. Some datagrams are lost in the kernel\'s receive buffer on a busy machine (the counts below say how many got in).',
    figures: [
      { id: 'spoofed.rss-peak', label: 'gateway RSS peak (VmHWM) under the spoofed-node attack', unit: 'MB', ours: r.rssPeakMb, goal: { of: 'ours', op: '<=', value: 512 } },
      { id: 'spoofed.health-p99', label: '/api/health p99 during the attack', unit: 'ms', ours: r.healthLatencyMs.p99 },
    ],
    tables: [
      {
        columns: ['figure', 'value'],
        rows: [
          ['large spoofed nodes that got in (of 1,000)', r.bigSpoofedNodesKnown],
          ['nodes known at the end', r.nodesKnown],
          ['nodes dropped (cap) / fields dropped', `${r.droppedNodes} / ${r.droppedFields}`],
          ['`cluster/update` greeting bytes', r.greetingBytes],
          ['close code of the clients that never read', r.greetingCloseCode],
          ['oversize messages refused', r.oversizeMessagesRefused],
          ['JSON-RPC batch of 100: answer bytes, calls run, ms', `${r.batchAnswerBytes}, ${r.batchCallsRun}, ${r.batchMs}`],
          ['/api/health latency median / p99 / max ms (samples)', `${r.healthLatencyMs.median} / ${r.healthLatencyMs.p99} / ${r.healthLatencyMs.max} (${r.healthLatencyMs.samples})`],
        ],
      },
    ],
    raw: r,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await run(), null, 2));
