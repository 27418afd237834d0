/**
 * Benchmark (issue 13): Modbus RTU on one line with 10 units.
 *
 * 1. Transactions/s: the gateway's `modbus-rtu` connector polling 10 units (one FC3 read of 10
 *    holding registers each, as fast as the line allows: pollMs 10) against pymodbus RTU slaves
 *    on a socat pty pair, next to pymodbus's own synchronous client doing the same reads on the
 *    same line in the same run (ratio). A pty does not throttle to the baud rate, so this measures
 *    the software on both ends, not the wire; both wait the RTU inter-frame silence of 19200 baud.
 * 2. The time one silent unit adds to a 10-unit poll cycle: the same 10 units plus an 11th
 *    configured unit that never answers, attempted every cycle (reconnect.maxMs = pollMs, so no
 *    backoff), timeoutMs 300. Cycle = the interval between two records of one unit; added =
 *    cycle with the silent unit − cycle without. Should be ≈ timeoutMs: the line waits out the
 *    one timeout and moves on, it is never reset and the others are not retried.
 *
 * Run: npm run build && node --import tsx bench/run-all.ts fieldbus-rtu
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGatewayProcess, type GatewayProcess } from './lib/gateway-process.js';
import { cpuSeconds } from './lib/proc-stats.js';
import { PtyPair } from '../test/helpers/pty-pair.js';
import { ModbusServer, PYTHON } from '../test/pipeline/helpers/modbus-server.js';

const UNITS = Array.from({ length: 10 }, (_, i) => i + 1);
const SILENT = 42;
const REGISTERS = 10; // per read
const BAUD = 19_200;
const TIMEOUT_MS = 300;
const WARMUP_S = 3;
const MEASURE_S = 10;
const CYCLE_MEASURE_S = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

async function json(url: string): Promise<any> {
  return (await fetch(url)).json();
}

function lineConfig(path: string, units: number[], extra: Record<string, unknown> = {}) {
  return {
    pipeline: {
      connectors: [
        {
          id: 'line1',
          type: 'modbus-rtu',
          path,
          baudRate: BAUD,
          pollMs: 10, // minimum: every unit is due again at once, the line never idles
          timeoutMs: TIMEOUT_MS,
          ...extra,
          devices: units.map((u) => ({ id: `unit-${u}`, unitId: u, channels: Array.from({ length: REGISTERS }, (_, r) => ({ name: `r${r}`, address: r, type: 'uint16' })) })),
        },
      ],
      store: { synchronous: 'NORMAL' },
    },
  };
}

async function seqs(gw: GatewayProcess): Promise<Map<string, number>> {
  const devices = (await json(`${gw.url}/api/devices`)).devices as Array<{ id: string; lastRecord: { seq: number } | null }>;
  return new Map(devices.map((d) => [d.id, d.lastRecord?.seq ?? 0]));
}

async function waitAllAnswering(gw: GatewayProcess, units: number[]): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const s = await seqs(gw);
    if (units.every((u) => (s.get(`unit-${u}`) ?? 0) > 0)) return;
    await sleep(250);
  }
  throw new Error('the units did not answer the gateway');
}

/** Gateway transactions/s (records/s: one read per unit per record), CPU %, and the mean cycle (ms) of one unit. */
async function measureGateway(path: string, units: number[], configured: number[], extra: Record<string, unknown>, seconds: number) {
  const gw = await startGatewayProcess(lineConfig(path, configured, extra));
  try {
    await waitAllAnswering(gw, units);
    await sleep(WARMUP_S * 1000);
    const s0 = await seqs(gw);
    const c0 = cpuSeconds(gw.pid);
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const s1 = await seqs(gw);
    const s = (performance.now() - t0) / 1000;
    const cpu = ((cpuSeconds(gw.pid) - c0) / s) * 100;
    const records = units.reduce((n, u) => n + (s1.get(`unit-${u}`)! - s0.get(`unit-${u}`)!), 0);
    const unit1 = s1.get('unit-1')! - s0.get('unit-1')!;
    const stats = (await json(`${gw.url}/api/pipeline/stats`)).connectors[0];
    const silent = configured.includes(SILENT) ? (await json(`${gw.url}/api/devices/unit-${SILENT}`)).health : undefined;
    return { transactionsPerSecond: records / s, cpuPercent: cpu, cycleMs: (s * 1000) / unit1, reconnects: stats.reconnects as number, silent };
  } finally {
    await gw.stop();
  }
}

function pymodbusSyncClient(path: string, seconds: number): Promise<{ transactions: number; errors: number; seconds: number; cpuPercent: number }> {
  const script = new URL('./lib/pymodbus-sync-client.py', import.meta.url).pathname;
  const child = spawn(PYTHON!, [script, path, String(BAUD), UNITS.join(','), String(REGISTERS), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      try {
        const r = JSON.parse(out.trim().split('\n').at(-1)!);
        if (code !== 0 || r.error) throw new Error(r.error ?? `exit ${code}`);
        resolve({ ...r, cpuPercent: (r.cpuSeconds / r.seconds) * 100 });
      } catch (err) {
        reject(new Error(`pymodbus sync client: ${(err as Error).message}: ${out}`));
      }
    });
  });
}

export async function run(): Promise<Record<string, unknown>> {
  if (!PYTHON) throw new Error('python3-pymodbus is not installed (/usr/bin/python3)');
  const out: Record<string, unknown> = { units: UNITS.length, registersPerRead: REGISTERS, baud: BAUD, line: 'socat pty pair', slaves: 'pymodbus 3.0 RTU serial server', loadBefore: loadavg().map((l) => round(l, 2)) };
  const dir = await mkdtemp(join(tmpdir(), 'spore-bench-rtu-'));
  const pty = await PtyPair.start(dir);
  const slaves = await ModbusServer.start({ serial: pty.b, baud: BAUD, units: UNITS });
  try {
    const gw = await measureGateway(pty.a, UNITS, UNITS, {}, MEASURE_S);
    const peer = await pymodbusSyncClient(pty.a, MEASURE_S);
    out.gateway = { transactionsPerSecond: Math.round(gw.transactionsPerSecond), cpuPercent: round(gw.cpuPercent), cycleMs: round(gw.cycleMs, 2) };
    const peerTps = peer.transactions / peer.seconds;
    out.pymodbusSyncClient = { transactionsPerSecond: Math.round(peerTps), errors: peer.errors, cpuPercent: round(peer.cpuPercent) };
    out.ratio = { transactionsPerSecond: round(gw.transactionsPerSecond / Math.max(1, peerTps), 2) };

    // The silent unit, attempted every cycle.
    const every = { reconnect: { initialMs: 10, maxMs: 10 } };
    const base = await measureGateway(pty.a, UNITS, UNITS, every, CYCLE_MEASURE_S);
    const withSilent = await measureGateway(pty.a, UNITS, [...UNITS.slice(0, 5), SILENT, ...UNITS.slice(5)], every, CYCLE_MEASURE_S);
    out.silentUnit = {
      timeoutMs: TIMEOUT_MS,
      cycleMsWithout: round(base.cycleMs, 1),
      cycleMsWith: round(withSilent.cycleMs, 1),
      addedMs: round(withSilent.cycleMs - base.cycleMs, 1),
      addedPerTimeout: round((withSilent.cycleMs - base.cycleMs) / TIMEOUT_MS, 2),
      othersTransactionsPerSecond: Math.round(withSilent.transactionsPerSecond),
      lineResets: withSilent.reconnects,
      silentHealth: withSilent.silent?.state,
    };
  } finally {
    await slaves.kill();
    await pty.stop();
    await rm(dir, { recursive: true, force: true });
  }
  out.loadAfter = loadavg().map((l) => round(l, 2));
  return out;
}
