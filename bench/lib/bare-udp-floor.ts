/**
 * The floor under any Node.js gateway (issue 19 point 2): a bare `dgram` socket that only counts
 * the datagrams of N emulated nodes heartbeating every 2 s — no decode, no registry, no store.
 * What it costs (kernel receive + libuv + one 'message' callback per datagram) is the least a
 * gateway on Node.js can spend on those heartbeats; the gentle-polling benchmark reports the
 * gateway against it, measured on the same machine in the same run.
 */
import { spawn } from 'node:child_process';
import { cpuSeconds, rssMiB } from './proc-stats.js';
import { GATEWAY_BIN, shebangNodeArgs } from './gateway-process.js';
import { SIM_BIN, stopProcess } from './firmware-ideal.js';
import { freePort } from '../../test/helpers/net.js';

export interface BareUdpRun {
  cpuPercent: number;
  rssMB: number;
  datagramsPerSec: number;
}

/** Binds 127.0.0.1:<argv[1]>, counts datagrams, writes the count to stdout on every line read from stdin. */
const RECEIVER = `
const dgram = require('node:dgram');
let n = 0;
const s = dgram.createSocket({ type: 'udp4', reuseAddr: true });
s.on('message', () => { n++; });
s.bind(Number(process.argv[1]), '127.0.0.1', () => { s.setRecvBufferSize(4 * 1024 * 1024); process.stdout.write('up\\n'); });
process.stdin.on('data', () => process.stdout.write(n + '\\n'));
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureBareUdp(o: { nodes: number; windowSec: number; settleSec: number; baseIp: string }): Promise<BareUdpRun> {
  const udpPort = await freePort();
  // The gateway's own node options (its #! line), so the peer runs the same V8 settings.
  const rx = spawn(process.execPath, [...shebangNodeArgs(GATEWAY_BIN), '-e', RECEIVER, String(udpPort)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  let buffered = '';
  rx.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      if (waiting) {
        const w = waiting;
        waiting = undefined;
        w(line);
      } else lines.push(line);
    }
  });
  const next = () => (lines.length > 0 ? Promise.resolve(lines.shift()!) : new Promise<string>((r) => (waiting = r)));
  const count = async () => {
    rx.stdin!.write('\n');
    return Number(await next());
  };
  await next(); // 'up'
  const sim = spawn(process.execPath, [SIM_BIN, '-quiet', '-count', String(o.nodes), '-base-ip', o.baseIp, '-http-port', String(await freePort()), '-udp-port', String(udpPort), '-gateway', '127.0.0.1', '-heartbeat-ms', '2000', '-control-port', String(await freePort()), '-http-listen', '0.0.0.0'], { stdio: ['pipe', 'ignore', 'inherit'] });
  try {
    // Every node booted and heartbeating: the rate reaches 90 % of N / 2 s.
    const deadline = Date.now() + 300_000;
    for (let last = await count(); ; ) {
      await sleep(2000);
      const now = await count();
      if (now - last >= o.nodes * 0.9) break;
      if (Date.now() > deadline || sim.exitCode !== null) throw new Error(`bare receiver: ${o.nodes} nodes never reached their heartbeat rate (${(now - last) / 2}/s)`);
      last = now;
    }
    await sleep(o.settleSec * 1000);
    const n0 = await count();
    const c0 = cpuSeconds(rx.pid!);
    const t0 = performance.now();
    await sleep(o.windowSec * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(rx.pid!) - c0) / elapsed) * 100;
    const n1 = await count();
    return { cpuPercent: Math.round(cpu * 100) / 100, rssMB: Math.round(rssMiB(rx.pid!) * 1.048576 * 10) / 10, datagramsPerSec: Math.round((n1 - n0) / elapsed) };
  } finally {
    await stopProcess(sim);
    await stopProcess(rx);
  }
}
