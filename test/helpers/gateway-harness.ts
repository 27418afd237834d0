import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { WebSocket } from 'ws';
import { validateConfig, mergeConfig } from '../../src/config/load-config.js';
import { Gateway } from '../../src/gateway.js';
import { silentLogger } from '../../src/logger.js';
import { freePort, freeUdpPort, sleep, waitFor } from './net.js';

/** Fast ageing and polling so tests see transitions in seconds, not minutes. */
export const FAST_NODES = {
  activeThresholdMs: 1500,
  deadThresholdMs: 4000,
  removeDeadAfterMs: 60_000,
  ageingIntervalMs: 200,
  statusPollIntervalMs: 500,
  membersRefreshIntervalMs: 500,
  primaryCheckIntervalMs: 300,
  primaryFailureThreshold: 2,
  requestTimeoutMs: 1500,
  discoveryIntervalMs: 0,
};

export interface TestGateway {
  gateway: Gateway;
  url: string;
  udpPort: number;
  nodePort: number;
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts a real gateway in-process on real sockets (HTTP on a random port,
 * UDP on a random port) with a temporary data directory.
 * `nodePort` is the HTTP port emulated nodes must serve on.
 */
export async function startTestGateway(overrides: Record<string, unknown> = {}, options: { clock?: () => number } = {}): Promise<TestGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), 'spore-gw-test-'));
  const nodePort = await freePort();
  const udpPort = await freeUdpPort();
  const base = {
    http: { port: 0, host: '127.0.0.1' },
    udp: { port: udpPort, host: '0.0.0.0', broadcastAddress: '127.255.255.255' },
    nodes: { ...FAST_NODES, port: nodePort },
    log: { level: 'error' },
    dataDir,
  };
  const config = validateConfig(mergeConfig(base, overrides));
  const gateway = new Gateway(config, { logger: silentLogger(), ...options });
  await gateway.start();
  return {
    gateway,
    url: gateway.url,
    udpPort: gateway.udpPort,
    nodePort: config.nodes.port,
    dataDir,
    async stop() {
      await gateway.stop();
      // A library may still be finishing a file after stop() (node-opcua writing its PKI under
      // load): ENOTEMPTY is retried.
      await rm(dataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/** JSON over HTTP with the status code kept. */
export async function http(
  url: string,
  init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<TestResponse> {
  const res = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(init.body !== undefined && typeof init.body !== 'string' ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
  });
  return readResponse(res);
}

export interface TestResponse {
  status: number;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: any;
  text: string;
  headers: Headers;
}

/** Reads a fetch() response whole: status, headers, text, and the text parsed as JSON when it is JSON. */
export async function readResponse(res: Response): Promise<TestResponse> {
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text, headers: res.headers };
}

/** A WebSocket client that records every JSON message it receives. */
export class WsRecorder {
  readonly messages: any[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      try {
        this.messages.push(JSON.parse(data.toString()));
      } catch {
        this.messages.push({ unparsable: data.toString() });
      }
    });
  }

  static async connect(url: string): Promise<WsRecorder> {
    const ws = new WebSocket(url.replace(/^http/, 'ws') + (url.includes('/ws') ? '' : '/ws'));
    const rec = new WsRecorder(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return rec;
  }

  byTopic(topic: string): any[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async waitFor(predicate: (m: any) => boolean, what: string, timeoutMs = 10_000): Promise<any> {
    return waitFor(() => this.messages.find(predicate), what, timeoutMs);
  }

  close(): void {
    this.ws.terminate();
  }
}

export interface SpawnedProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Every process a test file spawned and has not seen exit. A test that fails half-way (a timeout
 * while a process was starting) must not leave it running: its pipes would keep the test file's
 * process alive and the whole run would hang. The runner exits each file with --test-force-exit,
 * and this hook kills what is left when it does.
 */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** Registers a spawned process so it is killed when the test file's process exits. */
export function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
}

/**
 * A spawned process as tests use it: registered with trackChild, its output collected, its exit
 * awaited, and a kill that is a no-op once it has ended.
 */
export function watchChild(child: ChildProcess): SpawnedProcess {
  trackChild(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs one of the project's binaries from source (tsx), e.g. `src/cli/gateway-main.ts`. */
export function spawnTs(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnedProcess {
  return watchChild(
    spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    }),
  );
}

/**
 * Waits until a spawned gateway answers `GET /api/health` (any status). A process that exits
 * first fails the wait at once, with its exit code and output (issue 11 §8), instead of after
 * the whole timeout; a process that never answers fails after `timeoutMs` (generous: tsx compiles
 * the gateway at start, slow on a loaded machine), with its output too, and is killed.
 */
export async function waitServing(proc: SpawnedProcess, url: string, timeoutMs = 60_000): Promise<void> {
  let exitCode: number | null | undefined;
  void proc.exited.then((code) => (exitCode = code));
  const output = () => `\nstderr: ${proc.stderr()}\nstdout: ${proc.stdout()}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answered = await http(`${url}/api/health`).then(
      () => true,
      () => false,
    );
    if (answered) return;
    if (exitCode !== undefined || proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`the gateway exited (code ${proc.child.exitCode}, signal ${proc.child.signalCode}) before it answered on ${url}${output()}`);
    }
    if (Date.now() > deadline) {
      // Killed, or it would keep the test process alive after the failure.
      await proc.kill('SIGKILL');
      throw new Error(`the gateway did not answer on ${url} within ${timeoutMs} ms${output()}`);
    }
    // Woken by the exit too: an early exit is reported at once, not after the next poll.
    await Promise.race([sleep(100), proc.exited]);
  }
}
