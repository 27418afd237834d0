import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http, readResponse, spawnTs, waitServing, type SpawnedProcess } from '../helpers/gateway-harness.js';
import { freePort, freeUdpPort, waitFor } from '../helpers/net.js';

/** Posts an image to the firmware store; returns status and body. */
export async function uploadFirmware(
  url: string,
  image: Uint8Array,
  fields: { name?: string; version?: string; labels?: string; force?: string } = {},
  filename = 'firmware.bin',
): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) form.append(k, v);
  form.append('file', new Blob([image]), filename);
  const res = await readResponse(await fetch(`${url}/api/firmware`, { method: 'POST', body: form }));
  // A body that is not JSON is kept as its text.
  return { status: res.status, body: res.body === undefined ? res.text : res.body };
}

/** Stores an image and returns its id (asserting 201). */
export async function storeFirmware(url: string, image: Uint8Array, name: string, version: string): Promise<string> {
  const res = await uploadFirmware(url, image, { name, version });
  if (res.status !== 201) throw new Error(`firmware upload answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

export async function getRollout(url: string, id: string): Promise<any> {
  const res = await http(`${url}/api/rollouts/${id}`);
  if (res.status !== 200) throw new Error(`GET rollout answered ${res.status}: ${res.text}`);
  return res.body;
}

/** Waits until the rollout satisfies `predicate`; returns it. */
export async function waitRollout(url: string, id: string, predicate: (r: any) => boolean, what: string, timeoutMs = 30_000): Promise<any> {
  let last: any;
  try {
    return await waitFor(
      async () => {
        last = await getRollout(url, id);
        return predicate(last) ? last : undefined;
      },
      what,
      timeoutMs,
      100,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last seen: ${JSON.stringify(last)}`);
  }
}

export const isTerminal = (r: any): boolean => ['succeeded', 'failed', 'cancelled'].includes(r.status) && r.finishedAt !== null;

/**
 * The real gateway binary on fixed ports and one data directory, started again after a SIGKILL
 * (the crash tests): `start()` spawns it and waits until it serves, `kill()` sends a signal.
 */
export interface RestartableGateway {
  dataDir: string;
  url: string;
  udpPort: number;
  nodePort: number;
  start(): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<number | null>;
  /** SIGTERM and the data directory removed. */
  destroy(): Promise<void>;
}

export async function restartableGateway(prefix: string, config: Record<string, unknown>, env: (dataDir: string) => NodeJS.ProcessEnv = () => ({})): Promise<RestartableGateway> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  const configFile = join(dataDir, 'gateway.json');
  const [port, udpPort, nodePort] = [await freePort(), await freeUdpPort(), await freePort()];
  const url = `http://127.0.0.1:${port}`;
  await writeFile(configFile, JSON.stringify({ http: { host: '127.0.0.1' }, udp: { broadcastAddress: '127.255.255.255' }, ...config }));
  let proc: SpawnedProcess | undefined;
  const args = ['-port', String(port), '-udp-port', String(udpPort), '-node-port', String(nodePort), '-data-dir', dataDir, '-config', configFile, '-log-level', 'warn'];
  return {
    dataDir,
    url,
    udpPort,
    nodePort,
    async start() {
      proc = spawnTs('src/cli/gateway-main.ts', args, env(dataDir));
      await waitServing(proc, url);
    },
    kill: async (signal) => (proc ? proc.kill(signal) : null),
    async destroy() {
      await proc?.kill('SIGTERM');
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Waits until the gateway knows `count` nodes labelled `fleet=<fleet>`. */
export async function waitFleet(url: string, fleet: string, count: number): Promise<void> {
  await waitFor(async () => (await http(`${url}/api/discovery/nodes`)).body?.nodes?.filter((n: any) => n.labels?.fleet === fleet).length === count, 'nodes discovered', 20_000);
}
