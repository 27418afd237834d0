import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WebSocket } from 'ws';
import { Mosquitto } from '../../test/helpers/mosquitto.js';
import { canConnect, freePort } from '../../test/helpers/net.js';

const run = promisify(execFile);

export interface PeerProcess {
  child: ChildProcess;
  pid: number;
  stop(): Promise<void>;
}

async function waitPort(port: number, what: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error(`${what} did not listen on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function stopper(child: ChildProcess, cleanup?: () => Promise<void>): () => Promise<void> {
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    await cleanup?.();
  };
}

/**
 * Mosquitto with an anonymous TCP listener and its own WebSocket listener (the ceiling of the benchmark).
 * Latency is measured per message: no Nagle delay on the broker's sockets, for every system alike.
 */
export function startMosquitto(): Promise<Mosquitto> {
  return Mosquitto.start({ websockets: true, extraConfig: ['set_tcp_nodelay true'] });
}

/** Node-RED is installed for the benchmark only, never a dependency: `npm install --prefix <tmp> node-red@4`. */
export const NODE_RED_DIR = join(tmpdir(), 'spore-bench-node-red');
/** Node-RED 5 needs Node.js ≥ 22.9; 4.x runs on the Node.js 20 this project supports. */
export const NODE_RED_VERSION = 'node-red@4';

export async function ensureNodeRed(): Promise<string> {
  const entry = join(NODE_RED_DIR, 'node_modules', 'node-red', 'red.js');
  if (existsSync(entry)) return entry;
  await mkdir(NODE_RED_DIR, { recursive: true });
  process.stderr.write(`installing ${NODE_RED_VERSION} into ${NODE_RED_DIR} for the benchmark…\n`);
  await run('npm', ['install', '--prefix', NODE_RED_DIR, NODE_RED_VERSION, '--no-audit', '--no-fund', '--loglevel', 'error'], { timeout: 600_000 });
  if (!existsSync(entry)) throw new Error(`Node-RED did not install into ${NODE_RED_DIR}`);
  return entry;
}

export async function nodeRedVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(join(NODE_RED_DIR, 'node_modules', 'node-red', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * Node-RED with one flow: `mqtt in` (bench/#, QoS 0, UTF-8 string) → `websocket out`
 * (listening on /ws/bench, sending the whole message as JSON: topic, payload, qos…),
 * the flow a user draws to put MQTT on a WebSocket. The editor is off.
 */
export async function startNodeRed(mqttPort: number): Promise<PeerProcess & { port: number; wsUrl: string }> {
  const entry = await ensureNodeRed();
  const userDir = await mkdtemp(join(tmpdir(), 'spore-bench-nr-user-'));
  const port = await freePort();
  const flows = [
    { id: 'bench-tab', type: 'tab', label: 'bench' },
    { id: 'bench-broker', type: 'mqtt-broker', name: 'bench', broker: '127.0.0.1', port: String(mqttPort), clientid: '', autoConnect: true, usetls: false, protocolVersion: '4', keepalive: '60', cleansession: true },
    { id: 'bench-in', type: 'mqtt in', z: 'bench-tab', name: '', topic: 'bench/#', qos: '0', datatype: 'utf8', broker: 'bench-broker', nl: false, rap: true, rh: 0, inputs: 0, x: 100, y: 100, wires: [['bench-out']] },
    { id: 'bench-listener', type: 'websocket-listener', path: '/ws/bench', wholemsg: 'true' },
    { id: 'bench-out', type: 'websocket out', z: 'bench-tab', name: '', server: 'bench-listener', client: '', x: 300, y: 100, wires: [] },
  ];
  await writeFile(join(userDir, 'flows.json'), JSON.stringify(flows));
  await writeFile(
    join(userDir, 'settings.js'),
    `module.exports = { uiPort: ${port}, uiHost: '127.0.0.1', flowFile: 'flows.json', userDir: ${JSON.stringify(userDir)}, httpAdminRoot: false, credentialSecret: false, logging: { console: { level: 'warn' } }, editorTheme: { tours: false } };\n`,
  );
  const child = spawn(process.execPath, [entry, '--settings', join(userDir, 'settings.js'), '--userDir', userDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitPort(port, 'Node-RED', child, 120_000);
  // The HTTP port opens before the flow is deployed: wait until /ws/bench accepts an upgrade.
  const wsUrl = `ws://127.0.0.1:${port}/ws/bench`;
  const deadline = Date.now() + 60_000;
  while (!(await canUpgrade(wsUrl))) {
    if (Date.now() > deadline) throw new Error('Node-RED never served /ws/bench');
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, pid: child.pid!, port, wsUrl: `ws://127.0.0.1:${port}/ws/bench`, stop: stopper(child, () => rm(userDir, { recursive: true, force: true })) };
}

function canUpgrade(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => {
      ws.terminate();
      resolve(true);
    });
    ws.once('error', () => resolve(false));
  });
}
