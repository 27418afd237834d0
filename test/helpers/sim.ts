import { SimCluster, type SimClusterOptions, type SimNode, type UpdateFailureMode } from '../../emulator/index.js';
import { randomBaseIp } from './net.js';

/** A simulated cluster wired to a test gateway, with index-based fault injection. */
export interface TestSim {
  cluster: SimCluster;
  ips: string[];
  hostnames: string[];
  node(i: number): SimNode;
  kill(i: number): void;
  revive(i: number): Promise<void>;
  mute(i: number, on: boolean): void;
  slow(i: number, ms: number): void;
  failNextUpdate(i: number, mode: UpdateFailureMode): void;
  uploadsReceived(i: number): number;
  lastFirmwareSha256(i: number): string | undefined;
  receivedEvents(): Array<{ nodeIp: string; event: string; data: unknown }>;
  sendEvent(i: number, event: string, data: unknown): Promise<void>;
  sendRaw(i: number, payload: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `count` emulated nodes that send heartbeats to the test gateway and
 * serve their API on its node port. Fast defaults: heartbeat 300 ms (the test
 * gateway's ACTIVE threshold is 1.5 s), reboot 1 s, latency 0–2 ms, and a
 * random 127.x.y.1 base so parallel test files never share addresses.
 */
export async function startSim(gw: { udpPort: number; nodePort: number }, count: number, opts: Partial<SimClusterOptions> = {}): Promise<TestSim> {
  const cluster = await SimCluster.start({
    baseIp: randomBaseIp(),
    heartbeatIntervalMs: 300,
    rebootMs: 1000,
    latencyMs: { min: 0, max: 2 },
    ...opts,
    count,
    httpPort: gw.nodePort,
    gatewayHost: '127.0.0.1',
    gatewayPort: gw.udpPort,
  });
  const node = (i: number): SimNode => cluster.node(i);
  return {
    cluster,
    ips: cluster.ips,
    hostnames: cluster.nodes.map((n) => n.hostname),
    node,
    kill: (i) => node(i).kill(),
    revive: (i) => node(i).revive(),
    mute: (i, on) => node(i).mute(on),
    slow: (i, ms) => node(i).slow(ms),
    failNextUpdate: (i, mode) => node(i).failNextUpdate(mode),
    uploadsReceived: (i) => node(i).uploads.length,
    lastFirmwareSha256: (i) => node(i).uploads.at(-1)?.sha256,
    receivedEvents: () => cluster.nodes.flatMap((n) => n.receivedEvents.map((e) => ({ nodeIp: n.ip, ...e }))),
    sendEvent: (i, event, data) => node(i).sendEvent(event, data),
    sendRaw: (i, payload) => node(i).sendRaw(payload),
    stop: () => cluster.stop(),
  };
}
